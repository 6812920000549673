/* Line framer shared by the POP3 and SMTP reply engines. */
#include "postie/line.h"
#include "line_frame.h"

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
    if (l == NULL || consumed == NULL || (data == NULL && n > 0)) {
        return POSTIE_ERR_PARAM;
    }
    return postie_line_frame(l, data, n, consumed);
}
