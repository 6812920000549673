/* libFuzzer: SMTP reply parser (line framer + reply classifier).
 * Input: byte 0 picks the feed size (1..64), the rest is server bytes.
 * Checks: no crash, and every complete reply is self-consistent. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postie/smtp_proto.h"

static void check(const postie_smtp_reply *r)
{
    if (r->code < 200 || r->code > 559 || r->lines == 0 || r->text_len >= sizeof r->text ||
        strlen(r->text) != r->text_len || strlen(r->enhanced) >= sizeof r->enhanced ||
        (r->enhanced[0] != '\0' && r->enhanced[0] != (char)('0' + r->code / 100))) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    postie_smtp_reply r;
    postie_line l;
    size_t chunk, pos = 1;

    if (size < 1) {
        return 0;
    }
    chunk = (size_t)(data[0] % 64) + 1;
    postie_smtp_reply_init(&r);
    postie_line_init(&l);
    while (pos < size) {
        size_t piece = size - pos < chunk ? size - pos : chunk, used = 0;
        postie_status st = postie_smtp_reply_feed(&r, &l, (const char *)data + pos, piece, &used);
        if (used > piece) {
            abort();
        }
        if (st == POSTIE_DONE) {
            check(&r);
            (void)postie_smtp_code_status(r.code);
        } else if (st == POSTIE_OK) {
            if (used != piece) {
                abort();
            }
        } else if (st == POSTIE_ERR_PROTOCOL || st == POSTIE_ERR_LINE_TOO_LONG) {
            postie_smtp_reply_init(&r);
            postie_line_init(&l);
            if (used == 0) {
                used = 1; /* skip the byte the framer refused */
            }
        } else {
            abort();
        }
        pos += used;
    }
    return 0;
}
