/*
 * The event-loop mode (postie_*_init_nb): the caller moves the bytes and
 * repeats each call. Regression tests for what the many-sessions driver
 * met: postie_smtp_send_buf() repeated with the same message sends it once,
 * whatever the size against the output queue; a failed handshake reported
 * with *_tls_started() is what the repeated call returns.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "postie/pop3.h"
#include "postie/smtp.h"

/* A tiny SMTP server on the other side of a session's connection engine:
 * answers each command line, takes DATA until the final dot. */
typedef struct mini {
    char line[1024];
    size_t len;
    int in_data;
    char body[64 * 1024];
    size_t body_len;
    int messages;
    char replies[4096];
    size_t rlen;
} mini;

static void reply(mini *m, const char *r)
{
    size_t n = strlen(r);
    assert_true(m->rlen + n <= sizeof m->replies);
    memcpy(m->replies + m->rlen, r, n);
    m->rlen += n;
}

static void server_takes(mini *m, const char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        assert_true(m->len < sizeof m->line);
        m->line[m->len++] = p[i];
        if (m->len < 2 || m->line[m->len - 2] != '\r' || m->line[m->len - 1] != '\n') {
            continue;
        }
        if (m->in_data) {
            if (m->len == 3 && m->line[0] == '.') {
                m->in_data = 0;
                m->messages++;
                reply(m, "250 2.0.0 queued\r\n");
            } else {
                assert_true(m->body_len + m->len <= sizeof m->body);
                memcpy(m->body + m->body_len, m->line, m->len);
                m->body_len += m->len;
            }
        } else if (strncmp(m->line, "EHLO", 4) == 0) {
            reply(m, "250-mx\r\n250 8BITMIME\r\n");
        } else if (strncmp(m->line, "DATA", 4) == 0) {
            m->in_data = 1;
            reply(m, "354 go\r\n");
        } else {
            reply(m, "250 ok\r\n");
        }
        m->len = 0;
    }
}

/* One round of an event loop: what the session wants to send goes to the
 * server, what the server answered goes back, a few bytes at a time. */
static void move_bytes(postie_conn *c, mini *m)
{
    size_t n = 0, cap = 0;
    const char *out = postie_conn_out(c, &n);
    char *in;
    if (n > 0) {
        if (n > 300) {
            n = 300; /* a partial write */
        }
        server_takes(m, out, n);
        postie_conn_out_done(c, n);
    }
    in = postie_conn_in(c, &cap);
    if (m->rlen > 0 && in != NULL && cap > 0) {
        size_t k = m->rlen < cap ? m->rlen : cap;
        if (k > 7) {
            k = 7;
        }
        memcpy(in, m->replies, k);
        memmove(m->replies, m->replies + k, m->rlen - k);
        m->rlen -= k;
        postie_conn_in_done(c, k);
    }
}

/* s opened without a transport against the scripted server m, which greets
 * with 220 (the bytes moved by move_bytes()). */
static void open_nb(postie_smtp *s, mini *m)
{
    postie_status st;
    size_t rounds = 0;

    memset(m, 0, sizeof *m);
    reply(m, "220 mx ESMTP\r\n");
    assert_int_equal(postie_smtp_init_nb(s), POSTIE_OK);
    assert_int_equal(postie_smtp_set_tls(s, POSTIE_TLS_OFF, NULL), POSTIE_OK);
    while ((st = postie_smtp_open(s)) == POSTIE_AGAIN) {
        move_bytes(postie_smtp_conn(s), m);
        assert_true(++rounds < 10000);
    }
    assert_int_equal(st, POSTIE_OK);
}

static void test_send_buf_repeated_sends_once(void **state)
{
    static postie_smtp s;
    static mini m;
    static char msg[20000];
    postie_smtp_envelope env;
    postie_smtp_rcpt r;
    postie_status st;
    size_t i, rounds = 0;
    (void)state;

    for (i = 0; i + 1 < sizeof msg; i++) {
        msg[i] = (char)(i % 64 == 63 ? '\n' : 'a' + (char)(i % 26));
    }
    open_nb(&s, &m);
    memset(&env, 0, sizeof env);
    memset(&r, 0, sizeof r);
    r.addr = "b@example.net";
    env.from = "a@example.org";
    env.rcpts = &r;
    env.nrcpts = 1;
    while ((st = postie_smtp_send_buf(&s, &env, msg, sizeof msg - 1)) == POSTIE_AGAIN) {
        move_bytes(postie_smtp_conn(&s), &m);
        assert_true(++rounds < 100000);
    }
    assert_int_equal(st, POSTIE_OK);
    assert_int_equal(m.messages, 1);
    /* the body arrived once: every 64-byte line as CRLF, then a final CRLF */
    assert_int_equal(m.body_len, (sizeof msg - 1) + (sizeof msg - 1) / 64 + 2);
    assert_int_equal(postie_smtp_messages_sent(&s), 1);
}

/* POP3: STLS's +OK asks for TLS; the handshake fails; the repeated open()
 * says how, and the session is over. */
static void test_failed_handshake_is_the_result(void **state)
{
    static postie_pop3 p;
    static const char server[] = "+OK ready\r\n+OK\r\nSTLS\r\nUSER\r\n.\r\n+OK begin TLS\r\n";
    postie_conn *c;
    size_t given = 0, rounds = 0;
    postie_status st;
    (void)state;

    assert_int_equal(postie_pop3_init_nb(&p), POSTIE_OK);
    assert_int_equal(postie_pop3_set_tls(&p, POSTIE_TLS_REQUIRED, "pop.example.org"), POSTIE_OK);
    c = postie_pop3_conn(&p);
    while ((st = postie_pop3_open(&p)) == POSTIE_AGAIN) {
        size_t n = 0, cap = 0;
        char *in;
        (void)postie_conn_out(c, &n);
        postie_conn_out_done(c, n);
        in = postie_conn_in(c, &cap);
        if (given < sizeof server - 1 && cap > 0) {
            /* one line per round: nothing arrives after STLS's +OK */
            const char *eol = strstr(server + given, "\r\n");
            size_t k = (size_t)(eol - (server + given)) + 2;
            memcpy(in, server + given, k);
            postie_conn_in_done(c, k);
            given += k;
        }
        assert_true(++rounds < 1000);
    }
    assert_int_equal(st, POSTIE_START_TLS);
    assert_int_equal(postie_pop3_tls_started(&p, POSTIE_ERR_TLS_VERIFY), POSTIE_ERR_TLS_VERIFY);
    assert_int_equal(postie_pop3_open(&p), POSTIE_ERR_TLS_VERIFY);
    assert_int_equal(postie_pop3_get_state(&p), POSTIE_POP3_STATE_CLOSED);
    assert_int_equal(postie_pop3_open(&p), POSTIE_ERR_STATE);
}

/* A connection that died between two calls (the event loop's transport
 * failed, postie_conn_fail()): mail() says why and ends the session, with
 * nothing sent and the recipient not answered. Before, MAIL could not be
 * queued and mail() went round for ever (alarm() fails the test then). */
static void test_mail_on_dead_connection(void **state)
{
    static postie_smtp s;
    static mini m;
    postie_smtp_envelope env;
    postie_smtp_rcpt r;
    size_t n = 1;
    (void)state;

    open_nb(&s, &m);
    (void)postie_conn_fail(postie_smtp_conn(&s), POSTIE_ERR_TIMEOUT);
    memset(&env, 0, sizeof env);
    memset(&r, 0, sizeof r);
    r.addr = "b@example.net";
    r.code = 250; /* from an earlier call: reset to not answered */
    env.from = "a@example.org";
    env.rcpts = &r;
    env.nrcpts = 1;
    alarm(20);
    assert_int_equal(postie_smtp_mail(&s, &env), POSTIE_ERR_TIMEOUT);
    alarm(0);
    assert_int_equal(postie_smtp_get_state(&s), POSTIE_SMTP_STATE_CLOSED);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.status, POSTIE_ERR_STATE);
    assert_int_equal(env.accepted, 0);
    assert_null(postie_conn_out(postie_smtp_conn(&s), &n));
    assert_int_equal(n, 0);
    assert_int_equal(postie_smtp_mail(&s, &env), POSTIE_ERR_STATE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_buf_repeated_sends_once),
        cmocka_unit_test(test_failed_handshake_is_the_result),
        cmocka_unit_test(test_mail_on_dead_connection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
