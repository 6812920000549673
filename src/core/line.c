/* Line framer shared by the POP3 and SMTP reply engines. */
#include "postie/line.h"

void postie_line_init(postie_line *l)
{
    if (l == NULL) {
        return;
    }
    l->len = 0;
    l->complete = 0;
    l->buf[0] = '\0';
}

postie_status postie_line_feed(postie_line *l, const char *data, size_t n, size_t *consumed)
{
    size_t i;

    if (l == NULL || consumed == NULL || (data == NULL && n > 0)) {
        return POSTIE_ERR_PARAM;
    }
    *consumed = 0;
    if (l->complete) {
        l->len = 0;
        l->complete = 0;
    }
    for (i = 0; i < n; i++) {
        char c = data[i];
        if (c == '\n') {
            size_t end = l->len;
            if (end == 0 || l->buf[end - 1] != '\r') {
                /* only CRLF ends a line: a bare LF is no line end, and no
                 * reply line may hold one (RFC 1939, RFC 5321 sec. 4.2) */
                *consumed = i;
                return POSTIE_ERR_PROTOCOL;
            }
            end--;
            l->buf[end] = '\0';
            l->len = end;
            l->complete = 1;
            *consumed = i + 1;
            return POSTIE_DONE;
        }
        /* Keep one byte for the LF: content plus CR plus LF <= POSTIE_LINE_MAX,
         * and the NUL fits where the CR or LF would go. */
        if (l->len >= (size_t)POSTIE_LINE_MAX - 1) {
            *consumed = i;
            return POSTIE_ERR_LINE_TOO_LONG;
        }
        l->buf[l->len++] = c;
    }
    *consumed = n;
    return POSTIE_OK;
}
