/*
 * postie/smtp_proto.h - SMTP pieces with no I/O (RFC 5321 and extensions).
 *
 *  - the reply parser: lines from the line framer (line.h) in, one complete
 *    reply (code, enhanced status, text) out; multi-line replies, a code with
 *    no text ("334"), RFC 3463 enhanced status codes;
 *  - the EHLO keyword parser (SIZE, PIPELINING, 8BITMIME, SMTPUTF8,
 *    ENHANCEDSTATUSCODES, AUTH, STARTTLS, CHUNKING, DSN);
 *  - the DATA encoder: dot-stuffing and CR/LF normalisation with state kept
 *    across input chunks, so no chunking of the input can make the content
 *    end the message early (SMTP smuggling);
 *  - checks of values that go on the wire.
 *
 * The blocking client (smtp.h) is a loop around these; fuzzers drive them
 * directly. No allocation, no global state: all state is in the structs.
 */
#ifndef POSTIE_SMTP_PROTO_H
#define POSTIE_SMTP_PROTO_H

#include <stddef.h>
#include "postie/postie_config_defaults.h"
#include "postie/status.h"
#include "postie/line.h"
#include "postie/conn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Room for an enhanced status code "c.sss.ddd" (RFC 3463: class 1 digit,
 * subject and detail 1 to 3 digits each) plus NUL. */
#define POSTIE_SMTP_ENHANCED_MAX 10

/* Room for the EHLO/HELO domain or address literal plus NUL
 * (RFC 5321 sec. 4.5.3.1.2: a domain is at most 255 octets). */
#ifndef POSTIE_SMTP_DOMAIN_MAX
#define POSTIE_SMTP_DOMAIN_MAX 256
#endif

/* ------------------------------------------------------------------------ */
/* Replies                                                                  */

/*
 * One server reply, built line by line. After POSTIE_DONE:
 *   code      the 3-digit reply code (200..599);
 *   enhanced  the RFC 3463 code of the first line ("2.1.5"), or "" when the
 *             first line has none (it is recognised when the text starts
 *             with class.subject.detail whose class equals the code's
 *             first digit, followed by a space or the end of the line);
 *   text      the text of every line (after the code, the separator and an
 *             enhanced code if any), joined with '\n', NUL-terminated,
 *             truncated to POSTIE_REPLY_TEXT_MAX-1 bytes (truncated = 1);
 *             a NUL byte the server sent is stored as '?', so text_len is
 *             always strlen(text);
 *   lines     how many lines the reply had (255 for 255 or more).
 * Two of these live in every postie_smtp, so the struct holds nothing else
 * (the EHLO parser finds each line's text in the line itself).
 */
#if POSTIE_REPLY_TEXT_MAX > 65535
#error "POSTIE_REPLY_TEXT_MAX must be at most 65535"
#endif
typedef struct postie_smtp_reply {
    short code;
    char enhanced[POSTIE_SMTP_ENHANCED_MAX];
    char text[POSTIE_REPLY_TEXT_MAX];
    unsigned short text_len;
    unsigned char lines;      /* saturates at 255 */
    unsigned char done;       /* 1 once the last line was seen */
    unsigned char truncated;  /* text did not fit */
} postie_smtp_reply;

void postie_smtp_reply_init(postie_smtp_reply *r);

/*
 * Gives the parser one line (without its CRLF; line[len] need not be NUL).
 * A reply line is exactly three digits (first 2..5, second 0..5), then '-'
 * (more lines follow), ' ' or the end of the line (last line). After a reply
 * is done, the next call starts a new one.
 * Returns:
 *   POSTIE_OK        a continuation line: more lines follow;
 *   POSTIE_DONE      the last line: the reply is complete;
 *   POSTIE_ERR_PROTOCOL  not a reply line (fewer or more than three digits,
 *                    a code out of range, another separator), or its code
 *                    differs from the earlier lines of the same reply; the
 *                    reply must be re-initialised before further use;
 *   POSTIE_ERR_PARAM r NULL, or line NULL with len > 0.
 */
postie_status postie_smtp_reply_line(postie_smtp_reply *r, const char *line, size_t len);



/* Maps a reply code to our status: 2xx and 3xx POSTIE_OK, 4xx
 * POSTIE_ERR_TRANSIENT, 5xx POSTIE_ERR_SERVER, anything else
 * POSTIE_ERR_PROTOCOL. */
postie_status postie_smtp_code_status(int code);

/* ------------------------------------------------------------------------ */
/* EHLO extensions                                                          */

#define POSTIE_SMTP_EXT_SIZE                0x0001u /* size_max: limit, 0 = none given */
#define POSTIE_SMTP_EXT_PIPELINING          0x0002u /* RFC 2920 */
#define POSTIE_SMTP_EXT_8BITMIME            0x0004u /* RFC 6152 */
#define POSTIE_SMTP_EXT_SMTPUTF8            0x0008u /* RFC 6531 */
#define POSTIE_SMTP_EXT_ENHANCEDSTATUSCODES 0x0010u /* RFC 2034 */
#define POSTIE_SMTP_EXT_AUTH                0x0020u /* RFC 4954; mechanisms below */
#define POSTIE_SMTP_EXT_STARTTLS            0x0040u /* RFC 3207 */
#define POSTIE_SMTP_EXT_CHUNKING            0x0080u /* RFC 3030 (BDAT: postie_smtp_send_batch) */
#define POSTIE_SMTP_EXT_DSN                 0x0100u /* RFC 3461 (params via the envelope) */
#define POSTIE_SMTP_EXT_BINARYMIME          0x0200u /* RFC 3030 (with CHUNKING) */
#define POSTIE_SMTP_EXT_EHLO                0x8000u /* the server answered EHLO (not HELO) */

typedef struct postie_smtp_ext {
    unsigned flags;            /* POSTIE_SMTP_EXT_* */
    unsigned long size_max;    /* SIZE argument; 0 when absent or 0 (no limit) */
    unsigned auth;             /* postie_sasl_mech bits the server offers */
    char auth_names[POSTIE_SASL_MECHS_MAX]; /* the AUTH list as sent (all
                                  mechanisms, known or not), space separated,
                                  truncated at a name boundary */
} postie_smtp_ext;

void postie_smtp_ext_init(postie_smtp_ext *e);

/*
 * Parses the text of one EHLO reply line after the first (the first line is
 * the server's domain and greeting text): a keyword and its parameters,
 * keywords case-insensitive. "AUTH=mech ..." (the pre-RFC form some servers
 * still send) is read like "AUTH mech ...". Unknown keywords are ignored.
 * A SIZE argument that is not a decimal number (or overflows) is read as 0.
 * Returns the POSTIE_SMTP_EXT_* bit of the keyword (0 when unknown) and
 * updates e.
 */
unsigned postie_smtp_ehlo_line(postie_smtp_ext *e, const char *text, size_t len);

/*
 * The reply engine the SMTP session runs: assembles into r the lines that
 * the connection engine c frames from the bytes that arrived (conn.h),
 * until a reply is complete. r must be initialised before its first line.
 * With ext non-NULL, the lines after the first of a 250 reply are parsed
 * as EHLO extensions into ext.
 * Returns POSTIE_DONE (a reply is complete in r), POSTIE_AGAIN (more input
 * is needed), POSTIE_ERR_PROTOCOL (a malformed line, consumed; c stays
 * alive), or the status that ended c (ERR_LINE_TOO_LONG, ERR_CLOSED, ...).
 */
postie_status postie_smtp_reply_read(postie_smtp_reply *r, postie_conn *c, postie_smtp_ext *ext);

/* ------------------------------------------------------------------------ */
/* DATA encoder                                                             */

/*
 * Turns message bytes into the DATA stream (RFC 5321 sec. 4.5.2):
 *  - every line end (CRLF, a bare LF, a bare CR) is written as CRLF; a CR
 *    followed by LF is one line end, even when the two arrive in different
 *    chunks;
 *  - a '.' at the start of a line is doubled;
 * so the only "CRLF . CRLF" in the output is the one postie_smtp_dot_finish
 * writes. State survives between calls: chunk the input anywhere.
 */
typedef struct postie_smtp_dot {
    unsigned char state;     /* internal: at line start, after CR, mid-line */
    unsigned char raw;       /* 1: BDAT content (RFC 3030): line ends made CRLF,
                                no dot doubled, finish writes no "." line */
    unsigned char saw_8bit;  /* 1 once a byte >= 0x80 went through */
    unsigned long long in_bytes, out_bytes;
} postie_smtp_dot;

void postie_smtp_dot_init(postie_smtp_dot *d);

/*
 * Consumes in[0..n) and writes encoded bytes to out[0..cap). One input byte
 * produces at most 2 output bytes; the call stops when the input is used up
 * or fewer than 2 bytes of room are left. *consumed and *produced tell how
 * far it got (always all n when cap >= 2n).
 * Returns POSTIE_OK, or POSTIE_ERR_PARAM (NULL pointers; in NULL with n > 0).
 */
postie_status postie_smtp_dot_feed(postie_smtp_dot *d, const char *in, size_t n,
                                   size_t *consumed, char *out, size_t cap, size_t *produced);

/*
 * The encoder's one definition of a line end in message content, for whoever
 * reads that content before it (postie-send's sendmail -t header reader), so
 * that both split it into the same lines and no line is hidden from one and
 * seen by the other (issue 17 defect 4: "X-Note: hi\rBcc: s@x.test" is two
 * fields for both, never one field to the reader and a Bcc: line to the
 * server). Returns the length of the line end starting at p[0]: 2 for CRLF,
 * 1 for a bare LF or a lone CR (a CR not followed by LF within the n bytes,
 * the end of the content included), 0 when p[0] ends no line, n is 0 or p is
 * NULL. The encoder writes each of these as one CRLF.
 */
size_t postie_smtp_content_eol(const char *p, size_t n);

/* RFC 1870 sec. 4 size of p[0..n) as the encoder sends it: every line end
 * as CRLF, a final CRLF added when missing, without doubled dots or the "."
 * line (also the exact BDAT length of a raw encoder's output). */
unsigned long long postie_smtp_wire_size(const char *p, size_t n);

/* 1 when p[0..n) cannot go as text without being changed: a NUL byte, or a
 * line longer than 998 octets (RFC 5322 sec. 2.1.1); else 0. Such a message
 * needs BINARYMIME (RFC 3030) to arrive as it is. */
int postie_smtp_needs_binary(const void *p, size_t n);

/*
 * Writes the end of the message: CRLF when the content did not end with a
 * line end, then ".\r\n". Needs cap >= 5 (POSTIE_SMTP_DOT_FINISH_MAX).
 * Returns POSTIE_OK, POSTIE_ERR_BUFFER (cap too small, nothing written),
 * POSTIE_ERR_PARAM.
 */
#define POSTIE_SMTP_DOT_FINISH_MAX 5
postie_status postie_smtp_dot_finish(postie_smtp_dot *d, char *out, size_t cap, size_t *produced);

/* ------------------------------------------------------------------------ */
/* Checks of values that go on the wire                                     */

/* 1 when s (NUL-terminated) may be put in an SMTP command as an address or
 * parameter: no CR, LF, '<' or '>' and no other control byte except TAB.
 * The address syntax itself is left to the server. NULL is 0. */
int postie_smtp_arg_ok(const char *s);

/* 1 when s (NUL-terminated, 1..255 bytes) is usable as the EHLO/HELO
 * argument: a domain (letters, digits, '-', '.') or an address literal
 * "[...]" holding no space or control byte, '[' or ']' inside. */
int postie_smtp_domain_ok(const char *s);

/* Address literal of a local IP address for EHLO: "192.0.2.1" ->
 * "[192.0.2.1]", "2001:db8::1" -> "[IPv6:2001:db8::1]". Checks the characters
 * only (digits and dots; hex digits, ':' and '.'), not the address value.
 * Returns POSTIE_OK, POSTIE_ERR_PARAM (not an address), POSTIE_ERR_BUFFER. */
postie_status postie_smtp_address_literal(const char *ip, char *out, size_t cap);

/* 1 when s[0..n) holds a byte >= 0x80 (8-bit content). */
int postie_smtp_has_8bit(const void *s, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_SMTP_PROTO_H */
