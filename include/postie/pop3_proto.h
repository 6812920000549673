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

typedef enum postie_pop3_reply_kind {
    POSTIE_POP3_REPLY_INVALID = 0,
    POSTIE_POP3_REPLY_OK,   /* "+OK" [SP text] */
    POSTIE_POP3_REPLY_ERR,  /* "-ERR" [SP text] */
    POSTIE_POP3_REPLY_CONT  /* "+" SP [base64] : SASL continuation (RFC 5034) */
} postie_pop3_reply_kind;

/* Classifies a status line (without CRLF). *text (may be NULL) points at the
 * text after the status indicator and its space, inside line. */
postie_pop3_reply_kind postie_pop3_classify(const char *line, size_t len, const char **text);

/* Decoder of a multi-line body (RFC 1939 sec. 3): strips the first '.' of a
 * line that starts with '.', finds the "." line that ends the body wherever it
 * falls across feeds. A line start is after LF (CRLF or bare LF). */
typedef struct postie_pop3_body {
    unsigned char state;  /* internal */
    unsigned char pending_len;
    char pending[2];      /* bytes decided but not yet handed out */
} postie_pop3_body;

void postie_pop3_body_init(postie_pop3_body *b);

/* Consumes input from in[0..n) and writes decoded bytes to out[0..cap).
 * Stops when the terminator has been consumed, when out is full, or when
 * the input is used up; *consumed and *produced tell how far it got.
 * Returns POSTIE_DONE once the terminating line was consumed (bytes after it
 * are not consumed), else POSTIE_OK. cap may be 0 only if it makes no progress. */
postie_status postie_pop3_body_feed(postie_pop3_body *b, const char *in, size_t n,
                                    size_t *consumed, char *out, size_t cap, size_t *produced);

/* Multi-line *listing* lines (CAPA, LIST, UIDL) come through the line framer:
 * returns 1 when the line is the terminating ".", else 0, and strips a leading
 * stuffed '.' in place (adjusting *len). */
int postie_pop3_listing_line(char *line, size_t *len);

/* "n m" (STAT text, LIST line or LIST n text). POSTIE_OK or POSTIE_ERR_PROTOCOL. */
postie_status postie_pop3_parse_num_pair(const char *text, unsigned long *a, unsigned long *b);

/* "n uid" (UIDL line or UIDL n text); uid 1..70 chars of 0x21..0x7E.
 * POSTIE_OK, POSTIE_ERR_PROTOCOL, or POSTIE_ERR_BUFFER (cap too small). */
postie_status postie_pop3_parse_uidl(const char *text, unsigned long *msg, char *uid, size_t cap);

/* Copies the first "<...>" of a greeting's text into ts (with brackets).
 * Returns 1 when found and it fits (and holds no space/control bytes), else 0
 * and ts = "". */
int postie_pop3_parse_timestamp(const char *text, char *ts, size_t cap);

/* Parses one CAPA line: returns the POSTIE_POP3_CAP_* bit it names (0 when
 * unknown); for "SASL mech ...", copies the mechanisms into sasl (cap bytes,
 * truncated at a mechanism boundary). */
unsigned postie_pop3_parse_capa_line(const char *line, char *sasl, size_t cap);

/* APOP digest: lowercase hex MD5 of timestamp then secret, into hex[33]. */
void postie_pop3_apop_digest(const char *timestamp, const char *secret, char hex[33]);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_POP3_PROTO_H */
