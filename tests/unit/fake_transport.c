#include "fake_transport.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

void fake_init(fake_transport *f, size_t chunk)
{
    memset(f, 0, sizeof *f);
    f->chunk = chunk;
    f->at_end = 0;
}

void fake_step_addn(fake_transport *f, const char *expect, size_t elen,
                    const char *reply, size_t rlen)
{
    assert_true(f->nsteps < FAKE_MAX_STEPS);
    f->steps[f->nsteps].expect = expect;
    f->steps[f->nsteps].expect_len = elen;
    f->steps[f->nsteps].reply = reply;
    f->steps[f->nsteps].reply_len = rlen;
    f->nsteps++;
}

void fake_step_add(fake_transport *f, const char *expect, const char *reply)
{
    fake_step_addn(f, expect, strlen(expect), reply, strlen(reply));
}

/* Unlock every step whose expected client bytes have all been sent. */
static void unlock(fake_transport *f)
{
    while (f->unlocked < f->nsteps &&
           f->sent_len >= f->expect_total + f->steps[f->unlocked].expect_len) {
        f->expect_total += f->steps[f->unlocked].expect_len;
        f->unlocked++;
    }
}

static long fake_send(void *ctx, const void *buf, size_t len, unsigned timeout_ms)
{
    fake_transport *f = ctx;
    (void)timeout_ms;
    f->send_calls++;
    if (f->send_error) {
        return f->send_error;
    }
    if (f->send_max && len > f->send_max) {
        len = f->send_max;
    }
    if (f->sent_len + len + 1 > f->sent_cap) {
        size_t cap = f->sent_cap ? f->sent_cap : 4096;
        while (cap < f->sent_len + len + 1) {
            cap *= 2;
        }
        f->sent = realloc(f->sent, cap);
        assert_non_null(f->sent);
        f->sent_cap = cap;
    }
    memcpy(f->sent + f->sent_len, buf, len);
    f->sent_len += len;
    f->sent[f->sent_len] = '\0';
    unlock(f);
    return (long)len;
}

static long fake_recv(void *ctx, void *buf, size_t len, unsigned timeout_ms)
{
    fake_transport *f = ctx;
    (void)timeout_ms;
    f->recv_calls++;
    unlock(f);
    while (f->cur < f->unlocked && f->step_pos >= f->steps[f->cur].reply_len) {
        f->cur++;
        f->step_pos = 0;
    }
    if (f->cur >= f->unlocked) {
        return f->at_end;
    }
    {
        const fake_step *s = &f->steps[f->cur];
        size_t n = s->reply_len - f->step_pos;
        if (n > len) {
            n = len;
        }
        if (f->chunk && n > f->chunk) {
            n = f->chunk;
        }
        memcpy(buf, s->reply + f->step_pos, n);
        f->step_pos += n;
        return (long)n;
    }
}

/* 1 when unlocked server bytes have not been handed out yet. */
static int fake_pending(fake_transport *f)
{
    size_t i;
    unlock(f);
    for (i = f->cur; i < f->unlocked; i++) {
        size_t done = i == f->cur ? f->step_pos : 0;
        if (f->steps[i].reply_len > done) {
            return 1;
        }
    }
    return 0;
}

static postie_status fake_start_tls(void *ctx, const char *server_name)
{
    fake_transport *f = ctx;
    f->tls_name = server_name;
    f->tls_calls++;
    f->tls_sent_len = f->sent_len;
    if (f->tls_peek && fake_pending(f)) {
        return POSTIE_ERR_PROTOCOL;
    }
    return (postie_status)f->tls_result;
}

static void fake_close(void *ctx)
{
    fake_transport *f = ctx;
    f->closed++;
}

void fake_bind(fake_transport *f, postie_transport *tr)
{
    memset(tr, 0, sizeof *tr);
    tr->ctx = f;
    tr->send = fake_send;
    tr->recv = fake_recv;
    tr->start_tls = f->tls_supported ? fake_start_tls : NULL;
    tr->close = fake_close;
}

void fake_free(fake_transport *f)
{
    free(f->sent);
    f->sent = NULL;
    f->sent_len = f->sent_cap = 0;
}

void fake_assert_sentn(const fake_transport *f, const char *expected, size_t len)
{
    if (f->sent_len != len || (len && memcmp(f->sent, expected, len) != 0)) {
        print_error("client sent (%zu bytes, chunk %zu):\n%.*s\nexpected (%zu bytes):\n%.*s\n",
                    f->sent_len, f->chunk, (int)f->sent_len, f->sent ? f->sent : "",
                    len, (int)len, expected);
        fail();
    }
}

void fake_assert_sent(const fake_transport *f, const char *expected)
{
    fake_assert_sentn(f, expected, strlen(expected));
}

void fake_assert_script_sent(const fake_transport *f)
{
    size_t i, n = 0;
    char *want;

    for (i = 0; i < f->nsteps; i++) {
        n += f->steps[i].expect_len;
    }
    want = malloc(n + 1);
    assert_non_null(want);
    for (i = 0, n = 0; i < f->nsteps; i++) {
        memcpy(want + n, f->steps[i].expect, f->steps[i].expect_len);
        n += f->steps[i].expect_len;
    }
    want[n] = '\0';
    fake_assert_sentn(f, want, n);
    free(want);
}

size_t fake_reply_total(const fake_transport *f)
{
    size_t i, total = 0;
    for (i = 0; i < f->nsteps; i++) {
        total += f->steps[i].reply_len;
    }
    return total;
}
