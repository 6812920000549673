/*
 * postie/pop3_proto.h - POP3 pieces with no I/O: the status-line classifier,
 * the multi-line body decoder (dot-unstuffing, terminator detection across
 * feeds), and parsers for the lines of STAT, LIST, UIDL, CAPA and the greeting.
 * The blocking client (pop3.h) is a loop around these; fuzzers drive them
 * directly.
 */
#ifndef POSTIE_POP3_PROTO_H
#define POSTIE_POP3_PROTO_H

#include <stddef.h>
#include "postie/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Capabilities learned from CAPA (RFC 2449): the bits of
 * postie_pop3_parse_capa_line() here and of postie_pop3_caps() (pop3.h). */
#define POSTIE_POP3_CAP_CAPA        0x0001u /* the server answered CAPA at all */
#define POSTIE_POP3_CAP_TOP         0x0002u
#define POSTIE_POP3_CAP_UIDL        0x0004u
#define POSTIE_POP3_CAP_USER        0x0008u
#define POSTIE_POP3_CAP_SASL        0x0010u /* mechanisms: postie_pop3_sasl_mechs() */
#define POSTIE_POP3_CAP_STLS        0x0020u
#define POSTIE_POP3_CAP_PIPELINING  0x0040u
#define POSTIE_POP3_CAP_RESP_CODES  0x0080u
#define POSTIE_POP3_CAP_AUTH_RESP_CODE 0x0100u
#define POSTIE_POP3_CAP_UTF8        0x0200u
#define POSTIE_POP3_CAP_EXPIRE      0x0400u
#define POSTIE_POP3_CAP_LOGIN_DELAY 0x0800u
#define POSTIE_POP3_CAP_APOP        0x1000u /* the greeting carried a <timestamp> */

typedef enum postie_pop3_reply_kind {
    POSTIE_POP3_REPLY_INVALID = 0,
    POSTIE_POP3_REPLY_OK,   /* "+OK" [SP text] */
    POSTIE_POP3_REPLY_ERR,  /* "-ERR" [SP text] */
    POSTIE_POP3_REPLY_CONT  /* "+" SP [base64] : SASL continuation (RFC 5034) */
} postie_pop3_reply_kind;

/* Classifies a status line (without CRLF). *text (may be NULL) points at the
 * text after the status indicator and its space, inside line; NULL for
 * POSTIE_POP3_REPLY_INVALID. Indicators are case-sensitive ("+OK", "-ERR") and
 * must be followed by a space or the end of the line ("+OKAY" is INVALID).
 * Returns a postie_pop3_reply_kind, never a status. */
postie_pop3_reply_kind postie_pop3_classify(const char *line, size_t len, const char **text);

/* Decoder of a multi-line body (RFC 1939 sec. 3): strips the first '.' of a
 * line that starts with '.', finds the "." CRLF line that ends the body
 * wherever it falls across feeds. Only CRLF ends a line (DESIGN.md): a line
 * starts at the first byte of the body and after each CRLF, never after a
 * bare LF or a lone CR, which are data like any other byte. So a message
 * holding "\n.\n" or "\r.\r\n", passed through by a server that stuffs only
 * CRLF-ended lines, arrives whole. */
typedef struct postie_pop3_body {
    unsigned char state;  /* internal */
} postie_pop3_body;

/* Resets a decoder to the start of a body (the line after the status line).
 * A decoder whose bytes are all zero is there too. */
void postie_pop3_body_init(postie_pop3_body *b);

/* Consumes input from in[0..n) and writes decoded bytes to out[0..cap).
 * Stops when the terminator has been consumed, when out is full, or when
 * the input is used up; *consumed and *produced tell how far it got.
 * Returns POSTIE_DONE once the terminating line was consumed (bytes after it
 * are not consumed), else POSTIE_OK; POSTIE_ERR_PARAM (b, consumed or produced
 * NULL, in NULL with n > 0, out NULL with cap > 0). Any cap works: with cap 0
 * only bytes that produce nothing (a leading dot, the terminator) are taken.
 * A ".\r" at a line start followed by another byte than LF is data: the CR is
 * handed out on the call that sees that byte, so *produced may exceed
 * *consumed by one on that call; over a whole body output never exceeds input.
 * Only CRLF "." CRLF ends the body: "\n.\n", "\n.\r\n" and "\r.\r\n" are data.
 * Leniency: an unstuffed ".x" line (x not CR) loses its dot, as RFC 1939 says
 * for every line starting with '.', whatever x is (a bare LF included). */
postie_status postie_pop3_body_feed(postie_pop3_body *b, const char *in, size_t n,
                                    size_t *consumed, char *out, size_t cap, size_t *produced);

/* Multi-line *listing* lines (CAPA, LIST, UIDL) come through the line framer
 * (line.h, CRLF-ended lines only):
 * returns 1 when the line is the terminating ".", else 0, and strips a leading
 * stuffed '.' in place (adjusting *len, keeping the NUL). NULL is 0. */
int postie_pop3_listing_line(char *line, size_t *len);

/* "n m" (STAT text, LIST line or LIST n text): decimal digits only (no sign,
 * no overflow of unsigned long), one or more spaces, digits, then the end or a
 * space and anything (RFC 1939 sec. 5 allows more after the size).
 * POSTIE_OK or POSTIE_ERR_PROTOCOL (*a, *b untouched). a, b may be NULL. */
postie_status postie_pop3_parse_num_pair(const char *text, unsigned long *a, unsigned long *b);

/* "n uid" (UIDL line or UIDL n text); uid 1..70 chars of 0x21..0x7E
 * (trailing spaces tolerated). POSTIE_OK, POSTIE_ERR_PROTOCOL, or
 * POSTIE_ERR_BUFFER (uid NULL or cap too small; the syntax was checked first
 * and *msg is set). */
postie_status postie_pop3_parse_uidl(const char *text, unsigned long *msg, char *uid, size_t cap);

/* Copies the first "<...>" of a greeting's text into ts (with brackets).
 * Returns 1 when found and it fits (and holds no space/control bytes), else 0
 * and ts = "". */
int postie_pop3_parse_timestamp(const char *text, char *ts, size_t cap);

/* Parses one CAPA line: returns the POSTIE_POP3_CAP_* bit it names (0 when
 * unknown; keywords are case-insensitive, RFC 2449 sec. 5); for
 * "SASL mech ...", copies the mechanisms into sasl (cap bytes, upper-cased,
 * single spaces, truncated at a mechanism boundary; a mechanism holding bytes
 * outside 0x21..0x7E is dropped). sasl is untouched for other lines. */
unsigned postie_pop3_parse_capa_line(const char *line, char *sasl, size_t cap);

/* APOP digest (RFC 1939 sec. 7): lowercase hex MD5 of timestamp then secret,
 * into hex[33] (NUL-terminated). NULL strings count as "". Returns nothing. */
void postie_pop3_apop_digest(const char *timestamp, const char *secret, char hex[33]);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_POP3_PROTO_H */
