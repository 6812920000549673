/* Blocking SMTP client, byte-exact transcripts on the fake transport.
 * Every scenario runs with the server's bytes handed out at every chunk
 * size from 1 up to past the longest reply, and unlimited (0). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fake_transport.h"
#include "postie/smtp.h"

#define MAXCHUNK 90

static fake_transport F;
static postie_smtp S;
static postie_transport T;

#define GREET "220 mx.example.org ESMTP Postfix\r\n"
#define EHLO "EHLO client.example\r\n"
#define EHLO_PLAIN_EXTS                                                                   \
    "250-mx.example.org\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n" \
    "250-AUTH PLAIN LOGIN CRAM-MD5\r\n250 DSN\r\n"
#define EHLO_PIPE_EXTS                                                                \
    "250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n" \
    "250-ENHANCEDSTATUSCODES\r\n250 SMTPUTF8\r\n"

static void begin(size_t chunk)
{
    fake_free(&F);
    fake_init(&F, chunk);
}

/* These transcripts are plain-text sessions: they opt out of the default
 * TLS policy and allow PLAIN/LOGIN without TLS. The policy itself is tested
 * in test_smtp_tls.c. */
static void plain_session(postie_smtp *s)
{
    assert_int_equal(postie_smtp_set_tls(s, POSTIE_TLS_OFF, NULL), POSTIE_OK);
    postie_smtp_allow_plaintext_credentials(s, 1);
}

static void start(void)
{
    fake_bind(&F, &T);
    assert_int_equal(postie_smtp_init(&S, &T), POSTIE_OK);
    plain_session(&S);
    assert_int_equal(postie_smtp_set_domain(&S, "client.example"), POSTIE_OK);
}

/* Greeting and EHLO steps, start(), open(): the session is READY. */
static void hello(const char *ehlo_reply)
{
    fake_step_add(&F, "", GREET);
    fake_step_add(&F, EHLO, ehlo_reply);
}

static void open_ok(void)
{
    start();
    assert_int_equal(postie_smtp_open(&S), POSTIE_OK);
    assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_READY);
}

static void one_rcpt(postie_smtp_envelope *env, postie_smtp_rcpt *r, const char *from,
                     const char *to)
{
    memset(env, 0, sizeof *env);
    memset(r, 0, sizeof *r);
    r->addr = to;
    env->from = from;
    env->rcpts = r;
    env->nrcpts = 1;
}

#define EVERY_CHUNK(chunk) for (chunk = 0; chunk <= MAXCHUNK; chunk++)

/* ---- greeting, EHLO, HELO -------------------------------------------- */

static void test_session_basic(void **state)
{
    size_t chunk, i;
    static const char body[] = "Subject: hi\r\n\r\nline\n.dot\r\nend";
    (void)state;
    EVERY_CHUNK(chunk) {
        postie_smtp_envelope env;
        postie_smtp_rcpt r;
        const postie_smtp_ext *e;
        begin(chunk);
        /* multi-line greeting; EHLO reply arriving in two segments */
        fake_step_add(&F, "", "220-mx.example.org ESMTP\r\n220-second line\r\n220 ready\r\n");
        fake_step_add(&F, EHLO, "250-mx.example.org\r\n250-SIZE 1000\r\n250-8BIT");
        fake_step_add(&F, "", "MIME\r\n250-ENHANCEDSTATUSCODES\r\n250-AUTH PLAIN LOGIN CRAM-MD5\r\n250 DSN\r\n");
        fake_step_add(&F, "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n", "235 2.7.0 Authentication successful\r\n");
        fake_step_add(&F, "MAIL FROM:<tim@example.org> SIZE=29\r\n", "250 2.1.0 Ok\r\n");
        fake_step_add(&F, "RCPT TO:<bob@example.net>\r\n", "250 2.1.5 Ok\r\n");
        fake_step_add(&F, "DATA\r\n", "354 End data with <CR><LF>.<CR><LF>\r\n");
        fake_step_add(&F, "Subject: hi\r\n\r\nline\r\n..dot\r\nend\r\n.\r\n",
                      "250 2.0.0 Ok: queued as 4F2A1\r\n");
        fake_step_add(&F, "QUIT\r\n", "221 2.0.0 Bye\r\n");
        start();
        assert_int_equal(postie_smtp_open(&S), POSTIE_OK);
        assert_string_equal(postie_smtp_reply_text(&S),
                            "mx.example.org\nSIZE 1000\n8BITMIME\nENHANCEDSTATUSCODES\nAUTH PLAIN LOGIN CRAM-MD5\nDSN");
        e = postie_smtp_extensions(&S);
        assert_int_equal(e->flags, POSTIE_SMTP_EXT_EHLO | POSTIE_SMTP_EXT_SIZE |
                                       POSTIE_SMTP_EXT_8BITMIME | POSTIE_SMTP_EXT_ENHANCEDSTATUSCODES |
                                       POSTIE_SMTP_EXT_AUTH | POSTIE_SMTP_EXT_DSN);
        assert_int_equal(e->size_max, 1000);
        assert_int_equal(e->auth, POSTIE_SASL_PLAIN | POSTIE_SASL_LOGIN | POSTIE_SASL_CRAM_MD5);
        assert_true(postie_smtp_has(&S, POSTIE_SMTP_EXT_DSN));
        assert_false(postie_smtp_has(&S, POSTIE_SMTP_EXT_PIPELINING));
        assert_int_equal(postie_smtp_auth(&S, POSTIE_SASL_PLAIN, "tim", "tanstaaftanstaaf"), POSTIE_OK);
        assert_int_equal(postie_smtp_reply_code(&S), 235);
        assert_string_equal(postie_smtp_reply_enhanced(&S), "2.7.0");
        one_rcpt(&env, &r, "tim@example.org", "bob@example.net");
        env.size = sizeof body - 1;
        assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_OK);
        assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_MAIL);
        assert_int_equal(r.code, 250);
        assert_string_equal(r.enhanced, "2.1.5");
        assert_int_equal(r.status, POSTIE_OK);
        assert_int_equal(env.accepted, 1);
        assert_int_equal(postie_smtp_data_begin(&S), POSTIE_OK);
        assert_int_equal(postie_smtp_reply_code(&S), 354);
        for (i = 0; i < sizeof body - 1; i += 3) {
            size_t n = sizeof body - 1 - i < 3 ? sizeof body - 1 - i : 3;
            assert_int_equal(postie_smtp_data_write(&S, body + i, n), POSTIE_OK);
        }
        assert_int_equal(postie_smtp_data_end(&S), POSTIE_OK);
        assert_string_equal(postie_smtp_reply_text(&S), "Ok: queued as 4F2A1");
        assert_int_equal(postie_smtp_messages_sent(&S), 1);
        assert_int_equal(postie_smtp_quit(&S), POSTIE_OK);
        assert_int_equal(postie_smtp_reply_code(&S), 221);
        assert_int_equal(F.closed, 1);
        assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_CLOSED);
        fake_assert_script_sent(&F);
    }
}

/* SIZE= in decimal for sizes past 32 bits (written without a 64-bit
 * division: 16-bit pieces, 32-bit steps). */
static void test_size_64bit(void **state)
{
    static const unsigned long long sizes[] = {4294967296ull, 281474976710656ull,
                                               18446744073709551615ull, 10000000000000000000ull};
    static const char *const lines[] = {
        "MAIL FROM:<a@example.org> SIZE=4294967296\r\n",
        "MAIL FROM:<a@example.org> SIZE=281474976710656\r\n",
        "MAIL FROM:<a@example.org> SIZE=18446744073709551615\r\n",
        "MAIL FROM:<a@example.org> SIZE=10000000000000000000\r\n"};
    size_t k;
    (void)state;
    for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        postie_smtp_envelope env;
        postie_smtp_rcpt r;
        begin(0);
        hello("250-mx.example.org\r\n250 SIZE\r\n"); /* no limit announced */
        fake_step_add(&F, lines[k], "250 2.1.0 Ok\r\n");
        fake_step_add(&F, "RCPT TO:<b@example.org>\r\n", "250 2.1.5 Ok\r\n");
        open_ok();
        one_rcpt(&env, &r, "a@example.org", "b@example.org");
        env.size = sizes[k];
        assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_OK);
        fake_assert_script_sent(&F);
        postie_smtp_close(&S);
    }
    fake_free(&F);
}

static void test_helo_fallback(void **state)
{
    size_t chunk;
    int variant;
    (void)state;
    for (variant = 0; variant < 2; variant++) {
        EVERY_CHUNK(chunk) {
            postie_smtp_envelope env;
            postie_smtp_rcpt r;
            begin(chunk);
            fake_step_add(&F, "", GREET);
            fake_step_add(&F, EHLO, variant ? "500 5.5.2 Error: bad syntax\r\n"
                                            : "502 5.5.2 Error: command not recognized\r\n");
            fake_step_add(&F, "HELO client.example\r\n", "250 mx.example.org\r\n");
            fake_step_add(&F, "MAIL FROM:<>\r\n", "250 Ok\r\n");
            fake_step_add(&F, "RCPT TO:<bob@example.net>\r\n", "250 Ok\r\n");
            open_ok();
            assert_int_equal(postie_smtp_extensions(&S)->flags, 0);
            /* no AUTH without the extension: nothing is sent */
            assert_int_equal(postie_smtp_auth(&S, POSTIE_SASL_ALL_MECHS, "u", "p"),
                             POSTIE_ERR_UNSUPPORTED);
            one_rcpt(&env, &r, "", "bob@example.net");
            env.size = 12345; /* no SIZE= without the extension */
            assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_OK);
            fake_assert_script_sent(&F);
        }
    }
}

static void test_ehlo_and_helo_refused(void **state)
{
    size_t chunk;
    (void)state;
    EVERY_CHUNK(chunk) {
        begin(chunk);
        fake_step_add(&F, "", GREET);
        fake_step_add(&F, EHLO, "502 no\r\n");
        fake_step_add(&F, "HELO client.example\r\n", "550 5.7.1 go away\r\n");
        fake_step_add(&F, "QUIT\r\n", "221 bye\r\n");
        start();
        assert_int_equal(postie_smtp_open(&S), POSTIE_ERR_SERVER);
        assert_int_equal(postie_smtp_reply_code(&S), 550);
        assert_string_equal(postie_smtp_reply_text(&S), "go away");
        assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_CLOSED);
        fake_assert_script_sent(&F);
        /* 554 greeting: QUIT and POSTIE_ERR_SERVER */
        begin(chunk);
        fake_step_add(&F, "", "554 5.3.2 No SMTP service here\r\n");
        fake_step_add(&F, "QUIT\r\n", "221 bye\r\n");
        start();
        assert_int_equal(postie_smtp_open(&S), POSTIE_ERR_SERVER);
        assert_int_equal(postie_smtp_reply_code(&S), 554);
        assert_int_equal(postie_smtp_open(&S), POSTIE_ERR_STATE);
        fake_assert_script_sent(&F);
    }
}

static void test_address_literal(void **state)
{
    (void)state;
    begin(0);
    fake_step_add(&F, "", GREET);
    fake_step_add(&F, "EHLO [127.0.0.1]\r\n", "250 mx\r\n");
    fake_bind(&F, &T);
    assert_int_equal(postie_smtp_init(&S, &T), POSTIE_OK);
    plain_session(&S);
    assert_int_equal(postie_smtp_open(&S), POSTIE_OK);
    fake_assert_script_sent(&F);

    begin(0);
    fake_step_add(&F, "", GREET);
    fake_step_add(&F, "EHLO [IPv6:::1]\r\n", "250 mx\r\n");
    fake_bind(&F, &T);
    assert_int_equal(postie_smtp_init(&S, &T), POSTIE_OK);
    plain_session(&S);
    assert_int_equal(postie_smtp_set_local_addr(&S, "::1"), POSTIE_OK);
    assert_int_equal(postie_smtp_set_local_addr(&S, "not-an-ip"), POSTIE_ERR_PARAM);
    assert_int_equal(postie_smtp_set_domain(&S, "bad domain"), POSTIE_ERR_PARAM);
    assert_int_equal(postie_smtp_set_domain(&S, "x\r\nQUIT"), POSTIE_ERR_PARAM);
    assert_int_equal(postie_smtp_open(&S), POSTIE_OK);
    fake_assert_script_sent(&F);

    begin(0);
    fake_step_add(&F, "", GREET);
    fake_step_add(&F, "EHLO [192.0.2.7]\r\n", "250 mx\r\n");
    fake_bind(&F, &T);
    assert_int_equal(postie_smtp_init(&S, &T), POSTIE_OK);
    plain_session(&S);
    assert_int_equal(postie_smtp_set_local_addr(&S, "192.0.2.7"), POSTIE_OK);
    assert_int_equal(postie_smtp_open(&S), POSTIE_OK);
    fake_assert_script_sent(&F);
}

/* ---- malformed replies, 421, stalls ------------------------------------ */

static void test_four_digit_code(void **state)
{
    size_t chunk;
    (void)state;
    EVERY_CHUNK(chunk) {
        postie_smtp_envelope env;
        postie_smtp_rcpt r;
        begin(chunk);
        fake_step_add(&F, "", "2200 mx.example.org\r\n");
        /* RFC 5321 sec. 3.8: QUIT before closing; its answer changes nothing */
        fake_step_add(&F, "QUIT\r\n", "221 2.0.0 Bye\r\n");
        start();
        assert_int_equal(postie_smtp_open(&S), POSTIE_ERR_PROTOCOL);
        assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_CLOSED);
        assert_int_equal(postie_smtp_noop(&S), POSTIE_ERR_STATE);
        fake_assert_script_sent(&F);

        begin(chunk);
        hello(EHLO_PLAIN_EXTS);
        fake_step_add(&F, "MAIL FROM:<a@example.org>\r\n", "2500 2.1.0 Ok\r\n");
        open_ok();
        one_rcpt(&env, &r, "a@example.org", "b@example.org");
        assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_ERR_PROTOCOL);
        assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_CLOSED);
        assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_ERR_STATE);
        assert_int_equal(postie_smtp_quit(&S), POSTIE_ERR_STATE);
        assert_int_equal(F.closed, 1);
        fake_assert_script_sent(&F);

        /* inconsistent codes inside one multi-line reply */
        begin(chunk);
        fake_step_add(&F, "", GREET);
        fake_step_add(&F, EHLO, "250-mx\r\n251 PIPELINING\r\n");
        start();
        assert_int_equal(postie_smtp_open(&S), POSTIE_ERR_PROTOCOL);
        fake_assert_script_sent(&F);
    }
}

static void test_421_mid_session(void **state)
{
    size_t chunk;
    (void)state;
    EVERY_CHUNK(chunk) {
        postie_smtp_envelope env;
        postie_smtp_rcpt r[3];
        begin(chunk);
        hello(EHLO_PLAIN_EXTS);
        fake_step_add(&F, "MAIL FROM:<a@example.org>\r\n", "250 2.1.0 Ok\r\n");
        fake_step_add(&F, "RCPT TO:<b@example.org>\r\n", "250 2.1.5 Ok\r\n");
        fake_step_add(&F, "RCPT TO:<c@example.org>\r\n",
                      "421 4.3.2 Service shutting down, closing channel\r\n");
        open_ok();
        memset(&env, 0, sizeof env);
        memset(r, 0, sizeof r);
        r[0].addr = "b@example.org";
        r[1].addr = "c@example.org";
        r[2].addr = "d@example.org";
        env.from = "a@example.org";
        env.rcpts = r;
        env.nrcpts = 3;
        assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_ERR_TRANSIENT);
        assert_int_equal(postie_smtp_reply_code(&S), 421);
        assert_string_equal(postie_smtp_reply_enhanced(&S), "4.3.2");
        assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_CLOSED);
        assert_int_equal(r[0].status, POSTIE_OK);
        /* the RCPT that got the 421 was answered: its result says so */
        assert_int_equal(r[1].code, 421);
        assert_string_equal(r[1].enhanced, "4.3.2");
        assert_int_equal(r[1].status, POSTIE_ERR_TRANSIENT);
        assert_int_equal(env.accepted, 1);
        assert_int_equal(r[2].status, POSTIE_ERR_STATE);
        assert_int_equal(r[2].code, 0);
        assert_int_equal(postie_smtp_noop(&S), POSTIE_ERR_STATE);
        assert_int_equal(postie_smtp_quit(&S), POSTIE_ERR_STATE); /* no QUIT sent */
        assert_int_equal(F.closed, 1);
        fake_assert_script_sent(&F);
    }
}

static void test_stall_and_close(void **state)
{
    size_t chunk;
    (void)state;
    EVERY_CHUNK(chunk) {
        postie_smtp_envelope env;
        postie_smtp_rcpt r;
        /* server never answers MAIL: the transport times out */
        begin(chunk);
        hello(EHLO_PLAIN_EXTS);
        fake_step_add(&F, "MAIL FROM:<a@example.org>\r\n", "");
        F.at_end = POSTIE_ERR_TIMEOUT;
        open_ok();
        one_rcpt(&env, &r, "a@example.org", "b@example.org");
        assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_ERR_TIMEOUT);
        assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_CLOSED);
        fake_assert_script_sent(&F);
        /* server closes in the middle of a multi-line reply */
        begin(chunk);
        fake_step_add(&F, "", GREET);
        fake_step_add(&F, EHLO, "250-mx.example.org\r\n250-PIPE");
        start();
        assert_int_equal(postie_smtp_open(&S), POSTIE_ERR_CLOSED);
        fake_assert_script_sent(&F);
        /* send fails */
        begin(chunk);
        fake_step_add(&F, "", GREET);
        start();
        F.send_error = POSTIE_ERR_IO;
        assert_int_equal(postie_smtp_open(&S), POSTIE_ERR_IO);
        assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_CLOSED);
    }
}

/* ---- AUTH ----------------------------------------------------------- */

static void test_auth_login_no_text(void **state)
{
    size_t chunk;
    (void)state;
    EVERY_CHUNK(chunk) {
        begin(chunk);
        hello("250-mx\r\n250 AUTH LOGIN\r\n");
        fake_step_add(&F, "AUTH LOGIN\r\n", "334\r\n");              /* no prompt at all */
        fake_step_add(&F, "dGlt\r\n", "334 UGFzc3dvcmQ6\r\n");       /* "Password:" */
        fake_step_add(&F, "dGFuc3RhYWZ0YW5zdGFhZg==\r\n", "235 2.7.0 Authentication successful\r\n");
        open_ok();
        assert_int_equal(postie_smtp_auth(&S, POSTIE_SASL_PASSWORD_MECHS, "tim", "tanstaaftanstaaf"),
                         POSTIE_OK);
        fake_assert_script_sent(&F);
        /* prompts in the other order are answered by what they say */
        begin(chunk);
        hello("250-mx\r\n250 AUTH=LOGIN\r\n");
        fake_step_add(&F, "AUTH LOGIN\r\n", "334 UGFzc3dvcmQ6\r\n");
        fake_step_add(&F, "dGFuc3RhYWZ0YW5zdGFhZg==\r\n", "334 VXNlcm5hbWU6\r\n");
        fake_step_add(&F, "dGlt\r\n", "235 ok\r\n");
        open_ok();
        assert_int_equal(postie_smtp_auth(&S, POSTIE_SASL_LOGIN, "tim", "tanstaaftanstaaf"),
                         POSTIE_OK);
        fake_assert_script_sent(&F);
    }
}

static void test_auth_cram_md5(void **state)
{
    size_t chunk;
    (void)state;
    EVERY_CHUNK(chunk) {
        begin(chunk);
        hello(EHLO_PLAIN_EXTS);
        fake_step_add(&F, "AUTH CRAM-MD5\r\n",
                      "334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n");
        fake_step_add(&F, "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n", "235 2.7.0 ok\r\n");
        open_ok();
        /* automatic choice among PLAIN LOGIN CRAM-MD5: CRAM-MD5 */
        assert_int_equal(postie_smtp_auth(&S, POSTIE_SASL_PASSWORD_MECHS, "tim", "tanstaaftanstaaf"),
                         POSTIE_OK);
        fake_assert_script_sent(&F);
        /* a challenge that is not base64: cancelled with "*" */
        begin(chunk);
        hello(EHLO_PLAIN_EXTS);
        fake_step_add(&F, "AUTH CRAM-MD5\r\n", "334 not*base64\r\n");
        fake_step_add(&F, "*\r\n", "501 5.7.0 Authentication aborted\r\n");
        open_ok();
        assert_int_equal(postie_smtp_auth(&S, POSTIE_SASL_CRAM_MD5, "tim", "x"), POSTIE_ERR_DECODE);
        assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_READY);
        fake_assert_script_sent(&F);
    }
}

/* Challenges the exchange cannot answer: each is cancelled with "*", the
 * status given once the server answered it, and the session stays usable. */
static void test_auth_cancels(void **state)
{
    size_t chunk;
    int i;
    (void)state;
    EVERY_CHUNK(chunk) {
        /* CRAM-MD5 takes one challenge only */
        begin(chunk);
        hello(EHLO_PLAIN_EXTS);
        fake_step_add(&F, "AUTH CRAM-MD5\r\n",
                      "334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n");
        fake_step_add(&F, "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n", "334 PDI+\r\n");
        fake_step_add(&F, "*\r\n", "501 5.7.0 Authentication aborted\r\n");
        fake_step_add(&F, "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n", "235 2.7.0 ok\r\n");
        open_ok();
        assert_int_equal(postie_smtp_auth(&S, POSTIE_SASL_CRAM_MD5, "tim", "tanstaaftanstaaf"),
                         POSTIE_ERR_AUTH);
        assert_int_equal(postie_smtp_reply_code(&S), 334); /* the reply that was refused */
        assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_READY);
        assert_int_equal(postie_smtp_auth(&S, POSTIE_SASL_PLAIN, "tim", "tanstaaftanstaaf"),
                         POSTIE_OK);
        fake_assert_script_sent(&F);
        /* PLAIN went with its initial response: a challenge is out of place,
         * and so is a second empty one (the first gets the response again) */
        begin(chunk);
        hello(EHLO_PLAIN_EXTS);
        fake_step_add(&F, "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n", "334 PDI+\r\n");
        fake_step_add(&F, "*\r\n", "501 5.7.0 Authentication aborted\r\n");
        fake_step_add(&F, "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n", "334 \r\n");
        fake_step_add(&F, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n", "334 \r\n");
        fake_step_add(&F, "*\r\n", "501 5.7.0 Authentication aborted\r\n");
        open_ok();
        assert_int_equal(postie_smtp_auth(&S, POSTIE_SASL_PLAIN, "tim", "tanstaaftanstaaf"),
                         POSTIE_ERR_AUTH);
        assert_int_equal(postie_smtp_auth(&S, POSTIE_SASL_PLAIN, "tim", "tanstaaftanstaaf"),
                         POSTIE_ERR_AUTH);
        fake_assert_script_sent(&F);
        /* LOGIN: a third prompt that names neither user nor password */
        begin(chunk);
        hello(EHLO_PLAIN_EXTS);
        fake_step_add(&F, "AUTH LOGIN\r\n", "334 Pz8/\r\n");
        fake_step_add(&F, "dGlt\r\n", "334 Pz8/\r\n");
        fake_step_add(&F, "dGFuc3RhYWZ0YW5zdGFhZg==\r\n", "334 Pz8/\r\n");
        fake_step_add(&F, "*\r\n", "501 5.7.0 Authentication aborted\r\n");
        open_ok();
        assert_int_equal(postie_smtp_auth(&S, POSTIE_SASL_LOGIN, "tim", "tanstaaftanstaaf"),
                         POSTIE_ERR_AUTH);
        fake_assert_script_sent(&F);
        /* LOGIN: six answers at most, then "*" */
        begin(chunk);
        hello(EHLO_PLAIN_EXTS);
        fake_step_add(&F, "AUTH LOGIN\r\n", "334 VXNlcm5hbWU6\r\n");
        for (i = 0; i < 6; i++) {
            fake_step_add(&F, "dGlt\r\n", "334 VXNlcm5hbWU6\r\n");
        }
        fake_step_add(&F, "*\r\n", "501 5.7.0 Authentication aborted\r\n");
        open_ok();
        assert_int_equal(postie_smtp_auth(&S, POSTIE_SASL_LOGIN, "tim", "tanstaaftanstaaf"),
                         POSTIE_ERR_AUTH);
        assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_READY);
        fake_assert_script_sent(&F);
    }
}

static void test_auth_failures(void **state)
{
    size_t chunk;
    (void)state;
    EVERY_CHUNK(chunk) {
        begin(chunk);
        hello(EHLO_PLAIN_EXTS);
        fake_step_add(&F, "AUTH PLAIN AHRpbQB3cm9uZw==\r\n",
                      "535 5.7.8 Error: authentication failed: authentication failure\r\n");
        fake_step_add(&F, "AUTH PLAIN AHRpbQB3cm9uZw==\r\n", "454 4.7.0 Temporary authentication failure\r\n");
        open_ok();
        assert_int_equal(postie_smtp_auth(&S, POSTIE_SASL_PLAIN, "tim", "wrong"), POSTIE_ERR_AUTH);
        assert_int_equal(postie_smtp_reply_code(&S), 535);
        assert_string_equal(postie_smtp_reply_enhanced(&S), "5.7.8");
        assert_string_equal(postie_smtp_reply_text(&S),
                            "Error: authentication failed: authentication failure");
        assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_READY);
        assert_int_equal(postie_smtp_auth(&S, POSTIE_SASL_PLAIN, "tim", "wrong"), POSTIE_ERR_TRANSIENT);
        /* nothing sent for these */
        assert_int_equal(postie_smtp_auth(&S, POSTIE_SASL_TOKEN_MECHS, "tim", "tok"),
                         POSTIE_ERR_UNSUPPORTED);
        assert_int_equal(postie_smtp_auth(&S, POSTIE_SASL_PLAIN, "tim\r\nQUIT", "x"), POSTIE_ERR_PARAM);
        assert_int_equal(postie_smtp_auth(&S, POSTIE_SASL_PLAIN, "tim", "x\n"), POSTIE_ERR_PARAM);
        assert_int_equal(postie_smtp_auth(&S, POSTIE_SASL_PLAIN, "", "x"), POSTIE_ERR_PARAM);
        fake_assert_script_sent(&F);
    }
}

static void test_auth_tokens(void **state)
{
    size_t chunk;
    (void)state;
    EVERY_CHUNK(chunk) {
        begin(chunk);
        hello("250-mx\r\n250 AUTH PLAIN XOAUTH2 OAUTHBEARER\r\n");
        /* OAUTHBEARER first; an error challenge is answered with ^A */
        fake_step_add(&F, "AUTH OAUTHBEARER bixhPXVAZXgsAWF1dGg9QmVhcmVyIHRvazEBAQ==\r\n",
                      "334 eyJzdGF0dXMiOiI0MDEifQ==\r\n");
        fake_step_add(&F, "AQ==\r\n", "535 5.7.8 Authentication credentials invalid\r\n");
        fake_step_add(&F, "AUTH XOAUTH2 dXNlcj11QGV4AWF1dGg9QmVhcmVyIHRvazIBAQ==\r\n",
                      "334 eyJzdGF0dXMiOiI0MDEifQ==\r\n");
        fake_step_add(&F, "\r\n", "535 5.7.8 Username and Password not accepted\r\n");
        fake_step_add(&F, "AUTH XOAUTH2 dXNlcj11QGV4AWF1dGg9QmVhcmVyIHRvazMBAQ==\r\n", "235 2.7.0 Accepted\r\n");
        open_ok();
        assert_int_equal(postie_smtp_auth(&S, POSTIE_SASL_TOKEN_MECHS, "u@ex", "tok1"), POSTIE_ERR_AUTH);
        assert_string_equal(postie_smtp_reply_text(&S), "Authentication credentials invalid");
        assert_int_equal(postie_smtp_auth(&S, POSTIE_SASL_XOAUTH2, "u@ex", "tok2"), POSTIE_ERR_AUTH);
        assert_int_equal(postie_smtp_auth(&S, POSTIE_SASL_XOAUTH2, "u@ex", "tok3"), POSTIE_OK);
        fake_assert_script_sent(&F);
    }
}

/* ---- envelope ----------------------------------------------------------- */

static void rcpts3(postie_smtp_envelope *env, postie_smtp_rcpt r[3], postie_smtp_refused pol)
{
    memset(env, 0, sizeof *env);
    memset(r, 0, 3 * sizeof r[0]);
    r[0].addr = "ann@example.net";
    r[1].addr = "nobody@example.net";
    r[2].addr = "cat@example.net";
    env->from = "tim@example.org";
    env->rcpts = r;
    env->nrcpts = 3;
    env->on_refused = pol;
}

#define MAIL3 "MAIL FROM:<tim@example.org>\r\nRCPT TO:<ann@example.net>\r\n" \
              "RCPT TO:<nobody@example.net>\r\nRCPT TO:<cat@example.net>\r\n"
#define R3_ONE_REFUSED "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n" \
                       "550 5.1.1 <nobody@example.net>: Recipient address rejected\r\n250 2.1.5 Ok\r\n"

static void test_pipelining_one_write(void **state)
{
    size_t chunk, i;
    static char body[300];
    static char stuffed[400];
    (void)state;
    for (i = 0; i < sizeof body; i++) {
        body[i] = (i % 50 == 49) ? '\n' : (char)('a' + i % 26);
    }
    {
        size_t o = 0;
        for (i = 0; i < sizeof body; i++) {
            if (body[i] == '\n') {
                stuffed[o++] = '\r';
            }
            stuffed[o++] = body[i];
        }
        memcpy(stuffed + o, ".\r\n", 4);
    }
    EVERY_CHUNK(chunk) {
        postie_smtp_envelope env;
        postie_smtp_rcpt r[3];
        size_t calls;
        begin(chunk);
        hello(EHLO_PIPE_EXTS);
        fake_step_add(&F, MAIL3 "DATA\r\n", R3_ONE_REFUSED "354 End data with <CR><LF>.<CR><LF>\r\n");
        fake_step_add(&F, stuffed, "250 2.0.0 Ok: queued\r\n");
        fake_step_add(&F, "QUIT\r\n", "221 2.0.0 Bye\r\n");
        open_ok();
        rcpts3(&env, r, POSTIE_SMTP_REFUSED_CONTINUE);
        calls = F.send_calls;
        assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_OK);
        assert_int_equal(F.send_calls, calls + 1); /* MAIL, RCPT x3, DATA in one write */
        assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_DATA);
        assert_int_equal(env.accepted, 2);
        assert_int_equal(r[0].status, POSTIE_OK);
        assert_int_equal(r[1].status, POSTIE_ERR_SERVER);
        assert_int_equal(r[1].code, 550);
        assert_string_equal(r[1].enhanced, "5.1.1");
        assert_int_equal(r[2].status, POSTIE_OK);
        assert_int_equal(postie_smtp_data_begin(&S), POSTIE_OK); /* 354 already in */
        assert_int_equal(F.send_calls, calls + 1);
        for (i = 0; i < sizeof body; i++) {
            assert_int_equal(postie_smtp_data_write(&S, body + i, 1), POSTIE_OK);
        }
        assert_int_equal(F.send_calls, calls + 1); /* buffered, not one send per line */
        assert_int_equal(postie_smtp_data_end(&S), POSTIE_OK);
        assert_int_equal(F.send_calls, calls + 2);
        assert_int_equal(postie_smtp_quit(&S), POSTIE_OK);
        fake_assert_script_sent(&F);
    }
}

static void test_pipelining_abort_policy(void **state)
{
    size_t chunk;
    (void)state;
    EVERY_CHUNK(chunk) {
        postie_smtp_envelope env;
        postie_smtp_rcpt r[3];
        size_t calls;
        begin(chunk);
        hello(EHLO_PIPE_EXTS);
        fake_step_add(&F, MAIL3, R3_ONE_REFUSED); /* no DATA pipelined with ABORT */
        fake_step_add(&F, "RSET\r\n", "250 2.0.0 Ok\r\n");
        fake_step_add(&F, "NOOP\r\n", "250 2.0.0 Ok\r\n");
        open_ok();
        rcpts3(&env, r, POSTIE_SMTP_REFUSED_ABORT);
        calls = F.send_calls;
        assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_ERR_RECIPIENTS);
        assert_int_equal(F.send_calls, calls + 2); /* batch, RSET */
        assert_int_equal(postie_smtp_reply_code(&S), 550); /* the refusal, not RSET's 250 */
        assert_string_equal(postie_smtp_reply_text(&S),
                            "<nobody@example.net>: Recipient address rejected");
        assert_int_equal(env.accepted, 2);
        assert_int_equal(r[1].status, POSTIE_ERR_SERVER);
        assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_READY);
        assert_int_equal(postie_smtp_noop(&S), POSTIE_OK);
        fake_assert_script_sent(&F);
    }
}

static void test_refused_no_pipelining(void **state)
{
    size_t chunk;
    (void)state;
    EVERY_CHUNK(chunk) {
        postie_smtp_envelope env;
        postie_smtp_rcpt r[3];
        /* CONTINUE: the message goes to the two accepted recipients */
        begin(chunk);
        hello(EHLO_PLAIN_EXTS);
        fake_step_add(&F, "MAIL FROM:<tim@example.org> SIZE=4\r\n", "250 2.1.0 Ok\r\n");
        fake_step_add(&F, "RCPT TO:<ann@example.net>\r\n", "250 2.1.5 Ok\r\n");
        fake_step_add(&F, "RCPT TO:<nobody@example.net>\r\n", "450 4.2.0 <nobody@example.net>: greylisted\r\n");
        fake_step_add(&F, "RCPT TO:<cat@example.net>\r\n", "250 2.1.5 Ok\r\n");
        fake_step_add(&F, "DATA\r\n", "354 go\r\n");
        fake_step_add(&F, "hi\r\n.\r\n", "250 2.0.0 Ok\r\n");
        open_ok();
        rcpts3(&env, r, POSTIE_SMTP_REFUSED_CONTINUE);
        assert_int_equal(postie_smtp_send_buf(&S, &env, "hi", 2), POSTIE_OK);
        assert_int_equal(r[1].status, POSTIE_ERR_TRANSIENT);
        assert_int_equal(r[1].code, 450);
        assert_string_equal(r[1].enhanced, "4.2.0");
        assert_int_equal(env.accepted, 2);
        assert_int_equal(postie_smtp_messages_sent(&S), 1);
        fake_assert_script_sent(&F);
        /* ABORT: every RCPT is still tried (full results), then RSET */
        begin(chunk);
        hello(EHLO_PLAIN_EXTS);
        fake_step_add(&F, "MAIL FROM:<tim@example.org> SIZE=4\r\n", "250 2.1.0 Ok\r\n");
        fake_step_add(&F, "RCPT TO:<ann@example.net>\r\n", "250 2.1.5 Ok\r\n");
        fake_step_add(&F, "RCPT TO:<nobody@example.net>\r\n", "550 5.1.1 unknown\r\n");
        fake_step_add(&F, "RCPT TO:<cat@example.net>\r\n", "250 2.1.5 Ok\r\n");
        fake_step_add(&F, "RSET\r\n", "250 2.0.0 Ok\r\n");
        open_ok();
        rcpts3(&env, r, POSTIE_SMTP_REFUSED_ABORT);
        assert_int_equal(postie_smtp_send_buf(&S, &env, "hi", 2), POSTIE_ERR_RECIPIENTS);
        assert_int_equal(postie_smtp_messages_sent(&S), 0);
        assert_int_equal(r[2].status, POSTIE_OK);
        assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_READY);
        fake_assert_script_sent(&F);
    }
}

static void test_all_refused_pipelined(void **state)
{
    size_t chunk;
    (void)state;
    EVERY_CHUNK(chunk) {
        postie_smtp_envelope env;
        postie_smtp_rcpt r[3];
        begin(chunk);
        hello(EHLO_PIPE_EXTS);
        fake_step_add(&F, MAIL3 "DATA\r\n",
                      "250 2.1.0 Ok\r\n550 5.1.1 a\r\n550 5.1.1 b\r\n550 5.1.1 c\r\n"
                      "554 5.5.1 Error: no valid recipients\r\n");
        fake_step_add(&F, "RSET\r\n", "250 2.0.0 Ok\r\n");
        open_ok();
        rcpts3(&env, r, POSTIE_SMTP_REFUSED_CONTINUE);
        assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_ERR_RECIPIENTS);
        assert_int_equal(env.accepted, 0);
        assert_int_equal(postie_smtp_reply_code(&S), 554);
        assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_READY);
        fake_assert_script_sent(&F);
        /* MAIL refused under PIPELINING: the RCPT/DATA replies are still read */
        begin(chunk);
        hello(EHLO_PIPE_EXTS);
        fake_step_add(&F, MAIL3 "DATA\r\n",
                      "553 5.7.1 <tim@example.org>: Sender address rejected\r\n"
                      "503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n"
                      "503 5.5.1 need RCPT\r\n");
        fake_step_add(&F, "NOOP\r\n", "250 Ok\r\n");
        open_ok();
        rcpts3(&env, r, POSTIE_SMTP_REFUSED_CONTINUE);
        assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_ERR_SERVER);
        assert_int_equal(postie_smtp_reply_code(&S), 553);
        assert_int_equal(postie_smtp_noop(&S), POSTIE_OK); /* replies stayed in step */
        fake_assert_script_sent(&F);
    }
}

/* Enough recipients that their RCPTs exceed one command buffer (36 octets
 * each: "RCPT TO:<recipient000@example.net>" and CRLF) and one pipeline
 * ring, whatever the configuration. */
#define NR_BY_CMD ((POSTIE_CMD_MAX / 36) + 2)
#define NR_BY_RING (POSTIE_PIPELINE_MAX + 2)
#define NR_MAX2(a, b) ((a) > (b) ? (a) : (b))
#define NR NR_MAX2(NR_MAX2(NR_BY_CMD, NR_BY_RING), 100)
static void test_pipelining_batches(void **state)
{
    /* NR recipients do not fit in one POSTIE_CMD_MAX write (nor in one ring
     * of POSTIE_PIPELINE_MAX): the commands go
     * in full batches (greedy packing), each batch's replies are read before
     * the next batch is sent, and replies are matched in order. The script
     * gives each batch's replies only once the whole batch was sent, so a
     * client that waited for replies in the middle of a batch, or sent the
     * next batch early, would fail. */
    static char addrs[NR][40];
    static char cmd[NR + 2][64], rep[NR + 2][32];
    static char bcmd[NR + 2][POSTIE_CMD_MAX], brep[NR + 2][(NR + 2) * 32];
    size_t chunk, i;
    (void)state;
    for (chunk = 0; chunk <= 16; chunk += 8) {
        postie_smtp_envelope env;
        static postie_smtp_rcpt r[NR];
        size_t nb = 0, blen = 0, rlen = 0, refused = 0, calls, ncmd = NR + 2, inb = 0;
        memset(r, 0, sizeof r);
        sprintf(cmd[0], "MAIL FROM:<tim@example.org>\r\n");
        sprintf(rep[0], "250 2.1.0 Ok\r\n");
        for (i = 0; i < NR; i++) {
            sprintf(addrs[i], "recipient%03zu@example.net", i);
            r[i].addr = addrs[i];
            sprintf(cmd[i + 1], "RCPT TO:<%s>\r\n", addrs[i]);
            sprintf(rep[i + 1], i % 7 == 3 ? "550 5.1.1 no\r\n" : "250 2.1.5 Ok\r\n");
            refused += i % 7 == 3;
        }
        sprintf(cmd[NR + 1], "DATA\r\n");
        sprintf(rep[NR + 1], "354 go\r\n");
        begin(chunk);
        hello(EHLO_PIPE_EXTS);
        for (i = 0; i < ncmd; i++) {
            size_t cl = strlen(cmd[i]);
            /* a flight ends when the output queue or the ring of commands
             * awaiting a reply (POSTIE_PIPELINE_MAX) is full */
            if (blen + cl > POSTIE_CMD_MAX || inb == POSTIE_PIPELINE_MAX) {
                fake_step_addn(&F, bcmd[nb], blen, brep[nb], rlen);
                nb++;
                blen = rlen = 0;
                inb = 0;
            }
            inb++;
            memcpy(bcmd[nb] + blen, cmd[i], cl);
            blen += cl;
            memcpy(brep[nb] + rlen, rep[i], strlen(rep[i]));
            rlen += strlen(rep[i]);
        }
        fake_step_addn(&F, bcmd[nb], blen, brep[nb], rlen);
        nb++;
        assert_true(nb >= 2);
        fake_step_add(&F, "x\r\n.\r\n", "250 Ok\r\n");
        open_ok();
        memset(&env, 0, sizeof env);
        env.from = "tim@example.org";
        env.rcpts = r;
        env.nrcpts = NR;
        env.on_refused = POSTIE_SMTP_REFUSED_CONTINUE;
        calls = F.send_calls;
        assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_OK);
        assert_int_equal(F.send_calls - calls, nb); /* one write per batch */
        assert_int_equal(env.accepted, NR - refused);
        for (i = 0; i < NR; i++) {
            assert_int_equal(r[i].code, i % 7 == 3 ? 550 : 250);
            assert_string_equal(r[i].enhanced, i % 7 == 3 ? "5.1.1" : "2.1.5");
        }
        assert_int_equal(postie_smtp_data_begin(&S), POSTIE_OK);
        assert_int_equal(postie_smtp_data_write(&S, "x", 1), POSTIE_OK);
        assert_int_equal(postie_smtp_data_end(&S), POSTIE_OK);
        fake_assert_script_sent(&F);
    }
}

#undef NR
#undef NR_BY_CMD
#undef NR_BY_RING
#undef NR_MAX2

static void test_size_limits(void **state)
{
    size_t chunk;
    (void)state;
    EVERY_CHUNK(chunk) {
        postie_smtp_envelope env;
        postie_smtp_rcpt r;
        begin(chunk);
        hello(EHLO_PLAIN_EXTS); /* SIZE 1000 */
        fake_step_add(&F, "MAIL FROM:<a@example.org> SIZE=500\r\n",
                      "552 5.3.4 Message size exceeds fixed limit\r\n");
        fake_step_add(&F, "MAIL FROM:<a@example.org> SIZE=500\r\n",
                      "452 4.3.1 Insufficient system storage\r\n");
        fake_step_add(&F, "MAIL FROM:<a@example.org> SIZE=6\r\n", "250 2.1.0 Ok\r\n");
        fake_step_add(&F, "RCPT TO:<b@example.org>\r\n", "250 2.1.5 Ok\r\n");
        fake_step_add(&F, "DATA\r\n", "354 go\r\n");
        fake_step_add(&F, "body\r\n.\r\n", "552 5.3.4 Message too big\r\n");
        fake_step_add(&F, "MAIL FROM:<a@example.org> SIZE=6\r\n", "250 2.1.0 Ok\r\n");
        fake_step_add(&F, "RCPT TO:<b@example.org>\r\n", "250 2.1.5 Ok\r\n");
        fake_step_add(&F, "DATA\r\n", "354 go\r\n");
        fake_step_add(&F, "body\r\n.\r\n", "452 4.3.1 Insufficient system storage\r\n");
        open_ok();
        one_rcpt(&env, &r, "a@example.org", "b@example.org");
        env.size = 1001; /* over the limit: nothing sent */
        {
            size_t before = F.sent_len;
            r.status = POSTIE_OK; /* as a zeroed struct has it */
            r.code = 250;
            env.accepted = 1;
            assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_ERR_TOO_BIG);
            assert_int_equal(F.sent_len, before);
            /* nothing was sent: the recipient reads as not answered */
            assert_int_equal(r.status, POSTIE_ERR_STATE);
            assert_int_equal(r.code, 0);
            assert_int_equal(env.accepted, 0);
        }
        env.size = 500;
        assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_ERR_TOO_BIG);
        assert_int_equal(postie_smtp_reply_code(&S), 552);
        assert_string_equal(postie_smtp_reply_enhanced(&S), "5.3.4");
        assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_ERR_TRANSIENT);
        assert_int_equal(postie_smtp_reply_code(&S), 452);
        env.size = 0;
        assert_int_equal(postie_smtp_send_buf(&S, &env, "body", 4), POSTIE_ERR_TOO_BIG);
        assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_READY);
        env.size = 0;
        assert_int_equal(postie_smtp_send_buf(&S, &env, "body", 4), POSTIE_ERR_TRANSIENT);
        assert_int_equal(postie_smtp_messages_sent(&S), 0);
        fake_assert_script_sent(&F);
    }
}

static void test_sent_then_dropped(void **state)
{
    size_t chunk;
    (void)state;
    EVERY_CHUNK(chunk) {
        postie_smtp_envelope env;
        postie_smtp_rcpt r;
        begin(chunk);
        hello(EHLO_PLAIN_EXTS);
        fake_step_add(&F, "MAIL FROM:<a@example.org> SIZE=7\r\n", "250 2.1.0 Ok\r\n");
        fake_step_add(&F, "RCPT TO:<b@example.org>\r\n", "250 2.1.5 Ok\r\n");
        fake_step_add(&F, "DATA\r\n", "354 go\r\n");
        fake_step_add(&F, "hello\r\n.\r\n", "250 2.0.0 Ok: queued as ABC\r\n");
        fake_step_add(&F, "QUIT\r\n", ""); /* connection dropped, no 221 */
        open_ok();
        one_rcpt(&env, &r, "a@example.org", "b@example.org");
        assert_int_equal(postie_smtp_send_buf(&S, &env, "hello", 5), POSTIE_OK);
        assert_int_equal(postie_smtp_messages_sent(&S), 1);
        assert_int_equal(postie_smtp_quit(&S), POSTIE_ERR_CLOSED);
        assert_int_equal(postie_smtp_messages_sent(&S), 1); /* still sent */
        assert_int_equal(F.closed, 1);
        fake_assert_script_sent(&F);
    }
}

/* Only 250 to the final dot means sent; anything else is not. */
static void test_dot_reply_not_250(void **state)
{
    static const char *replies[] = {"354 again?\r\n", "251 odd\r\n", "220 hm\r\n"};
    size_t chunk, i;
    (void)state;
    for (i = 0; i < sizeof replies / sizeof replies[0]; i++) {
        EVERY_CHUNK(chunk) {
            postie_smtp_envelope env;
            postie_smtp_rcpt r;
            begin(chunk);
            hello(EHLO_PIPE_EXTS);
            fake_step_add(&F, "MAIL FROM:<a@example.org> SIZE=3\r\nRCPT TO:<b@example.org>\r\n",
                          "250 Ok\r\n250 Ok\r\n");
            fake_step_add(&F, "DATA\r\n", "354 go\r\n");
            fake_step_add(&F, "x\r\n.\r\n", replies[i]);
            open_ok();
            one_rcpt(&env, &r, "a@example.org", "b@example.org");
            assert_int_equal(postie_smtp_send_buf(&S, &env, "x", 1), POSTIE_ERR_PROTOCOL);
            assert_int_equal(postie_smtp_messages_sent(&S), 0);
            assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_CLOSED);
            fake_assert_script_sent(&F);
        }
    }
}

/* send_buf's SIZE= is the RFC 1870 size: CRLF line ends, no stuffing. */
static void test_send_buf_size(void **state)
{
    static const struct {
        const char *msg;
        const char *mail;
    } cases[] = {
        {"", "MAIL FROM:<a@example.org>\r\n"},               /* 0: no SIZE= */
        {"a", "MAIL FROM:<a@example.org> SIZE=3\r\n"},
        {"a\r\n", "MAIL FROM:<a@example.org> SIZE=3\r\n"},
        {"a\n", "MAIL FROM:<a@example.org> SIZE=3\r\n"},
        {"a\r", "MAIL FROM:<a@example.org> SIZE=3\r\n"},
        {"a\n\rb", "MAIL FROM:<a@example.org> SIZE=8\r\n"},
        {".\r\n..", "MAIL FROM:<a@example.org> SIZE=7\r\n"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        postie_smtp_envelope env;
        postie_smtp_rcpt r;
        begin(0);
        hello(EHLO_PLAIN_EXTS);
        fake_step_add(&F, cases[i].mail, "250 Ok\r\n");
        fake_step_add(&F, "RCPT TO:<b@example.org>\r\n", "550 no\r\n");
        fake_step_add(&F, "RSET\r\n", "250 Ok\r\n");
        open_ok();
        one_rcpt(&env, &r, "a@example.org", "b@example.org");
        assert_int_equal(postie_smtp_send_buf(&S, &env, cases[i].msg, strlen(cases[i].msg)),
                         POSTIE_ERR_RECIPIENTS);
        fake_assert_script_sent(&F);
    }
}

static void test_params_rejected(void **state)
{
    static const char *bad[] = {"a@b\r\nRCPT TO:<evil@x>", "a@b\n", "a@b\r", "a@b>", "<a@b",
                                "a\x01@b", ""};
    size_t i;
    (void)state;
    begin(0);
    hello(EHLO_PIPE_EXTS);
    open_ok();
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        postie_smtp_envelope env;
        postie_smtp_rcpt r;
        size_t before = F.sent_len;
        one_rcpt(&env, &r, "ok@example.org", bad[i]);
        assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_ERR_PARAM);
        if (bad[i][0] != '\0') {
            one_rcpt(&env, &r, bad[i], "ok@example.org");
            assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_ERR_PARAM);
            one_rcpt(&env, &r, "ok@example.org", "ok@example.org");
            env.mail_params = bad[i];
            assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_ERR_PARAM);
            one_rcpt(&env, &r, "ok@example.org", "ok@example.org");
            r.params = bad[i];
            assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_ERR_PARAM);
        }
        assert_int_equal(F.sent_len, before);
    }
    {
        postie_smtp_envelope env;
        postie_smtp_rcpt r;
        static char longaddr[POSTIE_CMD_MAX + 10];
        memset(longaddr, 'x', sizeof longaddr - 1);
        one_rcpt(&env, &r, "ok@example.org", longaddr);
        assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_ERR_PARAM);
        one_rcpt(&env, &r, "ok@example.org", "ok@example.org");
        env.nrcpts = 0;
        assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_ERR_PARAM);
        assert_int_equal(postie_smtp_mail(&S, NULL), POSTIE_ERR_PARAM);
        /* wrong state: nothing sent either */
        assert_int_equal(postie_smtp_data_begin(&S), POSTIE_ERR_STATE);
        assert_int_equal(postie_smtp_data_write(&S, "x", 1), POSTIE_ERR_STATE);
        assert_int_equal(postie_smtp_data_end(&S), POSTIE_ERR_STATE);
    }
    fake_assert_script_sent(&F);
}

static void test_utf8_and_8bit(void **state)
{
    size_t chunk;
    (void)state;
    EVERY_CHUNK(chunk) {
        postie_smtp_envelope env;
        postie_smtp_rcpt r;
        /* no SMTPUTF8 at the server: a non-ASCII address is refused locally */
        begin(chunk);
        hello(EHLO_PLAIN_EXTS);
        fake_step_add(&F, "MAIL FROM:<a@example.org> SIZE=10 BODY=8BITMIME\r\n", "250 Ok\r\n");
        fake_step_add(&F, "RCPT TO:<b@example.org>\r\n", "250 Ok\r\n");
        fake_step_add(&F, "DATA\r\n", "354 go\r\n");
        fake_step_add(&F, "caf\xc3\xa9\r\n..\r\n.\r\n", "250 Ok\r\n");
        open_ok();
        one_rcpt(&env, &r, "a@example.org", "j\xc3\xb6rg@example.org");
        assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_ERR_UNSUPPORTED);
        one_rcpt(&env, &r, "a@example.org", "b@example.org");
        assert_int_equal(postie_smtp_send_buf(&S, &env, "caf\xc3\xa9\n.", 7), POSTIE_OK);
        assert_true(env.flags & POSTIE_SMTP_MSG_8BIT);
        fake_assert_script_sent(&F);
        /* with SMTPUTF8 (and no SIZE given) */
        begin(chunk);
        hello(EHLO_PIPE_EXTS);
        fake_step_add(&F, "MAIL FROM:<a@example.org> SMTPUTF8\r\nRCPT TO:<j\xc3\xb6rg@example.org>\r\n",
                      "250 Ok\r\n250 Ok\r\n");
        open_ok();
        one_rcpt(&env, &r, "a@example.org", "j\xc3\xb6rg@example.org");
        assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_OK);
        fake_assert_script_sent(&F);
    }
}

static void test_many_messages(void **state)
{
    size_t chunk;
    int m;
    (void)state;
    EVERY_CHUNK(chunk) {
        postie_smtp_envelope env;
        postie_smtp_rcpt r;
        begin(chunk);
        hello(EHLO_PLAIN_EXTS);
        for (m = 0; m < 3; m++) {
            fake_step_add(&F, "MAIL FROM:<a@example.org> SIZE=5\r\n", "250 Ok\r\n");
            fake_step_add(&F, "RCPT TO:<b@example.org>\r\n", "250 Ok\r\n");
            fake_step_add(&F, "DATA\r\n", "354 go\r\n");
            fake_step_add(&F, "m\r\n\r\n.\r\n", "250 Ok\r\n");
        }
        fake_step_add(&F, "RSET\r\n", "250 Ok\r\n");
        fake_step_add(&F, "NOOP\r\n", "250 Ok\r\n");
        fake_step_add(&F, "QUIT\r\n", "221 Bye\r\n");
        open_ok();
        for (m = 0; m < 3; m++) {
            one_rcpt(&env, &r, "a@example.org", "b@example.org");
            assert_int_equal(postie_smtp_send_buf(&S, &env, "m\n\n", 3), POSTIE_OK);
        }
        assert_int_equal(postie_smtp_messages_sent(&S), 3);
        assert_int_equal(postie_smtp_rset(&S), POSTIE_OK);
        assert_int_equal(postie_smtp_noop(&S), POSTIE_OK);
        assert_int_equal(postie_smtp_quit(&S), POSTIE_OK);
        fake_assert_script_sent(&F);
    }
}

/* ---- DATA: smuggling and buffering ---------------------------------- */

static void test_smuggling_transcript(void **state)
{
    static const char *content[] = {"A\n.\nB", "C\r.\rD", "E\r\n.\r\nF", ".\r\n", "G\r\n",
                                    ".", "\r\n.\r", "\n", ".\r\nMAIL FROM:<evil@x>\r\n"};
    static char in[256];
    /* ".\r\n" right after "F" is mid-line: not doubled; the lone "\n" after
     * "\r" completes that CRLF and adds nothing */
    const char *wire = "A\r\n..\r\nB" "C\r\n..\r\nD" "E\r\n..\r\nF" ".\r\n" "G\r\n"
                       ".." "\r\n..\r\n" "" "..\r\nMAIL FROM:<evil@x>\r\n" ".\r\n";
    size_t n = 0, i, chunk;
    (void)state;
    /* fed as the listed pieces (dangerous bytes at piece starts)... */
    begin(0);
    hello(EHLO_PLAIN_EXTS);
    fake_step_add(&F, "MAIL FROM:<a@example.org>\r\n", "250 Ok\r\n");
    fake_step_add(&F, "RCPT TO:<b@example.org>\r\n", "250 Ok\r\n");
    fake_step_add(&F, "DATA\r\n", "354 go\r\n");
    fake_step_add(&F, wire, "250 Ok\r\n");
    open_ok();
    {
        postie_smtp_envelope env;
        postie_smtp_rcpt r;
        one_rcpt(&env, &r, "a@example.org", "b@example.org");
        assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_OK);
        assert_int_equal(postie_smtp_data_begin(&S), POSTIE_OK);
        for (i = 0; i < sizeof content / sizeof content[0]; i++) {
            assert_int_equal(postie_smtp_data_write(&S, content[i], strlen(content[i])), POSTIE_OK);
            memcpy(in + n, content[i], strlen(content[i]));
            n += strlen(content[i]);
        }
        assert_int_equal(postie_smtp_data_end(&S), POSTIE_OK);
    }
    fake_assert_script_sent(&F);
    /* ...and at every input chunk size */
    for (chunk = 1; chunk <= n; chunk++) {
        postie_smtp_envelope env;
        postie_smtp_rcpt r;
        begin(chunk % 7);
        hello(EHLO_PLAIN_EXTS);
        fake_step_add(&F, "MAIL FROM:<a@example.org>\r\n", "250 Ok\r\n");
        fake_step_add(&F, "RCPT TO:<b@example.org>\r\n", "250 Ok\r\n");
        fake_step_add(&F, "DATA\r\n", "354 go\r\n");
        fake_step_add(&F, wire, "250 Ok\r\n");
        open_ok();
        one_rcpt(&env, &r, "a@example.org", "b@example.org");
        assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_OK);
        assert_int_equal(postie_smtp_data_begin(&S), POSTIE_OK);
        for (i = 0; i < n; i += chunk) {
            assert_int_equal(postie_smtp_data_write(&S, in + i, n - i < chunk ? n - i : chunk),
                             POSTIE_OK);
        }
        assert_int_equal(postie_smtp_data_end(&S), POSTIE_OK);
        fake_assert_script_sent(&F);
    }
}

static void test_data_buffering_large(void **state)
{
    static char body[20000], wire[40100];
    size_t i, o = 0, calls;
    postie_smtp_envelope env;
    postie_smtp_rcpt r;
    (void)state;
    for (i = 0; i < sizeof body; i++) {
        body[i] = (i % 70 == 0) ? '.' : (i % 70 == 69) ? '\n' : 'x';
    }
    for (i = 0; i < sizeof body; i++) {
        if (body[i] == '\n') {
            wire[o++] = '\r';
        }
        if (body[i] == '.' && (i == 0 || body[i - 1] == '\n')) {
            wire[o++] = '.';
        }
        wire[o++] = body[i];
    }
    memcpy(wire + o, "\r\n.\r\n", 5);
    o += 5;
    begin(0);
    hello(EHLO_PLAIN_EXTS);
    fake_step_add(&F, "MAIL FROM:<a@example.org>\r\n", "250 Ok\r\n");
    fake_step_add(&F, "RCPT TO:<b@example.org>\r\n", "250 Ok\r\n");
    fake_step_add(&F, "DATA\r\n", "354 go\r\n");
    fake_step_addn(&F, wire, o, "250 Ok\r\n", 8);
    open_ok();
    one_rcpt(&env, &r, "a@example.org", "b@example.org");
    assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_OK);
    assert_int_equal(postie_smtp_data_begin(&S), POSTIE_OK);
    calls = F.send_calls;
    for (i = 0; i < sizeof body; i++) {
        assert_int_equal(postie_smtp_data_write(&S, body + i, 1), POSTIE_OK);
    }
    assert_int_equal(postie_smtp_data_end(&S), POSTIE_OK);
    /* full buffers only: ceil(o / POSTIE_CMD_MAX) writes, at most one more */
    assert_true(F.send_calls - calls <= o / POSTIE_CMD_MAX + 2);
    fake_assert_script_sent(&F);
}

/* ---- reader callback ------------------------------------------------- */

typedef struct src {
    const char *p;
    size_t left, step;
    int fail_after; /* fail on this call (0 = never) */
    int calls;
} src;

static postie_status src_read(void *user, char *buf, size_t cap, size_t *n)
{
    src *s = user;
    size_t k = s->left < s->step ? s->left : s->step;
    s->calls++;
    if (s->fail_after && s->calls == s->fail_after) {
        *n = 0;
        return POSTIE_ERR_IO;
    }
    if (k > cap) {
        k = cap;
    }
    memcpy(buf, s->p, k);
    s->p += k;
    s->left -= k;
    *n = k;
    return s->left == 0 ? POSTIE_DONE : POSTIE_OK;
}

static void test_send_reader(void **state)
{
    size_t step;
    (void)state;
    for (step = 1; step <= 12; step++) {
        postie_smtp_envelope env;
        postie_smtp_rcpt r;
        src s = {"Subject: x\n\n.hidden\n", 20, 0, 0, 0};
        s.step = step;
        begin(step % 5);
        hello(EHLO_PLAIN_EXTS);
        fake_step_add(&F, "MAIL FROM:<a@example.org>\r\n", "250 Ok\r\n");
        fake_step_add(&F, "RCPT TO:<b@example.org>\r\n", "250 Ok\r\n");
        fake_step_add(&F, "DATA\r\n", "354 go\r\n");
        fake_step_add(&F, "Subject: x\r\n\r\n..hidden\r\n.\r\n", "250 Ok\r\n");
        open_ok();
        one_rcpt(&env, &r, "a@example.org", "b@example.org");
        assert_int_equal(postie_smtp_send(&S, &env, src_read, &s), POSTIE_OK);
        fake_assert_script_sent(&F);
    }
    {
        /* the reader fails mid-message: connection dropped, no final dot */
        postie_smtp_envelope env;
        postie_smtp_rcpt r;
        src s = {"0123456789", 10, 3, 2, 0};
        begin(0);
        hello(EHLO_PLAIN_EXTS);
        fake_step_add(&F, "MAIL FROM:<a@example.org>\r\n", "250 Ok\r\n");
        fake_step_add(&F, "RCPT TO:<b@example.org>\r\n", "250 Ok\r\n");
        fake_step_add(&F, "DATA\r\n", "354 go\r\n");
        open_ok();
        one_rcpt(&env, &r, "a@example.org", "b@example.org");
        assert_int_equal(postie_smtp_send(&S, &env, src_read, &s), POSTIE_ERR_IO);
        assert_int_equal(F.closed, 1);
        assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_CLOSED);
        fake_assert_script_sent(&F); /* "012" buffered, never sent, no "." */
    }
}

/* ---- STARTTLS ------------------------------------------------------ */

static void test_starttls(void **state)
{
    size_t chunk;
    (void)state;
    EVERY_CHUNK(chunk) {
        begin(chunk);
        F.tls_supported = 1;
        hello("250-mx.example.org\r\n250 STARTTLS\r\n");
        fake_step_add(&F, "STARTTLS\r\n", "220 2.0.0 Ready to start TLS\r\n");
        fake_step_add(&F, EHLO, "250-mx.example.org\r\n250 AUTH PLAIN\r\n");
        open_ok();
        assert_int_equal(postie_smtp_starttls(&S, NULL), POSTIE_ERR_PARAM);
        assert_int_equal(postie_smtp_starttls(&S, "mx.example.org\r\nQUIT"), POSTIE_ERR_PARAM);
        assert_int_equal(postie_smtp_starttls(&S, ""), POSTIE_ERR_PARAM);
        assert_int_equal(postie_smtp_starttls(&S, "mx.example.org"), POSTIE_OK);
        assert_string_equal(F.tls_name, "mx.example.org");
        assert_false(postie_smtp_has(&S, POSTIE_SMTP_EXT_STARTTLS));
        assert_true(postie_smtp_has(&S, POSTIE_SMTP_EXT_AUTH));
        fake_assert_script_sent(&F);
        /* not offered / no TLS in the transport: nothing sent */
        begin(chunk);
        hello("250-mx.example.org\r\n250 STARTTLS\r\n");
        open_ok(); /* tls_supported 0: start_tls NULL */
        assert_int_equal(postie_smtp_starttls(&S, "mx"), POSTIE_ERR_UNSUPPORTED);
        fake_assert_script_sent(&F);
    }
#if POSTIE_RECV_BUF_SIZE >= 32
    /* bytes after the 220, before the handshake, already received with it:
     * injection, refused (bytes not yet read stay in the transport, where
     * the TLS handshake itself fails on them) */
    begin(0);
    F.tls_supported = 1;
    hello("250-mx.example.org\r\n250 STARTTLS\r\n");
    fake_step_add(&F, "STARTTLS\r\n", "220 Ready\r\n250-injected\r\n");
    open_ok();
    assert_int_equal(postie_smtp_starttls(&S, "mx"), POSTIE_ERR_PROTOCOL);
    assert_null(F.tls_name);
    assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_CLOSED);
#endif
}

/* ---- the timeout reaches every transport call --------------------------- */

static postie_transport inner;
static unsigned bad_timeouts, timed_calls;

static long spy_send(void *ctx, const void *buf, size_t len, unsigned timeout_ms)
{
    timed_calls++;
    bad_timeouts += timeout_ms != 4321u;
    return inner.send(ctx, buf, len, timeout_ms);
}

static long spy_recv(void *ctx, void *buf, size_t len, unsigned timeout_ms)
{
    timed_calls++;
    bad_timeouts += timeout_ms != 4321u;
    return inner.recv(ctx, buf, len, timeout_ms);
}

static void test_timeout_reaches_transport(void **state)
{
    postie_transport spy;
    postie_smtp_envelope env;
    postie_smtp_rcpt r;
    (void)state;
    begin(3);
    hello(EHLO_PIPE_EXTS);
    fake_step_add(&F, "MAIL FROM:<a@example.org> SIZE=3\r\nRCPT TO:<b@example.org>\r\n",
                  "250 Ok\r\n250 Ok\r\n");
    fake_step_add(&F, "DATA\r\n", "354 go\r\n");
    fake_step_add(&F, "x\r\n.\r\n", "250 Ok\r\n");
    fake_step_add(&F, "QUIT\r\n", "221 Bye\r\n");
    fake_bind(&F, &inner);
    spy = inner;
    spy.send = spy_send;
    spy.recv = spy_recv;
    bad_timeouts = timed_calls = 0;
    assert_int_equal(postie_smtp_init(&S, &spy), POSTIE_OK);
    plain_session(&S);
    assert_int_equal(postie_smtp_set_domain(&S, "client.example"), POSTIE_OK);
    postie_smtp_set_timeout(&S, 4321u);
    assert_int_equal(postie_smtp_open(&S), POSTIE_OK);
    one_rcpt(&env, &r, "a@example.org", "b@example.org");
    assert_int_equal(postie_smtp_send_buf(&S, &env, "x", 1), POSTIE_OK);
    assert_int_equal(postie_smtp_quit(&S), POSTIE_OK);
    assert_true(timed_calls > 10);
    assert_int_equal(bad_timeouts, 0);
    fake_assert_script_sent(&F);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_basic),
        cmocka_unit_test(test_size_64bit),
        cmocka_unit_test(test_helo_fallback),
        cmocka_unit_test(test_ehlo_and_helo_refused),
        cmocka_unit_test(test_address_literal),
        cmocka_unit_test(test_four_digit_code),
        cmocka_unit_test(test_421_mid_session),
        cmocka_unit_test(test_stall_and_close),
        cmocka_unit_test(test_auth_login_no_text),
        cmocka_unit_test(test_auth_cram_md5),
        cmocka_unit_test(test_auth_cancels),
        cmocka_unit_test(test_auth_failures),
        cmocka_unit_test(test_auth_tokens),
        cmocka_unit_test(test_pipelining_one_write),
        cmocka_unit_test(test_pipelining_abort_policy),
        cmocka_unit_test(test_refused_no_pipelining),
        cmocka_unit_test(test_all_refused_pipelined),
        cmocka_unit_test(test_pipelining_batches),
        cmocka_unit_test(test_size_limits),
        cmocka_unit_test(test_sent_then_dropped),
        cmocka_unit_test(test_dot_reply_not_250),
        cmocka_unit_test(test_send_buf_size),
        cmocka_unit_test(test_params_rejected),
        cmocka_unit_test(test_utf8_and_8bit),
        cmocka_unit_test(test_many_messages),
        cmocka_unit_test(test_smuggling_transcript),
        cmocka_unit_test(test_data_buffering_large),
        cmocka_unit_test(test_send_reader),
        cmocka_unit_test(test_starttls),
        cmocka_unit_test(test_timeout_reaches_transport),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    fake_free(&F);
    return rc;
}
