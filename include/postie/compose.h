/*
 * postie/compose.h - RFC 5322 / MIME message composer (no I/O, no malloc).
 *
 * The composer turns a description of a message (postie_compose_message) into
 * the bytes of an Internet message, produced incrementally: the caller (the
 * SMTP client, or anything else) pulls them with postie_compose_read() in
 * pieces of any size, 1 byte included. Nothing is buffered beyond a few small
 * fixed buffers inside postie_compose (sizes from postie_config_defaults.h),
 * so a body or an attachment of any length streams through in constant memory.
 *
 * Feature switches (postie_config_defaults.h, docs/porting.md): with
 * POSTIE_WITH_COMPOSE 0, postie_compose_begin(), _read(), _size() and
 * _format_date() return POSTIE_ERR_UNSUPPORTED; with POSTIE_WITH_COMPOSE_MIME,
 * POSTIE_WITH_ENCODED_WORDS or POSTIE_WITH_QP 0, postie_compose_begin() (and
 * _size()) return POSTIE_ERR_UNSUPPORTED for a message with attachments, a
 * header that needs RFC 2047 encoded words, or a body that needs
 * quoted-printable; with POSTIE_WITH_COMPOSE_RICH_HEADERS 0, for a display
 * name or a header text that would have to be folded, quoted or encoded
 * (the simple writer takes printable ASCII words separated by single spaces
 * that fit their field's first line, and writes them as the full writer
 * would); with POSTIE_WITH_COMPOSE_HEADERS 0, for a message with any caller
 * header field (header_count > 0).
 *
 * What it writes (see docs/compose.md for the reasons):
 *   Date, From, Reply-To, To, Cc, Subject, Message-ID, [X-Priority,
 *   Importance], caller headers, MIME-Version: 1.0, then
 *   - without attachments: a text/plain; charset=UTF-8 body, 7bit, 8bit or
 *     quoted-printable;
 *   - with attachments: multipart/mixed, the text part first, then each
 *     attachment in base64 (76-character lines).
 * Bcc addresses are accepted for the envelope (postie_compose_recipient())
 * and never written into the message.
 * Line ends are CRLF. Dot-stuffing is NOT done here (the SMTP client does it).
 *
 * Every field is checked by postie_compose_begin(), before any byte is
 * produced: CR, LF or NUL in any header value, name or address is
 * POSTIE_ERR_PARAM (no header injection), and so is anything else the
 * composer could not write correctly. A message that begins is complete
 * unless a caller read callback fails.
 *
 * Ownership: every string and array that a postie_compose_message points to
 * stays owned by the caller and MUST stay valid and unchanged until the
 * message has been read to the end (postie_compose_read() returned
 * POSTIE_DONE) or abandoned. The postie_compose_message struct itself is
 * copied by postie_compose_begin() and may be discarded afterwards.
 * The postie_compose context is owned by the caller; it may live on the
 * stack; there is nothing to free.
 */
#ifndef POSTIE_COMPOSE_H
#define POSTIE_COMPOSE_H

#include <stddef.h>
#include <stdint.h>
#include "postie/postie_config_defaults.h"
#include "postie/status.h"
#include "postie/base64_stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Priority values: 1 high, 2 normal, 4 low. Any other value is
 * POSTIE_ERR_PARAM. (NetX Duo's own constants run the other way,
 * NX_SMTP_MAIL_PRIORITY_LOW 1 and _HIGH 4; compat/netx maps them by name.) NORMAL writes no priority headers (absence means normal);
 * HIGH writes "X-Priority: 1 (Highest)" and "Importance: high"; LOW writes
 * "X-Priority: 5 (Lowest)" and "Importance: low". */
#define POSTIE_COMPOSE_PRIORITY_HIGH   1
#define POSTIE_COMPOSE_PRIORITY_NORMAL 2
#define POSTIE_COMPOSE_PRIORITY_LOW    4

/* Fewest caller random bytes postie_compose_begin() accepts: 8 go into the
 * Message-ID, 8 into the MIME boundary. Use a real random source. */
#define POSTIE_COMPOSE_RANDOM_MIN 16

/* Longest addr-spec accepted (RFC 5321 sec. 4.5.3.1.3: a path is at most 256
 * octets with its angle brackets). */
#define POSTIE_COMPOSE_ADDRESS_MAX 254
/* Longest header name of a caller header. */
#define POSTIE_COMPOSE_HEADER_NAME_MAX 64
/* Display names, subjects and caller header values must be shorter than
 * this many octets. */
#define POSTIE_COMPOSE_VALUE_MAX 4096
/* Longest attachment file name, in octets (UTF-8). */
#define POSTIE_COMPOSE_FILENAME_MAX 255

/*
 * The reader shape used everywhere a stream of bytes is pulled: writes up to
 * cap bytes into buf and returns POSTIE_OK with *n > 0, or POSTIE_DONE with
 * *n == 0 at the end. Any other status is an error and is passed on.
 * The same as postie_smtp_reader. A body or attachment reader may also hand
 * its last bytes with POSTIE_DONE (*n > 0); the composer's own
 * postie_compose_read() always ends with POSTIE_DONE and *n == 0.
 */
typedef postie_status (*postie_compose_read_fn)(void *user, char *buf, size_t cap, size_t *n);

/* One mailbox. address is an ASCII addr-spec "local@domain": 1 to
 * POSTIE_COMPOSE_ADDRESS_MAX octets, exactly one '@' with something on each
 * side, and otherwise only atext (RFC 5322 sec. 3.2.3: letters, digits and
 * !#$%&'*+-/=?^_`{|}~), '.', and on the domain side '[' ']' ':' for address
 * literals. Quoted local parts and non-ASCII addresses (SMTPUTF8) are not
 * supported. name is an optional display name in UTF-8 (NULL or "" for none). */
typedef struct postie_compose_address {
    const char *name;
    const char *address;
} postie_compose_address;

/* One caller header "name: value". name: printable ASCII without ':' (1 to
 * POSTIE_COMPOSE_HEADER_NAME_MAX octets), not one the composer writes itself
 * (Date, From, Sender, Reply-To, To, Cc, Bcc, Subject, Message-ID,
 * MIME-Version, X-Priority, Importance, Content-*). value: UTF-8 text; written
 * as-is (folded at whitespace) when it is printable ASCII, as RFC 2047
 * encoded-words otherwise. */
typedef struct postie_compose_header {
    const char *name;
    const char *value;
} postie_compose_header;

/* One attachment. The bytes come from read/read_user when read is non-NULL
 * (pulled in small pieces, so any size works), otherwise from data/len.
 * filename: UTF-8, optional (NULL = no filename parameter); written as a
 * quoted string when short printable ASCII, as RFC 2231 extended/continued
 * parameters otherwise. content_type: "type/subtype" token (optionally with
 * parameters), printable ASCII; NULL = "application/octet-stream". */
typedef struct postie_compose_attachment {
    const char *filename;
    const char *content_type;
    const void *data;
    size_t len;
    postie_compose_read_fn read;
    void *read_user;
} postie_compose_attachment;

/* Description of a message. Initialise with postie_compose_message_init(),
 * then fill in what you need. */
typedef struct postie_compose_message {
    /* Date: seconds since 1970-01-01T00:00:00Z (0 .. 253402300799; the local
     * date must fall in year 9999 or before) and the local offset from UTC in minutes (-1439 .. 1439; e.g. -300
     * for New York in winter). The core has no clock: the caller passes both. */
    int64_t time;
    int utc_offset_minutes;

    /* At least POSTIE_COMPOSE_RANDOM_MIN random bytes (Message-ID, boundary). */
    const unsigned char *random;
    size_t random_len;

    /* Domain of the Message-ID; NULL = the domain of from.address. Must be a
     * dot-atom (letters, digits, and atext such as '-', joined by '.'). */
    const char *message_id_domain;

    postie_compose_address from;                 /* required */
    const postie_compose_address *reply_to; size_t reply_to_count;
    const postie_compose_address *to;       size_t to_count;
    const postie_compose_address *cc;       size_t cc_count;
    const postie_compose_address *bcc;      size_t bcc_count; /* envelope only */

    const char *subject;   /* UTF-8; NULL = no Subject header */
    int priority;          /* POSTIE_COMPOSE_PRIORITY_*; init sets NORMAL */

    const postie_compose_header *headers; size_t header_count;

    /* Body (text/plain; charset=UTF-8): from body_read/body_user when
     * body_read is non-NULL, otherwise body/body_len (body may be NULL when
     * body_len is 0). Line breaks: CRLF or bare LF; both become CRLF.
     * A body from a buffer is scanned by postie_compose_begin(): pure ASCII
     * with lines of at most 998 octets goes out as 7bit; with 8-bit bytes as
     * 8bit if allow_8bit is set (the server offers 8BITMIME), otherwise
     * quoted-printable; NUL, bare CR or a line over 998 octets always forces
     * quoted-printable. A body from a reader cannot be looked at in advance
     * and is always quoted-printable. */
    const char *body; size_t body_len;
    postie_compose_read_fn body_read; void *body_user;
    int allow_8bit;

    const postie_compose_attachment *attachments; size_t attachment_count;
} postie_compose_message;

/* The composer. Treat every field as private. Its size is a few hundred
 * bytes plus POSTIE_COMPOSE_BUF_SIZE + POSTIE_COMPOSE_IN_SIZE (the reader
 * buffer only with POSTIE_WITH_QP or POSTIE_WITH_COMPOSE_MIME: without both
 * no reader is accepted; the attachment encoder and boundary only with
 * POSTIE_WITH_COMPOSE_MIME). */
typedef struct postie_compose {
    /* the scalars first: a Cortex-M reaches the first 124 bytes of a struct
     * with 16-bit load and store instructions */
    size_t out_len, out_pos;           /* staged output: length, handed out */
    size_t idx;                        /* list index inside the stage      */
    size_t pos;                        /* offset inside the current value  */
    size_t col;                        /* column on the header line        */
#if POSTIE_WITH_COMPOSE_RICH_HEADERS || POSTIE_WITH_COMPOSE_MIME
    size_t sub;                        /* step inside the stage            */
#endif
#if POSTIE_WITH_QP || POSTIE_WITH_COMPOSE_MIME
    const unsigned char *src_buf;      /* current source: a buffer ...     */
    size_t src_len, src_pos;
    postie_compose_read_fn src_fn;     /* ... or a reader                  */
    void *src_user;
    int src_done;
#endif
#if POSTIE_WITH_QP
    int pend_cr, pend_ws;
    size_t qp_col;                     /* column on the QP line            */
#endif
#if POSTIE_WITH_COMPOSE_MIME
    size_t att;                        /* current attachment               */
#endif
#if POSTIE_WITH_COMPOSE_RICH_HEADERS
    int line_has;                      /* the header line holds a token    */
    int word_mode;                     /* how the current value is written */
#endif
    int stage;                         /* where the state machine is       */
    int body_cte;                      /* transfer encoding of the text    */
    int error;                         /* sticky error of a failed read (a
                                        * postie_status in a word: Thumb
                                        * loads and stores it in 2 bytes) */
    unsigned magic;                    /* set by a successful begin        */
    postie_compose_message m;          /* copy of the caller's description */
    char out[POSTIE_COMPOSE_BUF_SIZE]; /* staged output                    */
#if POSTIE_WITH_QP || POSTIE_WITH_COMPOSE_MIME
    char in[POSTIE_COMPOSE_IN_SIZE];   /* bytes pulled from a reader       */
    size_t in_len, in_pos;
#endif
#if POSTIE_WITH_COMPOSE_MIME
    postie_base64_stream b64;          /* attachment encoder               */
    char boundary[32];                 /* the MIME boundary                */
#endif
} postie_compose;

/* Zeroes m and sets priority = POSTIE_COMPOSE_PRIORITY_NORMAL. m NULL: no-op. */
void postie_compose_message_init(postie_compose_message *m);

/*
 * Checks every field of m and prepares c to produce the message. Nothing is
 * produced yet; on an error c is left unusable (postie_compose_read() then
 * returns POSTIE_ERR_STATE) and no partial message can be read.
 * Returns:
 *   POSTIE_OK         ready; pull the bytes with postie_compose_read().
 *   POSTIE_ERR_PARAM  c or m NULL; from.address missing; an address, name,
 *                     subject, header, filename or content type that is
 *                     malformed, too long, not UTF-8, or holds CR, LF or NUL;
 *                     a list pointer NULL with a non-zero count; priority not
 *                     one of POSTIE_COMPOSE_PRIORITY_*; time or offset out
 *                     of range; random NULL or shorter than
 *                     POSTIE_COMPOSE_RANDOM_MIN; no Message-ID domain; body
 *                     NULL with body_len > 0; an attachment with neither
 *                     read nor data (data NULL with len > 0).
 * Ownership: m is copied; everything m points to must stay valid until the
 * end of the message (see the top of this file).
 */
postie_status postie_compose_begin(postie_compose *c, const postie_compose_message *m);

/*
 * Produces the next bytes of the message: up to cap bytes into buf, the count
 * in *n. Works with any cap >= 1; the bytes are the same whatever the caps.
 * Returns:
 *   POSTIE_OK         *n > 0 bytes written.
 *   POSTIE_DONE       the message is complete; *n == 0 (and stays so on
 *                     further calls).
 *   POSTIE_ERR_PARAM  c, buf or n NULL, or cap 0 (*n set to 0 when n is not
 *                     NULL); or a caller read callback broke the reader
 *                     contract (returned POSTIE_OK with 0 bytes or more than
 *                     it was given room for).
 *   POSTIE_ERR_STATE  postie_compose_begin() did not succeed on c.
 *   any error status a body or attachment read callback returned: passed on
 *                     as is; the message cannot be completed and every further
 *                     call returns the same status.
 * Ownership: buf is the caller's; nothing is kept after the call.
 */
postie_status postie_compose_read(postie_compose *c, char *buf, size_t cap, size_t *n);

/* postie_compose_read() with the generic reader signature: user is the
 * postie_compose *. Same returns. For the SMTP client's DATA source. */
postie_status postie_compose_reader(void *user, char *buf, size_t cap, size_t *n);

/*
 * The exact size in octets of the message m would produce (CRLF counted, no
 * dot-stuffing: what RFC 1870 SIZE= wants), found by composing it once into
 * nothing with scratch as the working context. Only possible when the body
 * and every attachment come from buffers (a reader cannot be read twice).
 * Returns:
 *   POSTIE_OK               *size set.
 *   POSTIE_ERR_UNSUPPORTED  the body or an attachment comes from a reader.
 *   POSTIE_ERR_PARAM        m, scratch or size NULL, or anything
 *                           postie_compose_begin() refuses.
 * Ownership: as for postie_compose_begin(), only during the call; scratch is
 * overwritten (it may be the context later used to send the message).
 */
postie_status postie_compose_size(const postie_compose_message *m, postie_compose *scratch,
                                  unsigned long long *size);

/* 1 when the message carries 8bit content (the SMTP client then sends
 * MAIL FROM ... BODY=8BITMIME), 0 otherwise or when c is NULL. Valid after a
 * successful postie_compose_begin(). */
int postie_compose_is_8bit(const postie_compose *c);

/* The envelope: the sender's address and every recipient (To, then Cc, then
 * Bcc), in order, for MAIL FROM and RCPT TO. The strings are the caller's
 * (see ownership above). postie_compose_recipient() returns NULL for
 * i >= postie_compose_recipient_count(c) or when c is NULL. */
const char *postie_compose_sender(const postie_compose *c);
size_t postie_compose_recipient_count(const postie_compose *c);
const char *postie_compose_recipient(const postie_compose *c, size_t i);

/*
 * Formats an RFC 5322 date-time, e.g. "Sat, 29 Feb 2020 13:05:09 -0330", from
 * seconds since the epoch (UTC) and the local offset in minutes (the date and
 * time are those of the local zone). Same ranges as postie_compose_message.
 * The day of the month has no leading zero (RFC 5322 sec. A.1.1 style), so
 * out gets a NUL-terminated string of 30 or 31 characters; cap >= 32.
 * Returns POSTIE_OK, POSTIE_ERR_PARAM (out NULL, time or offset out of
 * range), POSTIE_ERR_BUFFER (cap too small; out untouched).
 * *len (may be NULL) gets the length without the NUL.
 */
postie_status postie_compose_format_date(int64_t time, int utc_offset_minutes,
                                         char *out, size_t cap, size_t *len);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_COMPOSE_H */
