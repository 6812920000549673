/* POP3 STLS, the TLS policy, the plaintext-credentials rule and AUTH
 * (RFC 5034, SCRAM-SHA-256 with the RFC 7677 example) on the fake transport.
 * Every scenario is replayed at every chunk size from 1 byte up to the
 * length of the server's script, and the client's bytes are compared with
 * the script after each run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fake_transport.h"
#include "postie/base64.h"
#include "postie/pop3.h"

static fake_transport F;
static postie_pop3 P;
static size_t cur_chunk;

typedef void (*script_fn)(fake_transport *f);
typedef void (*run_fn)(postie_pop3 *p);

#define ST(call, want) assert_int_equal((call), (want))

/* Set-up of the client before each run (TLS policy and the like). */
static void (*setup)(postie_pop3 *p);
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
        ST(postie_pop3_init(&P, &tr), POSTIE_OK);
        if (setup != NULL) {
            setup(&P);
        }
        run(&P);
        fake_assert_script_sent(&F);
        fake_free(&F);
    }
}

/* ---- set-ups ------------------------------------------------------------ */

static void set_required(postie_pop3 *p)
{
    ST(postie_pop3_set_tls(p, POSTIE_TLS_REQUIRED, "pop.example.org"), POSTIE_OK);
}

static void set_opportunistic(postie_pop3 *p)
{
    ST(postie_pop3_set_tls(p, POSTIE_TLS_OPPORTUNISTIC, "pop.example.org"), POSTIE_OK);
}

static void set_off(postie_pop3 *p)
{
    ST(postie_pop3_set_tls(p, POSTIE_TLS_OFF, NULL), POSTIE_OK);
}

/* The RFC 7677 client nonce "rOprNGfwEbeRWgbNEkqO" is the base64 encoding of
 * these 15 bytes: the client turns 15 random bytes into its nonce. */
static postie_status rfc7677_random(void *ctx, void *buf, size_t len)
{
    size_t n = 0;
    (void)ctx;
    assert_int_equal(len, 15);
    ST(postie_base64_decode("rOprNGfwEbeRWgbNEkqO", 20, buf, len, &n), POSTIE_OK);
    assert_int_equal(n, 15);
    return POSTIE_OK;
}

static void set_implicit_scram(postie_pop3 *p)
{
    ST(postie_pop3_set_tls(p, POSTIE_TLS_IMPLICIT, NULL), POSTIE_OK);
    postie_pop3_set_random(p, rfc7677_random, NULL);
}

static void set_off_scram(postie_pop3 *p)
{
    set_off(p);
    postie_pop3_set_random(p, rfc7677_random, NULL);
}

#define GREETING "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n"
#define CAPA_PLAIN "+OK Capability list follows\r\nUSER\r\nSTLS\r\nSASL PLAIN LOGIN\r\nPIPELINING\r\n.\r\n"
#define CAPA_TLS "+OK Capability list follows\r\nUSER\r\nTOP\r\nSASL SCRAM-SHA-256 PLAIN\r\n.\r\n"

/* ---- STLS ----------------------------------------------------------------- */

static void script_stls(fake_transport *f)
{
    fake_step_add(f, "", GREETING);
    fake_step_add(f, "CAPA\r\n", CAPA_PLAIN);
    fake_step_add(f, "STLS\r\n", "+OK Begin TLS negotiation\r\n");
    fake_step_add(f, "CAPA\r\n", CAPA_TLS);
    fake_step_add(f, "USER mrose\r\n", "+OK\r\n");
    fake_step_add(f, "PASS tanstaaf\r\n", "+OK maildrop ready\r\n");
    fake_step_add(f, "QUIT\r\n", "+OK bye\r\n");
}

static void run_stls(postie_pop3 *p)
{
    int committed = 9;
    ST(postie_pop3_open(p), POSTIE_OK);
    /* start_tls ran once, right after the STLS go-ahead, with our name */
    assert_int_equal(F.tls_calls, 1);
    assert_int_equal(F.tls_sent_len, strlen("CAPA\r\nSTLS\r\n"));
    assert_string_equal(F.tls_name, "pop.example.org");
    assert_true(postie_pop3_tls_active(p));
    /* only what CAPA said over TLS is kept */
    assert_int_equal(postie_pop3_caps(p), POSTIE_POP3_CAP_CAPA | POSTIE_POP3_CAP_USER |
                                              POSTIE_POP3_CAP_TOP | POSTIE_POP3_CAP_SASL |
                                              POSTIE_POP3_CAP_APOP);
    assert_string_equal(postie_pop3_sasl_mechs(p), "SCRAM-SHA-256 PLAIN");
    /* the greeting's APOP timestamp is kept (docs/pop3.md) */
    assert_string_equal(postie_pop3_timestamp(p), "<1896.697170952@dbc.mtview.ca.us>");
    /* USER/PASS over TLS needs no allowance */
    ST(postie_pop3_login(p, "mrose", "tanstaaf", POSTIE_POP3_LOGIN_USER), POSTIE_OK);
    ST(postie_pop3_quit(p, &committed), POSTIE_OK);
    assert_int_equal(committed, 1);
}

static void test_stls_required(void **state)
{
    (void)state;
    tls_available = 1;
    setup = set_required;
    replay(script_stls, run_stls);
    setup = set_opportunistic;
    replay(script_stls, run_stls);
}

/* The explicit call, with the policy OFF. */
static void script_stls_explicit(fake_transport *f)
{
    fake_step_add(f, "", "+OK hi\r\n");
    fake_step_add(f, "CAPA\r\n", CAPA_PLAIN);
    fake_step_add(f, "STLS\r\n", "-ERR not now\r\n");
    fake_step_add(f, "STLS\r\n", "+OK go\r\n");
    fake_step_add(f, "CAPA\r\n", "-ERR no CAPA over TLS\r\n");
}

static void run_stls_explicit(postie_pop3 *p)
{
    ST(postie_pop3_stls(p, "pop.example.org"), POSTIE_ERR_STATE); /* not open */
    ST(postie_pop3_open(p), POSTIE_OK);
    assert_int_equal(F.tls_calls, 0);
    assert_false(postie_pop3_tls_active(p));
    ST(postie_pop3_stls(p, NULL), POSTIE_ERR_PARAM);
    ST(postie_pop3_stls(p, "pop.example.org\r\nUSER x"), POSTIE_ERR_PARAM);
    ST(postie_pop3_stls(p, "a b"), POSTIE_ERR_PARAM);
    ST(postie_pop3_stls(p, "pop.example.org"), POSTIE_ERR_SERVER);
    assert_int_equal(F.tls_calls, 0);
    assert_false(postie_pop3_tls_active(p));
    ST(postie_pop3_stls(p, "pop.example.org"), POSTIE_OK);
    assert_int_equal(F.tls_calls, 1);
    assert_true(postie_pop3_tls_active(p));
    /* CAPA refused over TLS: nothing from plain text is left but APOP's bit */
    assert_int_equal(postie_pop3_caps(p), 0);
    assert_string_equal(postie_pop3_sasl_mechs(p), "");
    ST(postie_pop3_stls(p, "pop.example.org"), POSTIE_ERR_STATE); /* already TLS */
}

static void test_stls_explicit(void **state)
{
    (void)state;
    tls_available = 1;
    setup = set_off;
    replay(script_stls_explicit, run_stls_explicit);
}

/* Bytes after the +OK to STLS: the client must not start TLS over them. */
#define STLS_OK "+OK Begin TLS\r\n"
static void script_injection(fake_transport *f)
{
    fake_step_add(f, "", "+OK hi\r\n");
    fake_step_add(f, "CAPA\r\n", CAPA_PLAIN);
    fake_step_add(f, "STLS\r\n", STLS_OK "+OK injected\r\n");
}

static void run_injection(postie_pop3 *p)
{
    size_t ok_len = strlen(STLS_OK);
    ST(postie_pop3_open(p), POSTIE_ERR_PROTOCOL);
    assert_int_equal(postie_pop3_get_state(p), POSTIE_POP3_STATE_CLOSED);
    assert_int_equal(F.closed, 1);
    assert_false(postie_pop3_tls_active(p));
    if (cur_chunk > ok_len || ok_len % cur_chunk != 0) {
        /* the injected bytes came with the +OK into the client's buffer:
         * the client itself refuses, start_tls is never called */
        assert_int_equal(F.tls_calls, 0);
    } else {
        /* the +OK ended exactly on a read: the bytes wait in the socket,
         * where the transport's peek finds them (as tls_openssl.c does) */
        assert_int_equal(F.tls_calls, 1);
    }
    ST(postie_pop3_login(p, "u", "p", POSTIE_POP3_LOGIN_USER), POSTIE_ERR_STATE);
}

static void test_stls_injection(void **state)
{
    (void)state;
    tls_available = 1;
    setup = set_required;
    replay(script_injection, run_injection);
}

/* ---- the REQUIRED policy without STLS ------------------------------------ */

static void script_no_stls(fake_transport *f)
{
    fake_step_add(f, "", GREETING);
    fake_step_add(f, "CAPA\r\n", "+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n");
    fake_step_add(f, "QUIT\r\n", "+OK bye\r\n");
}

static void run_no_stls(postie_pop3 *p)
{
    ST(postie_pop3_open(p), POSTIE_ERR_TLS_REQUIRED);
    assert_int_equal(postie_pop3_get_state(p), POSTIE_POP3_STATE_CLOSED);
    assert_int_equal(F.closed, 1);
    assert_int_equal(F.tls_calls, 0);
    /* nothing more can be sent: no USER, no PASS, no AUTH */
    ST(postie_pop3_login(p, "mrose", "tanstaaf", POSTIE_POP3_LOGIN_AUTO), POSTIE_ERR_STATE);
    ST(postie_pop3_auth(p, POSTIE_SASL_PASSWORD_MECHS, "mrose", "x"), POSTIE_ERR_STATE);
}

static void script_stls_offered(fake_transport *f)
{
    fake_step_add(f, "", GREETING);
    fake_step_add(f, "CAPA\r\n", CAPA_PLAIN);
    fake_step_add(f, "QUIT\r\n", "+OK bye\r\n");
}

/* STLS refused by the server under REQUIRED: QUIT, closed. */
static void script_stls_refused(fake_transport *f)
{
    fake_step_add(f, "", GREETING);
    fake_step_add(f, "CAPA\r\n", CAPA_PLAIN);
    fake_step_add(f, "STLS\r\n", "-ERR TLS unavailable\r\n");
    fake_step_add(f, "QUIT\r\n", "+OK bye\r\n");
}

static void run_stls_refused(postie_pop3 *p)
{
    ST(postie_pop3_open(p), POSTIE_ERR_SERVER);
    assert_string_equal(postie_pop3_reply_text(p), "TLS unavailable");
    assert_int_equal(postie_pop3_get_state(p), POSTIE_POP3_STATE_CLOSED);
    assert_int_equal(F.closed, 1);
    assert_int_equal(F.tls_calls, 0);
}

/* REQUIRED, opened without CAPA: login and auth refuse, nothing sent. */
static void script_no_capa(fake_transport *f)
{
    fake_step_add(f, "", GREETING);
}

static void run_no_capa(postie_pop3 *p)
{
    ST(postie_pop3_open_ex(p, POSTIE_POP3_OPEN_NO_CAPA), POSTIE_OK);
    ST(postie_pop3_login(p, "mrose", "tanstaaf", POSTIE_POP3_LOGIN_APOP), POSTIE_ERR_TLS_REQUIRED);
    ST(postie_pop3_login(p, "mrose", "tanstaaf", POSTIE_POP3_LOGIN_AUTO), POSTIE_ERR_TLS_REQUIRED);
    ST(postie_pop3_auth(p, POSTIE_SASL_ALL_MECHS, "mrose", "x"), POSTIE_ERR_TLS_REQUIRED);
    assert_int_equal(postie_pop3_get_state(p), POSTIE_POP3_STATE_AUTHORIZATION);
}

static void test_required_without_stls(void **state)
{
    postie_transport tr;
    (void)state;
    setup = set_required;
    tls_available = 1;
    replay(script_no_stls, run_no_stls);
    /* STLS offered, but the transport cannot do TLS: refused too */
    tls_available = 0;
    replay(script_stls_offered, run_no_stls);
    tls_available = 1;
    replay(script_stls_refused, run_stls_refused);
    replay(script_no_capa, run_no_capa);

    /* REQUIRED (the default) needs a name to verify: nothing read or sent */
    fake_init(&F, 0);
    F.tls_supported = 1;
    script_stls(&F);
    fake_bind(&F, &tr);
    ST(postie_pop3_init(&P, &tr), POSTIE_OK);
    ST(postie_pop3_open(&P), POSTIE_ERR_PARAM);
    assert_int_equal(F.recv_calls, 0);
    assert_int_equal(F.sent_len, 0);
    ST(postie_pop3_set_tls(&P, POSTIE_TLS_REQUIRED, NULL), POSTIE_ERR_PARAM);
    ST(postie_pop3_set_tls(&P, POSTIE_TLS_OPPORTUNISTIC, NULL), POSTIE_ERR_PARAM);
    ST(postie_pop3_set_tls(&P, POSTIE_TLS_REQUIRED, "bad name"), POSTIE_ERR_PARAM);
    ST(postie_pop3_set_tls(&P, POSTIE_TLS_REQUIRED, ""), POSTIE_ERR_PARAM);
    ST(postie_pop3_set_tls(&P, (postie_tls_policy)7, "x"), POSTIE_ERR_PARAM);
    ST(postie_pop3_set_tls(NULL, POSTIE_TLS_OFF, NULL), POSTIE_ERR_PARAM);
    fake_free(&F);
}

/* ---- credentials on a plain connection ------------------------------------ */

/* OPPORTUNISTIC, no STLS: the session goes on in plain text, but USER/PASS
 * and AUTH PLAIN are refused without the allowance; APOP is fine; AUTO does
 * not fall back from a refused APOP to USER/PASS. */
static void script_plain_creds(fake_transport *f)
{
    fake_step_add(f, "", GREETING);
    fake_step_add(f, "CAPA\r\n", "+OK\r\nUSER\r\nSASL PLAIN LOGIN XOAUTH2 OAUTHBEARER\r\n.\r\n");
    fake_step_add(f, "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n", "-ERR permission denied\r\n");
    fake_step_add(f, "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n", "+OK maildrop has 1 message\r\n");
}

static void run_plain_creds(postie_pop3 *p)
{
    ST(postie_pop3_open(p), POSTIE_OK);
    assert_false(postie_pop3_tls_active(p));
    ST(postie_pop3_login(p, "mrose", "tanstaaf", POSTIE_POP3_LOGIN_USER), POSTIE_ERR_INSECURE);
    ST(postie_pop3_auth(p, POSTIE_SASL_ALL_MECHS, "mrose", "tanstaaf"), POSTIE_ERR_INSECURE);
    ST(postie_pop3_auth(p, POSTIE_SASL_PLAIN, "mrose", "tanstaaf"), POSTIE_ERR_INSECURE);
    ST(postie_pop3_auth(p, POSTIE_SASL_TOKEN_MECHS, "mrose", "token"), POSTIE_ERR_INSECURE);
    /* CRAM-MD5 would be fine in clear, but the server does not offer it */
    ST(postie_pop3_auth(p, POSTIE_SASL_CRAM_MD5, "mrose", "tanstaaf"), POSTIE_ERR_UNSUPPORTED);
    /* AUTO: APOP refused, and no USER/PASS in clear afterwards */
    ST(postie_pop3_login(p, "mrose", "tanstaaf", POSTIE_POP3_LOGIN_AUTO), POSTIE_ERR_AUTH);
    ST(postie_pop3_login(p, "mrose", "tanstaaf", POSTIE_POP3_LOGIN_APOP), POSTIE_OK);
}

static void test_plaintext_credentials(void **state)
{
    (void)state;
    tls_available = 1;
    setup = set_opportunistic;
    replay(script_plain_creds, run_plain_creds);
    tls_available = 0;
    setup = set_off;
    replay(script_plain_creds, run_plain_creds);
}

/* With the explicit allowance, USER/PASS and AUTH PLAIN go out in clear. */
static void script_allowed(fake_transport *f)
{
    fake_step_add(f, "", "+OK hi\r\n");
    fake_step_add(f, "CAPA\r\n", "+OK\r\nSASL PLAIN\r\n.\r\n");
    fake_step_add(f, "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n", "-ERR [AUTH] no\r\n");
    fake_step_add(f, "USER tim\r\n", "+OK\r\n");
    fake_step_add(f, "PASS tanstaaftanstaaf\r\n", "+OK\r\n");
}

static void set_off_allowed(postie_pop3 *p)
{
    set_off(p);
    postie_pop3_allow_plaintext_credentials(p, 1);
}

static void run_allowed(postie_pop3 *p)
{
    ST(postie_pop3_open(p), POSTIE_OK);
    ST(postie_pop3_auth(p, POSTIE_SASL_PASSWORD_MECHS, "tim", "tanstaaftanstaaf"), POSTIE_ERR_AUTH);
    ST(postie_pop3_login(p, "tim", "tanstaaftanstaaf", POSTIE_POP3_LOGIN_AUTO), POSTIE_OK);
}

static void test_plaintext_allowed(void **state)
{
    (void)state;
    tls_available = 0;
    setup = set_off_allowed;
    replay(script_allowed, run_allowed);
}

/* ---- AUTH (RFC 5034) ------------------------------------------------------- */

/* RFC 7677 sec. 3, user "user", password "pencil". */
#define C_FIRST "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
#define S_FIRST "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define C_FINAL "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define S_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
#define S_FINAL_BAD "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5="

static char l_cfirst[256], l_sfirst[256], l_cfinal[256], l_sfinal[256], l_sfinal_bad[256];

/* line = prefix + base64(raw) + CRLF */
static void b64_line(char *out, size_t cap, const char *prefix, const char *raw)
{
    size_t n = strlen(prefix), el = 0;
    memcpy(out, prefix, n);
    ST(postie_base64_encode(raw, strlen(raw), out + n, cap - n - 2, &el), POSTIE_OK);
    memcpy(out + n + el, "\r\n", 3);
}

static void scram_lines(const char *cont)
{
    b64_line(l_cfirst, sizeof l_cfirst, "AUTH SCRAM-SHA-256 ", C_FIRST);
    b64_line(l_sfirst, sizeof l_sfirst, cont, S_FIRST);
    b64_line(l_cfinal, sizeof l_cfinal, "", C_FINAL);
    b64_line(l_sfinal, sizeof l_sfinal, cont, S_FINAL);
    b64_line(l_sfinal_bad, sizeof l_sfinal_bad, cont, S_FINAL_BAD);
}

static void script_scram(fake_transport *f)
{
    fake_step_add(f, "", "+OK hi\r\n");
    fake_step_add(f, "CAPA\r\n", "+OK\r\nSASL PLAIN CRAM-MD5 SCRAM-SHA-256\r\n.\r\n");
    fake_step_add(f, l_cfirst, l_sfirst);
    fake_step_add(f, l_cfinal, l_sfinal);
    fake_step_add(f, "\r\n", "+OK logged in\r\n");
    fake_step_add(f, "STAT\r\n", "+OK 0 0\r\n");
}

static void run_scram(postie_pop3 *p)
{
    unsigned long n = 9;
    ST(postie_pop3_open(p), POSTIE_OK);
    ST(postie_pop3_auth(p, POSTIE_SASL_PASSWORD_MECHS, "user", "pencil"), POSTIE_OK);
    assert_int_equal(postie_pop3_get_state(p), POSTIE_POP3_STATE_TRANSACTION);
    ST(postie_pop3_stat(p, &n, NULL), POSTIE_OK);
    assert_int_equal(n, 0);
}

static void script_scram_tampered(fake_transport *f)
{
    fake_step_add(f, "", "+OK hi\r\n");
    fake_step_add(f, "CAPA\r\n", "+OK\r\nSASL SCRAM-SHA-256\r\n.\r\n");
    fake_step_add(f, l_cfirst, l_sfirst);
    fake_step_add(f, l_cfinal, l_sfinal_bad);
    fake_step_add(f, "*\r\n", "-ERR authentication cancelled\r\n");
}

static void run_scram_tampered(postie_pop3 *p)
{
    ST(postie_pop3_open(p), POSTIE_OK);
    ST(postie_pop3_auth(p, POSTIE_SASL_PASSWORD_MECHS, "user", "pencil"), POSTIE_ERR_AUTH);
    /* cancelled: the session is still usable, in AUTHORIZATION */
    assert_int_equal(postie_pop3_get_state(p), POSTIE_POP3_STATE_AUTHORIZATION);
}

/* A server that says +OK without proving it knows the password. */
static void script_scram_no_proof(fake_transport *f)
{
    fake_step_add(f, "", "+OK hi\r\n");
    fake_step_add(f, "CAPA\r\n", "+OK\r\nSASL SCRAM-SHA-256\r\n.\r\n");
    fake_step_add(f, l_cfirst, l_sfirst);
    fake_step_add(f, l_cfinal, "+OK welcome\r\n");
}

static void run_scram_no_proof(postie_pop3 *p)
{
    ST(postie_pop3_open(p), POSTIE_OK);
    ST(postie_pop3_auth(p, POSTIE_SASL_SCRAM_SHA256, "user", "pencil"), POSTIE_ERR_AUTH);
    assert_int_equal(postie_pop3_get_state(p), POSTIE_POP3_STATE_CLOSED);
    assert_int_equal(F.closed, 1);
}

static void test_auth_scram(void **state)
{
    (void)state;
    tls_available = 0;
    scram_lines("+ ");
    setup = set_implicit_scram; /* implicit TLS */
    replay(script_scram, run_scram);
    setup = set_off_scram;      /* SCRAM needs no TLS and no allowance */
    replay(script_scram, run_scram);
    replay(script_scram_tampered, run_scram_tampered);
    replay(script_scram_no_proof, run_scram_no_proof);
}

/* Without a random source SCRAM is never chosen; the next mechanism is. */
static void script_no_random(fake_transport *f)
{
    fake_step_add(f, "", "+OK hi\r\n");
    fake_step_add(f, "CAPA\r\n", "+OK\r\nSASL PLAIN CRAM-MD5 SCRAM-SHA-256\r\n.\r\n");
    /* RFC 2195's example */
    fake_step_add(f, "AUTH CRAM-MD5\r\n", "+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n");
    fake_step_add(f, "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n", "+OK\r\n");
}

static void run_no_random(postie_pop3 *p)
{
    ST(postie_pop3_open(p), POSTIE_OK);
    ST(postie_pop3_auth(p, POSTIE_SASL_SCRAM_SHA256, "tim", "tanstaaftanstaaf"),
       POSTIE_ERR_UNSUPPORTED);
    ST(postie_pop3_auth(p, POSTIE_SASL_PASSWORD_MECHS, "tim", "tanstaaftanstaaf"), POSTIE_OK);
}

static void test_auth_cram_without_random(void **state)
{
    (void)state;
    tls_available = 0;
    setup = set_off; /* CRAM-MD5 is allowed in clear */
    replay(script_no_random, run_no_random);
}

static void set_implicit(postie_pop3 *p)
{
    ST(postie_pop3_set_tls(p, POSTIE_TLS_IMPLICIT, NULL), POSTIE_OK);
}

/* PLAIN and LOGIN over TLS; a PLAIN response too long for the 255-octet
 * AUTH line waits for the server's empty challenge. */
static char long_pw[300];
static char long_ir_line[600];

static void script_plain_login(fake_transport *f)
{
    fake_step_add(f, "", "+OK hi\r\n");
    fake_step_add(f, "CAPA\r\n", "+OK\r\nSASL LOGIN PLAIN\r\n.\r\n");
    fake_step_add(f, "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n", "-ERR [SYS/TEMP] later\r\n");
    fake_step_add(f, "AUTH LOGIN\r\n", "+ VXNlcm5hbWU6\r\n");
    fake_step_add(f, "dGlt\r\n", "+ UGFzc3dvcmQ6\r\n");
    fake_step_add(f, "dGFuc3RhYWZ0YW5zdGFhZg==\r\n", "-ERR [AUTH] wrong\r\n");
    fake_step_add(f, "AUTH PLAIN\r\n", "+ \r\n");
    fake_step_add(f, long_ir_line, "+OK\r\n");
}

static void run_plain_login(postie_pop3 *p)
{
    ST(postie_pop3_open(p), POSTIE_OK);
    ST(postie_pop3_auth(p, POSTIE_SASL_PASSWORD_MECHS, "tim", "tanstaaftanstaaf"),
       POSTIE_ERR_TRANSIENT);
    ST(postie_pop3_auth(p, POSTIE_SASL_LOGIN, "tim", "tanstaaftanstaaf"), POSTIE_ERR_AUTH);
    ST(postie_pop3_auth(p, POSTIE_SASL_PLAIN, "tim", long_pw), POSTIE_OK);
    assert_int_equal(postie_pop3_get_state(p), POSTIE_POP3_STATE_TRANSACTION);
    ST(postie_pop3_auth(p, POSTIE_SASL_PLAIN, "tim", "x"), POSTIE_ERR_STATE);
}

static void test_auth_plain_login(void **state)
{
    char raw[400];
    size_t n;
    (void)state;
    memset(long_pw, 'p', 250);
    long_pw[250] = '\0';
    raw[0] = '\0';
    memcpy(raw + 1, "tim", 3);
    raw[4] = '\0';
    memcpy(raw + 5, long_pw, 250);
    ST(postie_base64_encode(raw, 255, long_ir_line, sizeof long_ir_line - 2, &n), POSTIE_OK);
    memcpy(long_ir_line + n, "\r\n", 3);
    tls_available = 0;
    setup = set_implicit;
    replay(script_plain_login, run_plain_login);
}

/* OAuth 2.0 tokens. XOAUTH2 never goes as an initial response, however short
 * the token: "AUTH XOAUTH2", the server's "+ ", then the token (the exchange
 * Microsoft's POP3 requires). An error challenge (JSON) gets the empty
 * response, and the -ERR that follows is POSTIE_ERR_AUTH with the session
 * usable. OAUTHBEARER keeps its initial response. */
#define XOAUTH2_RESP "dXNlcj10aW1AZXhhbXBsZS5vcmcBYXV0aD1CZWFyZXIgeWEyOS50b2sBAQ=="
#define OAUTHBEARER_RESP "bixhPXRpbUBleGFtcGxlLm9yZywBYXV0aD1CZWFyZXIgeWEyOS50b2sBAQ=="
static void script_tokens(fake_transport *f)
{
    fake_step_add(f, "", "+OK hi\r\n");
    fake_step_add(f, "CAPA\r\n", "+OK\r\nSASL PLAIN XOAUTH2 OAUTHBEARER\r\n.\r\n");
    fake_step_add(f, "AUTH XOAUTH2\r\n", "+ \r\n");
    fake_step_add(f, XOAUTH2_RESP "\r\n",
                  "+ eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIn0=\r\n");
    fake_step_add(f, "\r\n", "-ERR [AUTH] Authentication failed.\r\n");
    fake_step_add(f, "AUTH XOAUTH2\r\n", "+ \r\n");
    fake_step_add(f, XOAUTH2_RESP "\r\n", "+OK Logged in.\r\n");
}

static void run_tokens(postie_pop3 *p)
{
    ST(postie_pop3_open(p), POSTIE_OK);
    ST(postie_pop3_auth(p, POSTIE_SASL_XOAUTH2, "tim@example.org", "ya29.tok"), POSTIE_ERR_AUTH);
    assert_int_equal(postie_pop3_get_state(p), POSTIE_POP3_STATE_AUTHORIZATION);
    ST(postie_pop3_auth(p, POSTIE_SASL_XOAUTH2, "tim@example.org", "ya29.tok"), POSTIE_OK);
    assert_int_equal(postie_pop3_get_state(p), POSTIE_POP3_STATE_TRANSACTION);
}

static void script_oauthbearer(fake_transport *f)
{
    fake_step_add(f, "", "+OK hi\r\n");
    fake_step_add(f, "CAPA\r\n", "+OK\r\nSASL XOAUTH2 OAUTHBEARER\r\n.\r\n");
    fake_step_add(f, "AUTH OAUTHBEARER " OAUTHBEARER_RESP "\r\n", "+OK Logged in.\r\n");
}

static void run_oauthbearer(postie_pop3 *p)
{
    ST(postie_pop3_open(p), POSTIE_OK);
    /* both offered: OAUTHBEARER is the stronger (the standard) */
    ST(postie_pop3_auth(p, POSTIE_SASL_TOKEN_MECHS, "tim@example.org", "ya29.tok"), POSTIE_OK);
}

static void test_auth_tokens(void **state)
{
    (void)state;
    tls_available = 0;
    setup = set_implicit;
    replay(script_tokens, run_tokens);
    replay(script_oauthbearer, run_oauthbearer);
}

/* Bad arguments and missing SASL send nothing. */
static void script_auth_params(fake_transport *f)
{
    fake_step_add(f, "", "+OK hi\r\n");
    fake_step_add(f, "CAPA\r\n", "+OK\r\nUSER\r\n.\r\n");
}

static void run_auth_params(postie_pop3 *p)
{
    ST(postie_pop3_auth(p, POSTIE_SASL_PLAIN, "u", "p"), POSTIE_ERR_STATE);
    ST(postie_pop3_open(p), POSTIE_OK);
    ST(postie_pop3_auth(p, POSTIE_SASL_PLAIN, "u", "p"), POSTIE_ERR_UNSUPPORTED);
    ST(postie_pop3_auth(p, POSTIE_SASL_PLAIN, "", "p"), POSTIE_ERR_PARAM);
    ST(postie_pop3_auth(p, POSTIE_SASL_PLAIN, NULL, "p"), POSTIE_ERR_PARAM);
    ST(postie_pop3_auth(p, POSTIE_SASL_PLAIN, "u", NULL), POSTIE_ERR_PARAM);
    ST(postie_pop3_auth(p, POSTIE_SASL_PLAIN, "u\r\nQUIT", "p"), POSTIE_ERR_PARAM);
    ST(postie_pop3_auth(p, POSTIE_SASL_PLAIN, "u", "p\nQUIT"), POSTIE_ERR_PARAM);
    ST(postie_pop3_auth(NULL, POSTIE_SASL_PLAIN, "u", "p"), POSTIE_ERR_PARAM);
}

static void test_auth_params(void **state)
{
    (void)state;
    tls_available = 0;
    setup = set_implicit;
    replay(script_auth_params, run_auth_params);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stls_required),
        cmocka_unit_test(test_stls_explicit),
        cmocka_unit_test(test_stls_injection),
        cmocka_unit_test(test_required_without_stls),
        cmocka_unit_test(test_plaintext_credentials),
        cmocka_unit_test(test_plaintext_allowed),
        cmocka_unit_test(test_auth_scram),
        cmocka_unit_test(test_auth_cram_without_random),
        cmocka_unit_test(test_auth_plain_login),
        cmocka_unit_test(test_auth_params),
        cmocka_unit_test(test_auth_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
