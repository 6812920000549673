/* libFuzzer: the SMTP reply engine as the session runs it. An event-loop
 * session (postie_smtp_init_nb) opens and then says NOOP after every
 * complete reply, fed the fuzzed server bytes through its connection engine.
 * Input: byte 0 picks the feed size (1..64), the rest is server bytes.
 * Checks: no crash, statuses from the documented set, and every complete
 * reply is self-consistent. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postie/smtp.h"

static void check(const postie_smtp_reply *r)
{
    if (r->code < 100 || r->code > 599 || r->lines == 0 || r->text_len >= sizeof r->text ||
        strlen(r->text) != r->text_len || strlen(r->enhanced) >= sizeof r->enhanced ||
        (r->enhanced[0] != '\0' && r->enhanced[0] != (char)('0' + r->code / 100))) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static postie_smtp s;
    postie_conn *c;
    size_t chunk, pos = 1;
    int opened = 0;

    if (size < 1) {
        return 0;
    }
    chunk = (size_t)(data[0] % 64) + 1;
    postie_smtp_init_nb(&s);
    (void)postie_smtp_set_tls(&s, POSTIE_TLS_OFF, NULL);
    c = postie_smtp_conn(&s);
    for (;;) {
        postie_status st = opened ? postie_smtp_noop(&s) : postie_smtp_open(&s);
        size_t n = 0, cap = 0, piece;
        char *room;

        (void)postie_conn_out(c, &n);
        postie_conn_out_done(c, n); /* what the client says goes nowhere */
        if (st == POSTIE_AGAIN) {
            if (c->eof && n == 0) {
                abort(); /* a call never waits on a peer that closed */
            }
            if (pos >= size) {
                postie_conn_in_done(c, 0); /* the server hangs up */
                continue;
            }
            room = postie_conn_in(c, &cap);
            if (room == NULL || cap == 0) {
                abort(); /* a waiting session always has room */
            }
            piece = size - pos < chunk ? size - pos : chunk;
            if (piece > cap) {
                piece = cap;
            }
            memcpy(room, data + pos, piece);
            postie_conn_in_done(c, piece);
            pos += piece;
            continue;
        }
        if (st == POSTIE_START_TLS) {
            abort(); /* TLS is off */
        }
        if (postie_smtp_last_reply(&s)->done) {
            check(postie_smtp_last_reply(&s));
        }
        if (postie_smtp_get_state(&s) == POSTIE_SMTP_STATE_CLOSED) {
            break;
        }
        opened = 1;
    }
    postie_smtp_close(&s);
    return 0;
}
