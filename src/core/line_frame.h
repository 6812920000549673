/*
 * The line framer's loop (private): postie_line_feed() (line.c) and the
 * connection engine's postie_conn_line() (conn.c) both run it, so there is
 * one definition of a reply line; inlined, the engine's copy keeps its
 * positions in registers and passes no arguments it has already checked.
 */
#ifndef POSTIE_LINE_FRAME_H
#define POSTIE_LINE_FRAME_H

#include "postie/line.h"

/* postie_line_feed() without its argument checks: l, data and used valid. */
static inline postie_status postie_line_frame(postie_line *l, const char *data, size_t n,
                                              size_t *used)
{
    size_t i, len;

    if (l->complete) {
        l->len = 0;
        l->complete = 0;
    }
    len = l->len;
    for (i = 0; i < n; i++) {
        char c = data[i];
        if (c == '\n') {
            if (len == 0 || l->buf[len - 1] != '\r') {
                /* only CRLF ends a line: a bare LF is no line end, and no
                 * reply line may hold one (RFC 1939, RFC 5321 sec. 4.2) */
                l->len = len;
                *used = i;
                return POSTIE_ERR_PROTOCOL;
            }
            len--;
            l->buf[len] = '\0';
            l->len = len;
            l->complete = 1;
            *used = i + 1;
            return POSTIE_DONE;
        }
        /* Keep one byte for the LF: content plus CR plus LF <= POSTIE_LINE_MAX,
         * and the NUL fits where the CR or LF would go. */
        if (len >= (size_t)POSTIE_LINE_MAX - 1) {
            l->len = len;
            *used = i;
            return POSTIE_ERR_LINE_TOO_LONG;
        }
        l->buf[len++] = c;
    }
    l->len = len;
    *used = n;
    return POSTIE_OK;
}

#endif /* POSTIE_LINE_FRAME_H */
