/*
 * postie/line.h - the reply engine's line framer (no I/O).
 *
 * Fed raw bytes from the server in pieces of any size, it hands back one line
 * at a time, without its line end. Only CRLF ends a line (DESIGN.md: "only
 * CRLF ends a line on the wire, in both directions, everywhere"). A bare LF
 * is not a line end and no reply line may hold one, so it is
 * POSTIE_ERR_PROTOCOL rather than a line end that would frame the server's
 * bytes differently from the POP3 body decoder (pop3_proto.h); a lone CR is a
 * byte of the line (the classifiers judge it). A CRLF split between two feeds
 * is handled: the state lives in the struct. A line longer than POSTIE_LINE_MAX
 * (counting its CRLF) is POSTIE_ERR_LINE_TOO_LONG: nothing is written past
 * the buffer and nothing grows.
 *
 * Both protocols plug their classifiers in on top of this: see pop3_proto.h
 * and smtp_proto.h.
 */
#ifndef POSTIE_LINE_H
#define POSTIE_LINE_H

#include <stddef.h>
#include "postie/postie_config_defaults.h"
#include "postie/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct postie_line {
    size_t len;                /* bytes of the line so far (CR kept until LF)  */
    unsigned char complete;    /* 1 after a line was returned; reset on feed   */
    char buf[POSTIE_LINE_MAX]; /* the line; NUL-terminated once complete      */
} postie_line;

void postie_line_init(postie_line *l);

/*
 * Feeds up to n bytes. Consumes bytes until a line is complete or the input is
 * used up, and stores in *consumed how many it took (the rest belongs to the
 * next line, or to a message body that follows).
 * Returns:
 *   POSTIE_DONE  a full line is in l->buf (NUL-terminated, l->len bytes, no
 *                CR/LF); it stays valid until the next feed or init.
 *   POSTIE_OK    all n bytes consumed, the line is not complete yet.
 *   POSTIE_ERR_LINE_TOO_LONG  the line exceeds POSTIE_LINE_MAX; the framer
 *                must be re-initialised before further use.
 *   POSTIE_ERR_PROTOCOL  a bare LF (not after a CR); *consumed stops before
 *                it; the framer must be re-initialised before further use.
 *   POSTIE_ERR_PARAM  l or consumed NULL, or data NULL with n > 0.
 */
postie_status postie_line_feed(postie_line *l, const char *data, size_t n, size_t *consumed);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_LINE_H */
