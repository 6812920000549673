/*
 * The overall deadline of a call (conn.h, postie_*_set_deadline): a server
 * that trickles its reply just inside every per-read timeout is cut off once
 * the call's time is up; a slow but steady message body earns the time its
 * size needs; each transport call is given no more than the time left.
 * A scripted transport hands out the server's bytes n at a time and moves a
 * fake clock by a fixed step on every receive.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "postie/pop3.h"
#include "postie/smtp.h"

typedef struct slow {
    const char *data;
    size_t len, pos;
    size_t per_recv;          /* bytes per receive */
    unsigned long now;        /* the fake clock, ms */
    unsigned long step_ms;    /* clock advance per receive */
    unsigned last_timeout;    /* timeout of the last receive */
    unsigned min_timeout;     /* smallest timeout seen */
    size_t recvs;
} slow;

static unsigned long fake_clock(void *ctx)
{
    return ((slow *)ctx)->now;
}

static long slow_send(void *ctx, const void *buf, size_t len, unsigned timeout_ms)
{
    (void)ctx;
    (void)buf;
    (void)timeout_ms;
    return (long)len;
}

static long slow_recv(void *ctx, void *buf, size_t len, unsigned timeout_ms)
{
    slow *s = ctx;
    size_t n = s->len - s->pos;

    s->recvs++;
    s->last_timeout = timeout_ms;
    if (timeout_ms < s->min_timeout) {
        s->min_timeout = timeout_ms;
    }
    if (s->step_ms > timeout_ms) {
        s->now += timeout_ms; /* nothing came within the timeout */
        return POSTIE_ERR_TIMEOUT;
    }
    s->now += s->step_ms;
    if (n == 0) {
        return 0;
    }
    if (n > s->per_recv) {
        n = s->per_recv;
    }
    if (n > len) {
        n = len;
    }
    memcpy(buf, s->data + s->pos, n);
    s->pos += n;
    return (long)n;
}

static void bind(slow *s, postie_transport *t, const char *data, size_t per_recv,
                 unsigned long step_ms)
{
    memset(s, 0, sizeof *s);
    s->data = data;
    s->len = strlen(data);
    s->per_recv = per_recv;
    s->step_ms = step_ms;
    s->min_timeout = (unsigned)-1;
    memset(t, 0, sizeof *t);
    t->ctx = s;
    t->send = slow_send;
    t->recv = slow_recv;
}

/* The case: one byte every 5 s, a 60 s per-read timeout. Without a
 * deadline the greeting takes as long as the server likes; with a 30 s
 * deadline (and a minimum rate of 1 KB/s) open() gives up within it. */
static void test_trickle_cut_off(void **state)
{
    static const char greet[] = "+OK a greeting that trickles in one byte at a time\r\n";
    static postie_pop3 p;
    postie_transport t;
    slow s;
    (void)state;

    bind(&s, &t, greet, 1, 5000);
    assert_int_equal(postie_pop3_init(&p, &t), POSTIE_OK);
    assert_int_equal(postie_pop3_set_tls(&p, POSTIE_TLS_OFF, NULL), POSTIE_OK);
    postie_pop3_set_timeout(&p, 60000);
    assert_int_equal(postie_pop3_open_ex(&p, POSTIE_POP3_OPEN_NO_CAPA), POSTIE_OK);
    assert_true(s.now >= 5000UL * (sizeof greet - 1)); /* it took 4 minutes */

    bind(&s, &t, greet, 1, 5000);
    assert_int_equal(postie_pop3_init(&p, &t), POSTIE_OK);
    assert_int_equal(postie_pop3_set_tls(&p, POSTIE_TLS_OFF, NULL), POSTIE_OK);
    postie_pop3_set_timeout(&p, 60000);
    postie_pop3_set_deadline(&p, 30000, 1024, fake_clock, &s);
    assert_int_equal(postie_pop3_open_ex(&p, POSTIE_POP3_OPEN_NO_CAPA), POSTIE_ERR_TIMEOUT);
    assert_true(s.now <= 30000 + 5000);
    assert_int_equal(postie_pop3_get_state(&p), POSTIE_POP3_STATE_CLOSED);
}

/* A wait is never longer than the time the call has left. */
static void test_timeout_shrinks(void **state)
{
    static const char greet[] = "+OK hello\r\n";
    static postie_pop3 p;
    postie_transport t;
    slow s;
    (void)state;

    bind(&s, &t, greet, 1, 4000);
    assert_int_equal(postie_pop3_init(&p, &t), POSTIE_OK);
    assert_int_equal(postie_pop3_set_tls(&p, POSTIE_TLS_OFF, NULL), POSTIE_OK);
    postie_pop3_set_timeout(&p, 60000);
    postie_pop3_set_deadline(&p, 10000, 0, fake_clock, &s);
    assert_int_equal(postie_pop3_open_ex(&p, POSTIE_POP3_OPEN_NO_CAPA), POSTIE_ERR_TIMEOUT);
    assert_int_equal(s.min_timeout, 2000); /* 10 s - 2 * 4 s */
    assert_true(s.now <= 10000);
}

/* A message body read over many calls is one call for the deadline, and
 * every byte it moves earns time: 40 KB at 1 KB a second passes a 5 s
 * deadline with a minimum rate of 512 B/s, and fails it with none. */
static void test_body_earns_time(void **state)
{
    static char script[64 + 40 * 1024 + 16];
    static postie_pop3 p;
    postie_transport t;
    slow s;
    char buf[512];
    size_t n, o, total;
    int with_rate;
    postie_status st;
    (void)state;

    o = (size_t)sprintf(script, "+OK hi\r\n+OK 1 40960\r\n+OK 40960 octets\r\n");
    memset(script + o, 'x', 40 * 1024 - 2);
    o += 40 * 1024 - 2;
    memcpy(script + o, "\r\n.\r\n", 6);
    for (with_rate = 1; with_rate >= 0; with_rate--) {
        bind(&s, &t, script, 1024, 1000);
        assert_int_equal(postie_pop3_init(&p, &t), POSTIE_OK);
        assert_int_equal(postie_pop3_set_tls(&p, POSTIE_TLS_OFF, NULL), POSTIE_OK);
        postie_pop3_set_deadline(&p, 5000, with_rate ? 512 : 0, fake_clock, &s);
        assert_int_equal(postie_pop3_open_ex(&p, POSTIE_POP3_OPEN_NO_CAPA), POSTIE_OK);
        p.state = POSTIE_POP3_STATE_TRANSACTION; /* as after a login */
        p.count = 1;
        assert_int_equal(postie_pop3_list(&p, 1, NULL), POSTIE_OK);
        assert_int_equal(postie_pop3_retr_begin(&p, 1, NULL), POSTIE_OK);
        total = 0;
        while ((st = postie_pop3_read(&p, buf, sizeof buf, &n)) == POSTIE_OK) {
            total += n;
        }
        if (with_rate) {
            assert_int_equal(st, POSTIE_DONE);
            assert_int_equal(total, 40 * 1024);
        } else {
            assert_int_equal(st, POSTIE_ERR_TIMEOUT);
            assert_true(total < 8 * 1024);
        }
    }
}

/* SMTP: the same rule for a reply that trickles (EHLO's lines). */
static void test_smtp_trickle(void **state)
{
    static const char script[] = "220 mx ESMTP\r\n250-mx\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
                                 "250-SIZE 100000\r\n250 ENHANCEDSTATUSCODES\r\n";
    static postie_smtp sm;
    postie_transport t;
    slow s;
    (void)state;

    bind(&s, &t, script, 2, 3000);
    assert_int_equal(postie_smtp_init(&sm, &t), POSTIE_OK);
    assert_int_equal(postie_smtp_set_tls(&sm, POSTIE_TLS_OFF, NULL), POSTIE_OK);
    postie_smtp_set_timeout(&sm, 60000);
    postie_smtp_set_deadline(&sm, 20000, 1024, fake_clock, &s);
    assert_int_equal(postie_smtp_open(&sm), POSTIE_ERR_TIMEOUT);
    assert_true(s.now <= 20000 + 3000);
    assert_int_equal(postie_smtp_get_state(&sm), POSTIE_SMTP_STATE_CLOSED);
    postie_smtp_close(&sm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trickle_cut_off),
        cmocka_unit_test(test_timeout_shrinks),
        cmocka_unit_test(test_body_earns_time),
        cmocka_unit_test(test_smtp_trickle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
