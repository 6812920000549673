/*
 * libFuzzer target: the callback driver (rawcb.h) under fuzzed stack events
 * and fuzzed server bytes.
 *
 * Input: byte 0 = the initial send window (0..255, and bit 7 of byte 1 picks
 * a POP3 session with STLS: REQUIRED policy, start_tls answering AGAIN);
 * then records of [op][arg] bytes, each an event of a TCP stack shaped like
 * lwIP's raw API:
 *   op % 8 == 0..2  a received chunk of the next (arg % 64 + 1) input bytes
 *                   (what the driver does not take is offered again first
 *                   at the next receive, as a port keeps a pbuf)
 *            3..4   the sent callback: arg bytes of the written ones freed
 *            5      the poll callback: arg * 100 ms elapsed
 *            6      arg < 8: the err callback; arg < 16: the peer closes;
 *                   else: the handshake left running ends (OK or failed)
 *            7      the stack refuses writes (ERR_MEM) while arg is odd
 * The session (POP3: open, login USER, RETR 1 read to its end, QUIT) runs
 * as the driver's step function.
 *
 * It must never crash, hang or loop. Checks: io.write is never called with
 * more than the window the stack has free, nor after the err callback; a
 * chunk is never taken beyond its length; once the run has a result, every
 * later event returns that same result; a message never yields more bytes
 * than the server sent.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postie/pop3.h"
#include "postie/rawcb.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

typedef struct fz {
    postie_rawcb d;
    postie_pop3 p;
    int phase;
    size_t window, inflight;
    int gone, refuse;
    size_t server_bytes, body_bytes;
} fz;

static long io_write(void *ctx, const void *data, size_t len)
{
    fz *f = ctx;
    (void)data;
    CHECK(!f->gone);
    CHECK(len >= 1 && len <= f->window - f->inflight);
    if (f->refuse) {
        return 0;
    }
    f->inflight += len;
    return (long)len;
}

static postie_status io_start_tls(void *ctx)
{
    (void)ctx;
    return POSTIE_AGAIN;
}

static postie_status step(void *user)
{
    fz *f = user;
    postie_status st;
    char buf[97];
    size_t n;

    for (;;) {
        switch (f->phase) {
        case 0: st = postie_pop3_open(&f->p); break;
        case 1: st = postie_pop3_login(&f->p, "u", "p", POSTIE_POP3_LOGIN_USER); break;
        case 2: st = postie_pop3_retr_begin(&f->p, 1, NULL); break;
        case 3:
            st = postie_pop3_read(&f->p, buf, sizeof buf, &n);
            if (st == POSTIE_OK) {
                f->body_bytes += n;
                CHECK(f->body_bytes <= f->server_bytes);
                continue;
            }
            if (st == POSTIE_DONE) {
                st = POSTIE_OK;
            }
            break;
        case 4:
            st = postie_pop3_quit(&f->p, NULL);
            return st == POSTIE_OK ? POSTIE_DONE : st;
        default:
            return POSTIE_ERR_STATE;
        }
        if (st != POSTIE_OK) {
            return st;
        }
        f->phase++;
    }
}

static postie_status tls_started(void *user, postie_status r)
{
    return postie_pop3_tls_started(&((fz *)user)->p, r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fz f;
    postie_rawcb_io io = {io_write, NULL, io_start_tls, &f};
    postie_rawcb_app app = {step, tls_started, &f};
    postie_status st, final = POSTIE_AGAIN;
    size_t pos = 2, held_at = 0, held_len = 0;
    int stls;

    if (size < 2) {
        return 0;
    }
    memset(&f, 0, sizeof f);
    f.window = data[0];
    stls = (data[1] & 0x80) != 0;
    postie_pop3_init_nb(&f.p);
    if (stls) {
        postie_pop3_set_tls(&f.p, POSTIE_TLS_REQUIRED, "mail.example.org");
    } else {
        postie_pop3_set_tls(&f.p, POSTIE_TLS_OFF, NULL);
        postie_pop3_allow_plaintext_credentials(&f.p, 1);
    }
    CHECK(postie_rawcb_init(&f.d, postie_pop3_conn(&f.p), &io, &app, f.window, 3000) ==
          POSTIE_OK);
    st = postie_rawcb_start(&f.d);

    while (pos + 2 <= size) {
        unsigned op = data[pos] % 8, arg = data[pos + 1];
        pos += 2;
        switch (op) {
        case 0: case 1: case 2: {
            size_t taken = 0, len;
            if (held_len == 0) {
                /* the next arg % 64 + 1 bytes of input are the server's */
                len = (size_t)(arg % 64) + 1;
                if (len > size - pos) {
                    len = size - pos;
                }
                if (len == 0) {
                    break;
                }
                held_at = pos;
                held_len = len;
                pos += len;
                f.server_bytes += len;
            }
            st = postie_rawcb_recv(&f.d, data + held_at, held_len, &taken);
            CHECK(taken <= held_len);
            held_at += taken;
            held_len -= taken;
            break;
        }
        case 3: case 4: {
            size_t k = arg < f.inflight ? arg : f.inflight;
            f.inflight -= k;
            st = postie_rawcb_sent(&f.d, k);
            break;
        }
        case 5:
            st = postie_rawcb_poll(&f.d, arg * 100u);
            break;
        case 6:
            if (arg < 8) {
                f.gone = 1;
                st = postie_rawcb_error(&f.d, arg % 2 ? POSTIE_ERR_CLOSED : POSTIE_ERR_IO);
            } else if (arg < 16) {
                st = postie_rawcb_recv(&f.d, NULL, 0, NULL);
            } else {
                /* POSTIE_ERR_STATE when no handshake was running */
                st = postie_rawcb_tls_done(&f.d, arg % 3 ? POSTIE_OK : POSTIE_ERR_TLS_VERIFY);
            }
            break;
        default:
            f.refuse = arg % 2;
            st = postie_rawcb_poll(&f.d, 0);
            break;
        }
        CHECK(st == postie_rawcb_result(&f.d) || st == POSTIE_ERR_STATE);
        if (final != POSTIE_AGAIN) {
            CHECK(postie_rawcb_result(&f.d) == final); /* a result never changes */
        }
        final = postie_rawcb_result(&f.d);
    }
    postie_pop3_close(&f.p);
    return 0;
}
