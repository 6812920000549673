/* SMTP STARTTLS, the TLS policy, the plaintext-credentials rule and
 * SCRAM-SHA-256 (RFC 7677 example) on the fake transport. Every scenario is
 * replayed at every chunk size from 1 byte up to the length of the server's
 * script, and the client's bytes are compared with the script each time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fake_transport.h"
#include "postie/base64.h"
#include "postie/smtp.h"

static fake_transport F;
static postie_smtp S;
static size_t cur_chunk;

typedef void (*script_fn)(fake_transport *f);
typedef void (*run_fn)(postie_smtp *s);

#define ST(call, want) assert_int_equal((call), (want))

static void (*setup)(postie_smtp *s);
static int tls_available;

static void replay(script_fn script, run_fn run)
{
    size_t total, chunk;
    postie_transport tr;

    fake_init(&F, 0);
    script(&F);
    total = fake_reply_total(&F);
    fake_free(&F);
    for (chunk = 1; chunk <= total; chunk++) {
        cur_chunk = chunk;
        fake_init(&F, chunk);
        F.tls_supported = tls_available;
        F.tls_peek = 1;
        script(&F);
        fake_bind(&F, &tr);
        ST(postie_smtp_init(&S, &tr), POSTIE_OK);
        ST(postie_smtp_set_domain(&S, "client.example"), POSTIE_OK);
        if (setup != NULL) {
            setup(&S);
        }
        run(&S);
        fake_assert_script_sent(&F);
        fake_free(&F);
    }
}

static void set_required(postie_smtp *s)
{
    ST(postie_smtp_set_tls(s, POSTIE_TLS_REQUIRED, "mx.example.org"), POSTIE_OK);
}

static void set_opportunistic(postie_smtp *s)
{
    ST(postie_smtp_set_tls(s, POSTIE_TLS_OPPORTUNISTIC, "mx.example.org"), POSTIE_OK);
}

static void set_off(postie_smtp *s)
{
    ST(postie_smtp_set_tls(s, POSTIE_TLS_OFF, NULL), POSTIE_OK);
}

/* base64 of these 15 bytes is RFC 7677's client nonce */
static postie_status rfc7677_random(void *ctx, void *buf, size_t len)
{
    size_t n = 0;
    (void)ctx;
    assert_int_equal(len, 15);
    ST(postie_base64_decode("rOprNGfwEbeRWgbNEkqO", 20, buf, len, &n), POSTIE_OK);
    return POSTIE_OK;
}

#define GREET "220 mx.example.org ESMTP\r\n"
#define EHLO "EHLO client.example\r\n"
#define EHLO_PLAIN_TEXT                                                                     \
    "250-mx.example.org\r\n250-SIZE 1000\r\n250-AUTH PLAIN LOGIN\r\n250-PIPELINING\r\n" \
    "250 STARTTLS\r\n"
#define EHLO_TLS "250-mx.example.org\r\n250-AUTH SCRAM-SHA-256 PLAIN\r\n250 8BITMIME\r\n"

/* ---- STARTTLS through open() ---------------------------------------------- */

static void script_starttls(fake_transport *f)
{
    fake_step_add(f, "", GREET);
    fake_step_add(f, EHLO, EHLO_PLAIN_TEXT);
    fake_step_add(f, "STARTTLS\r\n", "220 2.0.0 Ready to start TLS\r\n");
    fake_step_add(f, EHLO, EHLO_TLS);
    fake_step_add(f, "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n", "235 2.7.0 ok\r\n");
}

static void run_starttls(postie_smtp *s)
{
    const postie_smtp_ext *e;
    ST(postie_smtp_open(s), POSTIE_OK);
    assert_int_equal(F.tls_calls, 1);
    assert_int_equal(F.tls_sent_len, strlen(EHLO "STARTTLS\r\n"));
    assert_string_equal(F.tls_name, "mx.example.org");
    assert_true(postie_smtp_tls_active(s));
    /* EHLO again, and only what it said over TLS is kept */
    e = postie_smtp_extensions(s);
    assert_int_equal(e->flags, POSTIE_SMTP_EXT_EHLO | POSTIE_SMTP_EXT_AUTH | POSTIE_SMTP_EXT_8BITMIME);
    assert_int_equal(e->auth, POSTIE_SASL_SCRAM_SHA256 | POSTIE_SASL_PLAIN);
    assert_int_equal(e->size_max, 0);
    ST(postie_smtp_starttls(s, "mx.example.org"), POSTIE_ERR_STATE); /* already TLS */
    /* no random source: SCRAM is skipped; PLAIN over TLS needs no allowance */
    ST(postie_smtp_auth(s, POSTIE_SASL_PASSWORD_MECHS, "tim", "tanstaaftanstaaf"), POSTIE_OK);
}

static void test_starttls_policy(void **state)
{
    (void)state;
    tls_available = 1;
    setup = set_required;
    replay(script_starttls, run_starttls);
    setup = set_opportunistic;
    replay(script_starttls, run_starttls);
}

/* Bytes after the 220: never start TLS over them, at any chunk size. */
#define GO "220 Go ahead\r\n"
static void script_injection(fake_transport *f)
{
    fake_step_add(f, "", GREET);
    fake_step_add(f, EHLO, EHLO_PLAIN_TEXT);
    fake_step_add(f, "STARTTLS\r\n", GO "250-injected\r\n250 AUTH PLAIN\r\n");
}

static void run_injection(postie_smtp *s)
{
    size_t go = strlen(GO);
    ST(postie_smtp_open(s), POSTIE_ERR_PROTOCOL);
    assert_int_equal(postie_smtp_get_state(s), POSTIE_SMTP_STATE_CLOSED);
    assert_false(postie_smtp_tls_active(s));
    if (cur_chunk > go || go % cur_chunk != 0) {
        assert_int_equal(F.tls_calls, 0); /* in the client's buffer: refused by it */
    } else {
        assert_int_equal(F.tls_calls, 1); /* still in the socket: the peek refuses */
    }
    ST(postie_smtp_auth(s, POSTIE_SASL_PLAIN, "u", "p"), POSTIE_ERR_STATE);
}

static void test_starttls_injection(void **state)
{
    (void)state;
    tls_available = 1;
    setup = set_required;
    replay(script_injection, run_injection);
}

/* ---- REQUIRED without STARTTLS -------------------------------------------- */

static void script_no_starttls(fake_transport *f)
{
    fake_step_add(f, "", GREET);
    fake_step_add(f, EHLO, "250-mx.example.org\r\n250 AUTH PLAIN LOGIN\r\n");
    fake_step_add(f, "QUIT\r\n", "221 bye\r\n");
}

static void script_helo_only(fake_transport *f)
{
    fake_step_add(f, "", GREET);
    fake_step_add(f, EHLO, "502 5.5.2 no\r\n");
    fake_step_add(f, "HELO client.example\r\n", "250 mx.example.org\r\n");
    fake_step_add(f, "QUIT\r\n", "221 bye\r\n");
}

static void script_starttls_refused(fake_transport *f)
{
    fake_step_add(f, "", GREET);
    fake_step_add(f, EHLO, EHLO_PLAIN_TEXT);
    fake_step_add(f, "STARTTLS\r\n", "454 4.7.0 TLS not available\r\n");
    fake_step_add(f, "QUIT\r\n", "221 bye\r\n");
}

static void script_offered_no_transport(fake_transport *f)
{
    fake_step_add(f, "", GREET);
    fake_step_add(f, EHLO, EHLO_PLAIN_TEXT);
    fake_step_add(f, "QUIT\r\n", "221 bye\r\n");
}

static void run_refused(postie_smtp *s)
{
    postie_smtp_envelope env;
    postie_smtp_rcpt r = {"a@example.org", NULL, 0, "", POSTIE_OK};
    memset(&env, 0, sizeof env);
    env.from = "me@example.org";
    env.rcpts = &r;
    env.nrcpts = 1;
    ST(postie_smtp_open(s), POSTIE_ERR_TLS_REQUIRED);
    assert_int_equal(postie_smtp_get_state(s), POSTIE_SMTP_STATE_CLOSED);
    assert_int_equal(F.tls_calls, 0);
    ST(postie_smtp_auth(s, POSTIE_SASL_PLAIN, "u", "p"), POSTIE_ERR_STATE);
    ST(postie_smtp_mail(s, &env), POSTIE_ERR_STATE);
}

static void run_starttls_refused(postie_smtp *s)
{
    ST(postie_smtp_open(s), POSTIE_ERR_TRANSIENT);
    assert_int_equal(postie_smtp_reply_code(s), 454);
    assert_int_equal(postie_smtp_get_state(s), POSTIE_SMTP_STATE_CLOSED);
    assert_int_equal(F.tls_calls, 0);
}

static void test_required_without_starttls(void **state)
{
    postie_transport tr;
    (void)state;
    setup = set_required;
    tls_available = 1;
    replay(script_no_starttls, run_refused);
    replay(script_helo_only, run_refused);
    replay(script_starttls_refused, run_starttls_refused);
    tls_available = 0; /* offered, but the transport has no TLS */
    replay(script_offered_no_transport, run_refused);

    /* REQUIRED (the default) needs a name to verify: nothing read or sent */
    fake_init(&F, 0);
    F.tls_supported = 1;
    script_starttls(&F);
    fake_bind(&F, &tr);
    ST(postie_smtp_init(&S, &tr), POSTIE_OK);
    ST(postie_smtp_open(&S), POSTIE_ERR_PARAM);
    assert_int_equal(F.recv_calls, 0);
    assert_int_equal(F.sent_len, 0);
    ST(postie_smtp_set_tls(&S, POSTIE_TLS_REQUIRED, NULL), POSTIE_ERR_PARAM);
    ST(postie_smtp_set_tls(&S, POSTIE_TLS_OPPORTUNISTIC, "a\r\nb"), POSTIE_ERR_PARAM);
    ST(postie_smtp_set_tls(&S, (postie_tls_policy)9, "mx"), POSTIE_ERR_PARAM);
    fake_free(&F);
}

/* OPPORTUNISTIC: a refused STARTTLS leaves a plain session. */
static void script_opportunistic_refused(fake_transport *f)
{
    fake_step_add(f, "", GREET);
    fake_step_add(f, EHLO, EHLO_PLAIN_TEXT);
    fake_step_add(f, "STARTTLS\r\n", "454 4.7.0 TLS not available\r\n");
}

static void run_opportunistic_refused(postie_smtp *s)
{
    ST(postie_smtp_open(s), POSTIE_OK);
    assert_int_equal(postie_smtp_get_state(s), POSTIE_SMTP_STATE_READY);
    assert_false(postie_smtp_tls_active(s));
    /* PLAIN and LOGIN are all it offers: refused in clear, nothing sent */
    ST(postie_smtp_auth(s, POSTIE_SASL_PASSWORD_MECHS, "tim", "x"), POSTIE_ERR_INSECURE);
    ST(postie_smtp_auth(s, POSTIE_SASL_LOGIN, "tim", "x"), POSTIE_ERR_INSECURE);
}

static void test_opportunistic(void **state)
{
    (void)state;
    tls_available = 1;
    setup = set_opportunistic;
    replay(script_opportunistic_refused, run_opportunistic_refused);
}

/* ---- credentials on a plain connection ------------------------------------ */

static void script_plain_auth(fake_transport *f)
{
    fake_step_add(f, "", GREET);
    fake_step_add(f, EHLO, "250-mx.example.org\r\n250 AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2 OAUTHBEARER\r\n");
    /* CRAM-MD5 is fine in clear (RFC 2195's example) */
    fake_step_add(f, "AUTH CRAM-MD5\r\n",
                  "334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n");
    fake_step_add(f, "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n", "235 2.7.0 ok\r\n");
}

static void run_plain_auth(postie_smtp *s)
{
    ST(postie_smtp_open(s), POSTIE_OK);
    ST(postie_smtp_auth(s, POSTIE_SASL_PLAIN, "tim", "tanstaaftanstaaf"), POSTIE_ERR_INSECURE);
    ST(postie_smtp_auth(s, POSTIE_SASL_TOKEN_MECHS, "tim", "token"), POSTIE_ERR_INSECURE);
    ST(postie_smtp_auth(s, POSTIE_SASL_PASSWORD_MECHS, "tim", "tanstaaftanstaaf"), POSTIE_OK);
}

static void test_plaintext_credentials(void **state)
{
    (void)state;
    tls_available = 0;
    setup = set_off;
    replay(script_plain_auth, run_plain_auth);
}

/* ---- SCRAM-SHA-256 (RFC 7677 sec. 3: user "user", password "pencil") ------- */

#define C_FIRST "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
#define S_FIRST "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define C_FINAL "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define S_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
#define S_FINAL_BAD "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5="

static char l_cfirst[256], l_sfirst[256], l_cfinal[256], l_sfinal[256], l_sfinal_bad[256];

static void b64_line(char *out, size_t cap, const char *prefix, const char *raw)
{
    size_t n = strlen(prefix), el = 0;
    memcpy(out, prefix, n);
    ST(postie_base64_encode(raw, strlen(raw), out + n, cap - n - 2, &el), POSTIE_OK);
    memcpy(out + n + el, "\r\n", 3);
}

static void script_scram(fake_transport *f)
{
    fake_step_add(f, "", GREET);
    fake_step_add(f, EHLO, "250-mx.example.org\r\n250 AUTH PLAIN CRAM-MD5 SCRAM-SHA-256\r\n");
    fake_step_add(f, l_cfirst, l_sfirst);
    fake_step_add(f, l_cfinal, l_sfinal);
    fake_step_add(f, "\r\n", "235 2.7.0 Authentication successful\r\n");
}

static void run_scram(postie_smtp *s)
{
    ST(postie_smtp_open(s), POSTIE_OK);
    ST(postie_smtp_auth(s, POSTIE_SASL_PASSWORD_MECHS, "user", "pencil"), POSTIE_OK);
    assert_int_equal(postie_smtp_reply_code(s), 235);
}

static void script_scram_tampered(fake_transport *f)
{
    fake_step_add(f, "", GREET);
    fake_step_add(f, EHLO, "250-mx.example.org\r\n250 AUTH SCRAM-SHA-256\r\n");
    fake_step_add(f, l_cfirst, l_sfirst);
    fake_step_add(f, l_cfinal, l_sfinal_bad);
    fake_step_add(f, "*\r\n", "501 5.7.0 Authentication cancelled\r\n");
}

static void run_scram_tampered(postie_smtp *s)
{
    ST(postie_smtp_open(s), POSTIE_OK);
    ST(postie_smtp_auth(s, POSTIE_SASL_PASSWORD_MECHS, "user", "pencil"), POSTIE_ERR_AUTH);
    assert_int_equal(postie_smtp_get_state(s), POSTIE_SMTP_STATE_READY);
}

static void script_scram_no_proof(fake_transport *f)
{
    fake_step_add(f, "", GREET);
    fake_step_add(f, EHLO, "250-mx.example.org\r\n250 AUTH SCRAM-SHA-256\r\n");
    fake_step_add(f, l_cfirst, l_sfirst);
    fake_step_add(f, l_cfinal, "235 2.7.0 ok\r\n");
}

static void run_scram_no_proof(postie_smtp *s)
{
    ST(postie_smtp_open(s), POSTIE_OK);
    ST(postie_smtp_auth(s, POSTIE_SASL_SCRAM_SHA256, "user", "pencil"), POSTIE_ERR_AUTH);
    assert_int_equal(postie_smtp_get_state(s), POSTIE_SMTP_STATE_CLOSED);
}

static void set_implicit_scram(postie_smtp *s)
{
    ST(postie_smtp_set_tls(s, POSTIE_TLS_IMPLICIT, NULL), POSTIE_OK);
    postie_smtp_set_random(s, rfc7677_random, NULL);
}

static void set_off_scram(postie_smtp *s)
{
    set_off(s);
    postie_smtp_set_random(s, rfc7677_random, NULL);
}

static void test_scram(void **state)
{
    (void)state;
    b64_line(l_cfirst, sizeof l_cfirst, "AUTH SCRAM-SHA-256 ", C_FIRST);
    b64_line(l_sfirst, sizeof l_sfirst, "334 ", S_FIRST);
    b64_line(l_cfinal, sizeof l_cfinal, "", C_FINAL);
    b64_line(l_sfinal, sizeof l_sfinal, "334 ", S_FINAL);
    b64_line(l_sfinal_bad, sizeof l_sfinal_bad, "334 ", S_FINAL_BAD);
    tls_available = 0;
    setup = set_implicit_scram;
    replay(script_scram, run_scram);
    setup = set_off_scram; /* SCRAM needs no TLS and no allowance */
    replay(script_scram, run_scram);
    replay(script_scram_tampered, run_scram_tampered);
    replay(script_scram_no_proof, run_scram_no_proof);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_starttls_policy),
        cmocka_unit_test(test_starttls_injection),
        cmocka_unit_test(test_required_without_starttls),
        cmocka_unit_test(test_opportunistic),
        cmocka_unit_test(test_plaintext_credentials),
        cmocka_unit_test(test_scram),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
