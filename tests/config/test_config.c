/*
 * tests/config/test_config.c - Postie built with features switched off
 * (postie_config_defaults.h switches, set by the postie_config.h this
 * program and its library are compiled with: tests/config/postie_config_off.h
 * for test_config_off, bench/postie_config_netx.h for test_config_netx).
 * Each call that needs a feature that is not compiled in must say
 * POSTIE_ERR_UNSUPPORTED (and send nothing), never behave differently; what
 * is compiled in must still work, byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fake_transport.h"
#include "postie/base64.h"
#include "postie/compose.h"
#include "postie/pop3.h"
#include "postie/sasl.h"
#include "postie/smtp.h"

#ifndef POSTIE_HAVE_CONFIG_H
#error "tests/config is built with a postie_config.h"
#endif

static fake_transport F;
static postie_transport T;
static postie_pop3 P;
static postie_smtp S;

#define POP_GREET "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n"
#define CAPA_REPLY "+OK\r\nUSER\r\nPIPELINING\r\nSASL PLAIN SCRAM-SHA-256\r\n.\r\n"
#define SMTP_GREET "220 mx.example.org ESMTP\r\n"
#define EHLO "EHLO client.example\r\n"
#define EHLO_REPLY                                                                        \
    "250-mx.example.org\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-STARTTLS\r\n" \
    "250 AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2 OAUTHBEARER SCRAM-SHA-256\r\n"

static postie_status rnd(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    memset(buf, 7, len);
    return POSTIE_OK;
}

static void pop_open(void)
{
    fake_free(&F);
    fake_init(&F, 0);
    fake_step_add(&F, "", POP_GREET);
#if POSTIE_WITH_POP3_CAPA
    fake_step_add(&F, "CAPA\r\n", CAPA_REPLY);
#endif
    fake_bind(&F, &T);
    assert_int_equal(postie_pop3_init(&P, &T), POSTIE_OK);
    assert_int_equal(postie_pop3_set_tls(&P, POSTIE_TLS_OFF, NULL), POSTIE_OK);
    postie_pop3_allow_plaintext_credentials(&P, 1);
    postie_pop3_set_random(&P, rnd, NULL);
    assert_int_equal(postie_pop3_open(&P), POSTIE_OK);
}

static void smtp_open(void)
{
    fake_free(&F);
    fake_init(&F, 0);
    fake_step_add(&F, "", SMTP_GREET);
    fake_step_add(&F, EHLO, EHLO_REPLY);
    fake_bind(&F, &T);
    assert_int_equal(postie_smtp_init(&S, &T), POSTIE_OK);
    assert_int_equal(postie_smtp_set_tls(&S, POSTIE_TLS_OFF, NULL), POSTIE_OK);
    postie_smtp_allow_plaintext_credentials(&S, 1);
    postie_smtp_set_random(&S, rnd, NULL);
    assert_int_equal(postie_smtp_set_domain(&S, "client.example"), POSTIE_OK);
    assert_int_equal(postie_smtp_open(&S), POSTIE_OK);
}

/* ---- postie_strerror ------------------------------------------------------------ */

static void test_strerror(void **state)
{
    (void)state;
#if POSTIE_WITH_STATUS_MESSAGES
    assert_string_not_equal(postie_strerror(POSTIE_ERR_TIMEOUT), "ERR_TIMEOUT");
#else
    /* the short name stands in for the message */
    assert_string_equal(postie_strerror(POSTIE_ERR_TIMEOUT), "ERR_TIMEOUT");
    assert_string_equal(postie_strerror(POSTIE_OK), "OK");
#endif
    assert_string_equal(postie_status_name(POSTIE_ERR_UNSUPPORTED), "ERR_UNSUPPORTED");
}

/* ---- SASL --------------------------------------------------------------------- */

static void test_sasl_builders(void **state)
{
    char out[128];
    size_t n = 0;

    (void)state;
    assert_int_equal(postie_sasl_plain(NULL, "u", "p", out, sizeof out, &n),
                     POSTIE_WITH_SASL_PLAIN ? POSTIE_OK : POSTIE_ERR_UNSUPPORTED);
    assert_int_equal(postie_sasl_login("User", 4, 0, "u", "p", out, sizeof out, &n),
                     POSTIE_WITH_SASL_LOGIN ? POSTIE_OK : POSTIE_ERR_UNSUPPORTED);
    assert_int_equal(postie_sasl_cram_md5("<1@x>", 5, "u", "p", out, sizeof out, &n),
                     POSTIE_WITH_SASL_CRAM_MD5 ? POSTIE_OK : POSTIE_ERR_UNSUPPORTED);
    assert_int_equal(postie_sasl_xoauth2("u", "t", out, sizeof out, &n),
                     POSTIE_WITH_SASL_XOAUTH2 ? POSTIE_OK : POSTIE_ERR_UNSUPPORTED);
    assert_int_equal(postie_sasl_oauthbearer("u", "t", NULL, NULL, out, sizeof out, &n),
                     POSTIE_WITH_SASL_OAUTHBEARER ? POSTIE_OK : POSTIE_ERR_UNSUPPORTED);
}

/* AUTH asked only for mechanisms that are not compiled in: ERR_UNSUPPORTED,
 * nothing sent, the session still usable. */
static void test_smtp_auth_not_built(void **state)
{
    unsigned missing = (unsigned)POSTIE_SASL_ALL_MECHS & ~(unsigned)POSTIE_SASL_BUILT_MECHS;

    (void)state;
    assert_true(missing != 0);
    smtp_open();
    assert_int_equal(postie_smtp_auth(&S, missing, "user", "secret"), POSTIE_ERR_UNSUPPORTED);
    fake_assert_script_sent(&F);
    assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_READY);
    fake_step_add(&F, "NOOP\r\n", "250 OK\r\n");
    assert_int_equal(postie_smtp_noop(&S), POSTIE_OK);
    fake_assert_script_sent(&F);
}

#if POSTIE_WITH_SASL_PLAIN && !POSTIE_WITH_SASL_SCRAM
/* Every mechanism allowed and offered: the strongest one compiled in goes
 * (never SCRAM, which is not). */
static void test_smtp_auth_chooses_built(void **state)
{
    (void)state;
    smtp_open();
#if POSTIE_WITH_SASL_CRAM_MD5
    /* HMAC-MD5("secret", "<1@x>") */
    fake_step_add(&F, "AUTH CRAM-MD5\r\n", "334 PDFAeD4=\r\n");
    fake_step_add(&F, "dXNlciA0NDUzYzNkMGZkMTY4NzkyZDU2NWM3MjhiNGRmNjczOQ==\r\n",
                  "235 2.7.0 OK\r\n");
#else
    fake_step_add(&F, "AUTH PLAIN AHVzZXIAc2VjcmV0\r\n", "235 2.7.0 OK\r\n");
#endif
    assert_int_equal(postie_smtp_auth(&S, POSTIE_SASL_ALL_MECHS, "user", "secret"), POSTIE_OK);
    fake_assert_script_sent(&F);
}
#endif

static void test_pop3_auth(void **state)
{
    (void)state;
    pop_open();
#if POSTIE_WITH_POP3_SASL
    assert_string_equal(postie_pop3_sasl_mechs(&P), "PLAIN SCRAM-SHA-256");
#else
    assert_int_equal(postie_pop3_auth(&P, POSTIE_SASL_ALL_MECHS, "user", "secret"),
                     POSTIE_ERR_UNSUPPORTED);
    assert_string_equal(postie_pop3_sasl_mechs(&P), "");
    fake_assert_script_sent(&F);
#endif
}

/* CAPA off: no CAPA, no STLS; a TLS policy that needs STLS is refused
 * before anything is read or sent. */
#if !POSTIE_WITH_POP3_CAPA
static void test_pop3_no_capa(void **state)
{
    (void)state;
    fake_free(&F);
    fake_init(&F, 0);
    fake_bind(&F, &T);
    assert_int_equal(postie_pop3_init(&P, &T), POSTIE_OK); /* policy REQUIRED by default */
    assert_int_equal(postie_pop3_open(&P), POSTIE_ERR_UNSUPPORTED);
    assert_int_equal(postie_pop3_set_tls(&P, POSTIE_TLS_OPPORTUNISTIC, "pop.example.org"),
                     POSTIE_OK);
    assert_int_equal(postie_pop3_open(&P), POSTIE_ERR_UNSUPPORTED);
    assert_int_equal(F.recv_calls, 0);
    assert_int_equal(F.sent_len, 0);
    pop_open(); /* TLS off: the greeting only */
    fake_assert_script_sent(&F);
    assert_int_equal(postie_pop3_capa(&P), POSTIE_ERR_UNSUPPORTED);
    assert_int_equal(postie_pop3_stls(&P, "pop.example.org"), POSTIE_ERR_UNSUPPORTED);
    assert_int_equal(postie_pop3_get_state(&P), POSTIE_POP3_STATE_AUTHORIZATION);
    fake_assert_script_sent(&F);
}
#endif

/* ---- POP3 APOP and pipelining ----------------------------------------------------- */

static void test_pop3_apop(void **state)
{
    (void)state;
    pop_open();
#if POSTIE_WITH_APOP
    assert_string_equal(postie_pop3_timestamp(&P), "<1896.697170952@dbc.mtview.ca.us>");
    fake_step_add(&F, "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n", "+OK ready\r\n");
    assert_int_equal(postie_pop3_login(&P, "mrose", "tanstaaf", POSTIE_POP3_LOGIN_AUTO),
                     POSTIE_OK);
#else
    assert_string_equal(postie_pop3_timestamp(&P), "");
    assert_int_equal(postie_pop3_login(&P, "mrose", "tanstaaf", POSTIE_POP3_LOGIN_APOP),
                     POSTIE_ERR_UNSUPPORTED);
    fake_assert_script_sent(&F);
    /* AUTO: USER/PASS, the only way compiled in */
    fake_step_add(&F, "USER mrose\r\n", "+OK\r\n");
    fake_step_add(&F, "PASS tanstaaf\r\n", "+OK ready\r\n");
    assert_int_equal(postie_pop3_login(&P, "mrose", "tanstaaf", POSTIE_POP3_LOGIN_AUTO),
                     POSTIE_OK);
#endif
    fake_assert_script_sent(&F);
    assert_int_equal(postie_pop3_get_state(&P), POSTIE_POP3_STATE_TRANSACTION);
}

static void test_pop3_pipelining(void **state)
{
    postie_pop3_cmd_kind kind = POSTIE_POP3_CMD_RETR;
    unsigned long msg = 9, octets = 9;

    (void)state;
    pop_open();
    fake_step_add(&F, "USER mrose\r\n", "+OK\r\n");
    fake_step_add(&F, "PASS tanstaaf\r\n", "+OK ready\r\n");
    assert_int_equal(postie_pop3_login(&P, "mrose", "tanstaaf", POSTIE_POP3_LOGIN_USER),
                     POSTIE_OK);
#if POSTIE_WITH_POP3_CAPA
    assert_true(postie_pop3_caps(&P) & POSTIE_POP3_CAP_PIPELINING);
#else
    assert_int_equal(postie_pop3_caps(&P) & ~POSTIE_POP3_CAP_APOP, 0u); /* no CAPA: nothing learnt */
#endif
#if POSTIE_WITH_POP3_PIPELINING
    assert_int_equal(postie_pop3_pipelining(&P), 1);
#else
    assert_int_equal(postie_pop3_pipelining(&P), 0);
    assert_int_equal(postie_pop3_queue_retr(&P, 1), POSTIE_ERR_UNSUPPORTED);
    assert_int_equal(postie_pop3_queue_dele(&P, 1), POSTIE_ERR_UNSUPPORTED);
    assert_int_equal(postie_pop3_queue_noop(&P), POSTIE_ERR_UNSUPPORTED);
    assert_int_equal(postie_pop3_flush(&P), POSTIE_ERR_UNSUPPORTED);
    assert_int_equal(postie_pop3_next(&P, &kind, &msg, &octets), POSTIE_ERR_UNSUPPORTED);
    assert_int_equal(kind, POSTIE_POP3_CMD_NONE);
    assert_int_equal(msg, 0);
#endif
    fake_assert_script_sent(&F);
    /* the plain calls still work, one command at a time */
    fake_step_add(&F, "STAT\r\n", "+OK 2 320\r\n"); /* the count first */
    fake_step_add(&F, "DELE 1\r\n", "+OK\r\n");
    fake_step_add(&F, "QUIT\r\n", "+OK bye\r\n");
    assert_int_equal(postie_pop3_dele(&P, 1), POSTIE_OK);
    assert_int_equal(postie_pop3_quit(&P, NULL), POSTIE_OK);
    fake_assert_script_sent(&F);
}

/* ---- SMTP pipelining, SMTPUTF8 --------------------------------------------------- */

static void test_smtp_envelope(void **state)
{
    postie_smtp_rcpt r[2];
    postie_smtp_envelope env;
    size_t calls;

    (void)state;
    smtp_open();
    memset(&env, 0, sizeof env);
    memset(r, 0, sizeof r);
    r[0].addr = "ann@example.net";
    r[1].addr = "bob@example.net";
    env.from = "tim@example.org";
    env.rcpts = r;
    env.nrcpts = POSTIE_WITH_SMTP_MULTI_RCPT ? 2 : 1;
    fake_step_add(&F, "MAIL FROM:<tim@example.org>\r\n", "250 OK\r\n");
    fake_step_add(&F, "RCPT TO:<ann@example.net>\r\n", "250 OK\r\n");
#if POSTIE_WITH_SMTP_MULTI_RCPT
    fake_step_add(&F, "RCPT TO:<bob@example.net>\r\n", "250 OK\r\n");
#endif
    fake_step_add(&F, "DATA\r\n", "354 go\r\n");
    fake_step_add(&F, "hi\r\n.\r\n", "250 queued\r\n");
    calls = F.send_calls;
    assert_int_equal(postie_smtp_send_buf(&S, &env, "hi\r\n", 4), POSTIE_OK);
    fake_assert_script_sent(&F);
#if !POSTIE_WITH_SMTP_PIPELINING
    /* the server offers PIPELINING, but each command waited for its reply:
     * MAIL, each RCPT, DATA and the message each went in their own send */
    assert_int_equal(F.send_calls - calls, 3 + env.nrcpts);
#else
    assert_true(F.send_calls - calls < 3 + env.nrcpts);
#endif
    env.flags = POSTIE_SMTP_MSG_UTF8;
#if POSTIE_WITH_SMTPUTF8
    (void)env;
#else
    /* as with a server without SMTPUTF8, though this one offers it */
    assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_ERR_UNSUPPORTED);
    fake_assert_script_sent(&F);
#endif
}

/* One recipient, as POSTIE_WITH_SMTP_MULTI_RCPT 0 compiles the mail for:
 * without it an envelope of two is POSTIE_ERR_UNSUPPORTED before anything is
 * sent or written into it (nrcpts 0 stays POSTIE_ERR_PARAM); with one, the
 * same bytes, statuses, replies and recipient record as a build with
 * several recipients (tests/config/postie_config_simple.h runs this too):
 * accepted, refused (RSET, the refusal shown), MAIL refused with 552, and a
 * 421 to the RCPT. */
static void test_smtp_one_rcpt(void **state)
{
    postie_smtp_rcpt r[2];
    postie_smtp_envelope env;

    (void)state;
    smtp_open();
    memset(&env, 0, sizeof env);
    memset(r, 0, sizeof r);
    r[0].addr = "ann@example.net";
    r[0].params = "NOTIFY=NEVER";
    r[1].addr = "bob@example.net";
    env.from = "tim@example.org";
    env.mail_params = "RET=HDRS";
    env.rcpts = r;
    env.nrcpts = 2;
    env.flags = POSTIE_SMTP_MSG_8BIT;
#if !POSTIE_WITH_SMTP_MULTI_RCPT
    r[0].code = r[1].code = 7; /* marks: nothing may write them */
    r[0].status = r[1].status = POSTIE_ERR_INTERNAL;
    env.accepted = 9;
    assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_ERR_UNSUPPORTED);
    assert_int_equal(postie_smtp_send_buf(&S, &env, "hi\r\n", 4), POSTIE_ERR_UNSUPPORTED);
    r[1].addr = "bob@example.net>\r\nRSET"; /* refused before the addresses are read */
    assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_ERR_UNSUPPORTED);
    r[1].addr = "bob@example.net";
    env.nrcpts = 0;
    assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_ERR_PARAM);
    assert_int_equal(F.sent_len, strlen(EHLO)); /* nothing went out after EHLO */
    assert_int_equal(r[0].code, 7);
    assert_int_equal(r[1].code, 7);
    assert_int_equal(r[0].status, POSTIE_ERR_INTERNAL);
    assert_int_equal(r[1].status, POSTIE_ERR_INTERNAL);
    assert_int_equal(env.accepted, 9);
    assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_READY);
#endif
    env.nrcpts = 1;
    fake_step_add(&F, "MAIL FROM:<tim@example.org> BODY=8BITMIME RET=HDRS\r\n",
                  "250 2.1.0 OK\r\n");
    fake_step_add(&F, "RCPT TO:<ann@example.net> NOTIFY=NEVER\r\n", "250 2.1.5 ann OK\r\n");
    assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_OK);
    fake_assert_script_sent(&F);
    assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_MAIL);
    assert_int_equal(env.accepted, 1);
    assert_int_equal(r[0].code, 250);
    assert_string_equal(r[0].enhanced, "2.1.5");
    assert_int_equal(r[0].status, POSTIE_OK);
    assert_string_equal(postie_smtp_reply_text(&S), "ann OK");
    fake_step_add(&F, "DATA\r\n", "354 go\r\n");
    fake_step_add(&F, "..x\r\n.\r\n", "250 2.0.0 queued\r\n");
    assert_int_equal(postie_smtp_data_begin(&S), POSTIE_OK);
    assert_int_equal(postie_smtp_data_write(&S, ".x\n", 3), POSTIE_OK);
    assert_int_equal(postie_smtp_data_end(&S), POSTIE_OK);
    fake_assert_script_sent(&F);
    assert_int_equal(postie_smtp_messages_sent(&S), 1);

    /* the recipient refused: RSET, and its reply is the one shown */
    env.flags = 0;
    env.mail_params = NULL;
    r[0].params = NULL;
    fake_step_add(&F, "MAIL FROM:<tim@example.org>\r\n", "250 OK\r\n");
    fake_step_add(&F, "RCPT TO:<ann@example.net>\r\n", "550 5.1.1 no such user\r\n");
    fake_step_add(&F, "RSET\r\n", "250 2.0.0 flushed\r\n");
    assert_int_equal(postie_smtp_send_buf(&S, &env, "hi\r\n", 4), POSTIE_ERR_RECIPIENTS);
    fake_assert_script_sent(&F);
    assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_READY);
    assert_int_equal(env.accepted, 0);
    assert_int_equal(r[0].code, 550);
    assert_string_equal(r[0].enhanced, "5.1.1");
    assert_int_equal(r[0].status, POSTIE_ERR_SERVER);
    assert_int_equal(postie_smtp_reply_code(&S), 550);
    assert_string_equal(postie_smtp_reply_text(&S), "no such user");
    env.on_refused = POSTIE_SMTP_REFUSED_CONTINUE; /* the same with one recipient */
    fake_step_add(&F, "MAIL FROM:<tim@example.org>\r\n", "250 OK\r\n");
#if POSTIE_WITH_SMTP_PIPELINING
    /* the DATA went with the envelope: its refusal is the one shown */
    fake_step_add(&F, "RCPT TO:<ann@example.net>\r\n", "450 4.2.1 busy\r\n");
    fake_step_add(&F, "DATA\r\n", "554 5.5.1 no valid recipients\r\n");
#else
    fake_step_add(&F, "RCPT TO:<ann@example.net>\r\n", "450 4.2.1 busy\r\n");
#endif
    fake_step_add(&F, "RSET\r\n", "250 2.0.0 flushed\r\n");
    assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_ERR_RECIPIENTS);
    fake_assert_script_sent(&F);
    assert_int_equal(r[0].code, 450);
    assert_int_equal(r[0].status, POSTIE_ERR_TRANSIENT);
    assert_int_equal(postie_smtp_reply_code(&S), POSTIE_WITH_SMTP_PIPELINING ? 554 : 450);
    env.on_refused = POSTIE_SMTP_REFUSED_ABORT;

    /* MAIL refused with 552: no RSET (no transaction was opened) */
    fake_step_add(&F, "MAIL FROM:<tim@example.org>\r\n", "552 5.3.4 too big\r\n");
#if POSTIE_WITH_SMTP_PIPELINING
    fake_step_add(&F, "RCPT TO:<ann@example.net>\r\n", "503 5.5.1 MAIL first\r\n");
#endif
    assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_ERR_TOO_BIG);
    fake_assert_script_sent(&F);
    assert_int_equal(postie_smtp_reply_code(&S), 552);
    assert_string_equal(postie_smtp_reply_enhanced(&S), "5.3.4");
    assert_int_equal(r[0].code, POSTIE_WITH_SMTP_PIPELINING ? 503 : 0);
    assert_int_equal(r[0].status,
                     POSTIE_WITH_SMTP_PIPELINING ? POSTIE_ERR_SERVER : POSTIE_ERR_STATE);
    assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_READY);

    /* a 421 to the RCPT is its reply, and ends the session */
    fake_step_add(&F, "MAIL FROM:<tim@example.org>\r\n", "250 OK\r\n");
    fake_step_add(&F, "RCPT TO:<ann@example.net>\r\n", "421 4.3.2 closing\r\n");
    assert_int_equal(postie_smtp_mail(&S, &env), POSTIE_ERR_TRANSIENT);
    fake_assert_script_sent(&F);
    assert_int_equal(r[0].code, 421);
    assert_string_equal(r[0].enhanced, "4.3.2");
    assert_int_equal(r[0].status, POSTIE_ERR_TRANSIENT);
    assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_CLOSED);
}

#if !POSTIE_WITH_SMTP_MULTI_RCPT && POSTIE_WITH_SMTP_BATCH
/* A batch with a two-recipient envelope: that message alone is refused
 * (POSTIE_ERR_UNSUPPORTED, nothing of it sent, its recipients not written),
 * the next goes. */
static void test_smtp_batch_one_rcpt(void **state)
{
    postie_smtp_rcpt r[3];
    postie_smtp_envelope env[2];
    postie_smtp_msg msg[2];

    (void)state;
    smtp_open();
    memset(env, 0, sizeof env);
    memset(r, 0, sizeof r);
    memset(msg, 0, sizeof msg);
    r[0].addr = "ann@example.net";
    r[1].addr = "bob@example.net";
    r[2].addr = "cat@example.net";
    r[0].code = r[1].code = 7;
    env[0].from = env[1].from = "tim@example.org";
    env[0].rcpts = &r[0];
    env[0].nrcpts = 2;
    env[1].rcpts = &r[2];
    env[1].nrcpts = 1;
    env[0].on_refused = env[1].on_refused = POSTIE_SMTP_REFUSED_CONTINUE;
    msg[0].env = &env[0];
    msg[0].data = "one\r\n";
    msg[0].len = 5;
    msg[1].env = &env[1];
    msg[1].data = "two\r\n";
    msg[1].len = 5;
    fake_step_add(&F, "MAIL FROM:<tim@example.org>\r\n", "250 OK\r\n");
    fake_step_add(&F, "RCPT TO:<cat@example.net>\r\n", "250 2.1.5 OK\r\n");
    fake_step_add(&F, "DATA\r\n", "354 go\r\n");
    fake_step_add(&F, "two\r\n.\r\n", "250 queued\r\n");
    assert_int_equal(postie_smtp_send_batch(&S, msg, 2), POSTIE_OK);
    fake_assert_script_sent(&F);
    assert_int_equal(msg[0].status, POSTIE_ERR_UNSUPPORTED);
    assert_int_equal(msg[0].code, 0);
    assert_int_equal(r[0].code, 7);
    assert_int_equal(r[1].code, 7);
    assert_int_equal(msg[1].status, POSTIE_OK);
    assert_int_equal(r[2].code, 250);
    assert_int_equal(env[1].accepted, 1);
    assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_READY);
}
#endif

/* CHUNKING off: send_batch() to a server that offers CHUNKING (and
 * PIPELINING) uses DATA, one command at a time, and the message arrives. */
#if !POSTIE_WITH_CHUNKING && !POSTIE_WITH_SMTP_PIPELINING && POSTIE_WITH_SMTP_BATCH
static void test_smtp_chunking(void **state)
{
    postie_smtp_rcpt r;
    postie_smtp_envelope env;
    postie_smtp_msg msg;

    (void)state;
    fake_free(&F);
    fake_init(&F, 0);
    fake_step_add(&F, "", SMTP_GREET);
    fake_step_add(&F, EHLO, "250-mx.example.org\r\n250-PIPELINING\r\n250 CHUNKING\r\n");
    fake_bind(&F, &T);
    assert_int_equal(postie_smtp_init(&S, &T), POSTIE_OK);
    assert_int_equal(postie_smtp_set_tls(&S, POSTIE_TLS_OFF, NULL), POSTIE_OK);
    assert_int_equal(postie_smtp_set_domain(&S, "client.example"), POSTIE_OK);
    assert_int_equal(postie_smtp_open(&S), POSTIE_OK);
    memset(&env, 0, sizeof env);
    memset(&r, 0, sizeof r);
    memset(&msg, 0, sizeof msg);
    r.addr = "ann@example.net";
    env.from = "tim@example.org";
    env.rcpts = &r;
    env.nrcpts = 1;
    env.on_refused = POSTIE_SMTP_REFUSED_CONTINUE;
    msg.env = &env;
    msg.data = ".hi\r\n";
    msg.len = 5;
    fake_step_add(&F, "MAIL FROM:<tim@example.org>\r\n", "250 OK\r\n");
    fake_step_add(&F, "RCPT TO:<ann@example.net>\r\n", "250 OK\r\n");
    fake_step_add(&F, "DATA\r\n", "354 go\r\n");
    fake_step_add(&F, "..hi\r\n.\r\n", "250 queued\r\n");
    assert_int_equal(postie_smtp_send_batch(&S, &msg, 1), POSTIE_OK);
    assert_int_equal(msg.status, POSTIE_OK);
    fake_assert_script_sent(&F);
}
#endif

/* send_batch() off: ERR_UNSUPPORTED, nothing sent, no message touched, and
 * the session goes on (send_buf() still sends). */
#if !POSTIE_WITH_SMTP_BATCH
static void test_smtp_no_batch(void **state)
{
    postie_smtp_rcpt r;
    postie_smtp_envelope env;
    postie_smtp_msg msg;

    (void)state;
    smtp_open();
    memset(&env, 0, sizeof env);
    memset(&r, 0, sizeof r);
    memset(&msg, 0, sizeof msg);
    r.addr = "ann@example.net";
    env.from = "tim@example.org";
    env.rcpts = &r;
    env.nrcpts = 1;
    env.on_refused = POSTIE_SMTP_REFUSED_CONTINUE;
    msg.env = &env;
    msg.data = "hi\r\n";
    msg.len = 4;
    msg.status = POSTIE_ERR_INTERNAL; /* a mark: must stay */
    assert_int_equal(postie_smtp_send_batch(&S, &msg, 1), POSTIE_ERR_UNSUPPORTED);
    fake_assert_script_sent(&F); /* nothing went out */
    assert_int_equal(msg.status, POSTIE_ERR_INTERNAL);
    assert_int_equal(r.code, 0);
    assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_READY);
    env.on_refused = POSTIE_SMTP_REFUSED_ABORT;
    fake_step_add(&F, "MAIL FROM:<tim@example.org>\r\n", "250 OK\r\n");
    fake_step_add(&F, "RCPT TO:<ann@example.net>\r\n", "250 OK\r\n");
    fake_step_add(&F, "DATA\r\n", "354 go\r\n");
    fake_step_add(&F, "hi\r\n.\r\n", "250 queued\r\n");
    assert_int_equal(postie_smtp_send_buf(&S, &env, "hi\r\n", 4), POSTIE_OK);
    fake_assert_script_sent(&F);
}
#endif

/* ---- deadlines ------------------------------------------------------------------- */

static unsigned long clock_calls;

static unsigned long test_clock(void *ctx)
{
    (void)ctx;
    clock_calls++;
    return clock_calls * 100000UL; /* 100 s a call: any deadline passes at once */
}

/* POSTIE_WITH_DEADLINE 0: set_deadline says ERR_UNSUPPORTED and sets
 * nothing (the clock is never read; calls are bounded by their per-step
 * timeouts alone). 1: the deadline is kept, and a clock that runs past it
 * ends the call with ERR_TIMEOUT. */
static void test_deadline(void **state)
{
    (void)state;
    fake_free(&F);
    fake_init(&F, 0);
    fake_step_add(&F, "", SMTP_GREET);
    fake_step_add(&F, EHLO, EHLO_REPLY);
    fake_bind(&F, &T);
    assert_int_equal(postie_smtp_init(&S, &T), POSTIE_OK);
    assert_int_equal(postie_smtp_set_tls(&S, POSTIE_TLS_OFF, NULL), POSTIE_OK);
    assert_int_equal(postie_smtp_set_domain(&S, "client.example"), POSTIE_OK);
    clock_calls = 0;
    assert_int_equal(postie_smtp_set_deadline(NULL, 1000, 0, test_clock, NULL), POSTIE_ERR_PARAM);
#if POSTIE_WITH_DEADLINE
    assert_int_equal(postie_smtp_set_deadline(&S, 1000, 0, test_clock, NULL), POSTIE_OK);
    assert_int_equal(postie_smtp_open(&S), POSTIE_ERR_TIMEOUT);
    assert_true(clock_calls > 0);
#else
    assert_int_equal(postie_smtp_set_deadline(&S, 1000, 0, test_clock, NULL),
                     POSTIE_ERR_UNSUPPORTED);
    assert_int_equal(postie_smtp_open(&S), POSTIE_OK);
    fake_assert_script_sent(&F);
    assert_int_equal(clock_calls, 0);
#endif
    fake_free(&F);
    fake_init(&F, 0);
    fake_step_add(&F, "", POP_GREET);
    fake_bind(&F, &T);
    assert_int_equal(postie_pop3_init(&P, &T), POSTIE_OK);
    assert_int_equal(postie_pop3_set_tls(&P, POSTIE_TLS_OFF, NULL), POSTIE_OK);
    assert_int_equal(postie_pop3_set_deadline(NULL, 1000, 0, test_clock, NULL), POSTIE_ERR_PARAM);
#if POSTIE_WITH_DEADLINE
    assert_int_equal(postie_pop3_set_deadline(&P, 1000, 0, test_clock, NULL), POSTIE_OK);
    assert_int_equal(postie_pop3_open_ex(&P, POSTIE_POP3_OPEN_NO_CAPA), POSTIE_ERR_TIMEOUT);
#else
    assert_int_equal(postie_pop3_set_deadline(&P, 1000, 0, test_clock, NULL),
                     POSTIE_ERR_UNSUPPORTED);
    assert_int_equal(postie_pop3_open_ex(&P, POSTIE_POP3_OPEN_NO_CAPA), POSTIE_OK);
    fake_assert_script_sent(&F);
    assert_int_equal(clock_calls, 0);
#endif
}

/* ---- POSTIE_SHARED_BUFFERS: the same bytes with less RAM ---------------------------- */

#if POSTIE_SHARED_BUFFERS && POSTIE_WITH_SASL_PLAIN && POSTIE_WITH_SASL_LOGIN
/* The SASL scratch is the line buffer: LOGIN's two challenges, PLAIN's
 * initial response sent again after an empty challenge (built again: it is
 * not kept), and one too long for the AUTH line, which waits for the empty
 * challenge (512 octets of room now, where POSTIE_SASL_RAW_MAX was 192). */
static void test_shared_auth(void **state)
{
    static char user[201], secret[180], raw[400], b64[600], line[620];
    size_t n = 0;

    (void)state;
    smtp_open();
    fake_step_add(&F, "AUTH LOGIN\r\n", "334 VXNlcm5hbWU6\r\n");
    fake_step_add(&F, "dXNlcg==\r\n", "334 UGFzc3dvcmQ6\r\n");
    fake_step_add(&F, "c2VjcmV0\r\n", "235 2.7.0 OK\r\n");
    assert_int_equal(postie_smtp_auth(&S, POSTIE_SASL_LOGIN, "user", "secret"), POSTIE_OK);
    fake_assert_script_sent(&F);

    smtp_open();
    fake_step_add(&F, "AUTH PLAIN AHVzZXIAc2VjcmV0\r\n", "334 \r\n");
    fake_step_add(&F, "AHVzZXIAc2VjcmV0\r\n", "235 2.7.0 OK\r\n");
    assert_int_equal(postie_smtp_auth(&S, POSTIE_SASL_PLAIN, "user", "secret"), POSTIE_OK);
    fake_assert_script_sent(&F);

    memset(user, 'u', sizeof user - 1);
    memset(secret, 's', sizeof secret - 1);
    raw[0] = '\0';
    memcpy(raw + 1, user, 200);
    raw[201] = '\0';
    memcpy(raw + 202, secret, 179);
    assert_int_equal(postie_base64_encode(raw, 381, b64, sizeof b64, &n), POSTIE_OK);
    assert_int_equal(n, 508); /* "AUTH PLAIN " + 508 + CRLF > 512: it must wait */
    snprintf(line, sizeof line, "%s\r\n", b64);
    smtp_open();
    fake_step_add(&F, "AUTH PLAIN\r\n", "334 \r\n");
    fake_step_add(&F, line, "235 2.7.0 OK\r\n");
    assert_int_equal(postie_smtp_auth(&S, POSTIE_SASL_PLAIN, user, secret), POSTIE_OK);
    fake_assert_script_sent(&F);
    /* nothing of the secret is left in the line buffer that held it */
    assert_null(memchr(postie_smtp_conn(&S)->line.buf, 's', 8));
}
#endif

#if POSTIE_SHARED_BUFFERS
static size_t reader_left;

static postie_status line_reader(void *user, char *buf, size_t cap, size_t *n)
{
    static const char ln[] = "0123456789012345678901234567890123456789012345678\r\n"; /* 51 */
    size_t k = 0;
    (void)user;
    while (reader_left > 0 && cap - k >= sizeof ln - 1) {
        memcpy(buf + k, ln, sizeof ln - 1);
        k += sizeof ln - 1;
        reader_left--;
    }
    *n = k;
    return reader_left == 0 ? POSTIE_DONE : POSTIE_OK;
}

/* send()'s chunks go through the line buffer: a message of several chunks
 * arrives byte for byte, and the reply to its dot is read after it. */
static void test_shared_send(void **state)
{
    static char expect[40 * 51 + 3];
    postie_smtp_rcpt r;
    postie_smtp_envelope env;
    size_t i;

    (void)state;
    for (i = 0; i < 40; i++) {
        memcpy(expect + 51 * i, "0123456789012345678901234567890123456789012345678\r\n", 51);
    }
    memcpy(expect + 40 * 51, ".\r\n", 3);
    smtp_open();
    memset(&env, 0, sizeof env);
    memset(&r, 0, sizeof r);
    r.addr = "ann@example.net";
    env.from = "tim@example.org";
    env.rcpts = &r;
    env.nrcpts = 1;
    fake_step_add(&F, "MAIL FROM:<tim@example.org>\r\n", "250 OK\r\n");
    fake_step_add(&F, "RCPT TO:<ann@example.net>\r\n", "250 OK\r\n");
    fake_step_add(&F, "DATA\r\n", "354 go\r\n");
    fake_step_addn(&F, expect, sizeof expect, "250 2.0.0 queued as 42\r\n", 24);
    reader_left = 40; /* 2040 octets: four chunks of the 512-octet line buffer */
    assert_int_equal(postie_smtp_send(&S, &env, line_reader, NULL), POSTIE_OK);
    fake_assert_script_sent(&F);
    assert_int_equal(postie_smtp_reply_code(&S), 250);
    assert_string_equal(postie_smtp_reply_text(&S), "queued as 42");
    assert_int_equal(S.messages_sent, 1);
}

/* The saved reply shares memory with the DATA encoder and the SASL state:
 * a refused recipient is the reply shown after the RSET, and a message
 * goes out whole after it. */
static void test_shared_saved_reply(void **state)
{
    postie_smtp_rcpt r[2];
    postie_smtp_envelope env;

    (void)state;
    smtp_open();
    memset(&env, 0, sizeof env);
    memset(r, 0, sizeof r);
    r[0].addr = "ann@example.net";
    r[1].addr = "bob@example.net";
    env.from = "tim@example.org";
    env.rcpts = r;
    env.nrcpts = POSTIE_WITH_SMTP_MULTI_RCPT ? 2 : 1;
    fake_step_add(&F, "MAIL FROM:<tim@example.org>\r\n", "250 OK\r\n");
    fake_step_add(&F, "RCPT TO:<ann@example.net>\r\n", "550 5.1.1 no such user\r\n");
#if POSTIE_WITH_SMTP_MULTI_RCPT
    fake_step_add(&F, "RCPT TO:<bob@example.net>\r\n", "250 2.1.5 OK\r\n");
#endif
    fake_step_add(&F, "RSET\r\n", "250 2.0.0 flushed\r\n");
    assert_int_equal(postie_smtp_send_buf(&S, &env, ".x\r\n", 4), POSTIE_ERR_RECIPIENTS);
    fake_assert_script_sent(&F);
    assert_int_equal(postie_smtp_reply_code(&S), 550);
    assert_string_equal(postie_smtp_reply_enhanced(&S), "5.1.1");
    assert_string_equal(postie_smtp_reply_text(&S), "no such user");
    assert_int_equal(r[0].code, 550);
    assert_string_equal(r[0].enhanced, "5.1.1");
#if POSTIE_WITH_SMTP_MULTI_RCPT
    assert_int_equal(r[1].code, 250);
#endif
    env.nrcpts = 1;
    env.rcpts = &r[1];
    fake_step_add(&F, "MAIL FROM:<tim@example.org>\r\n", "250 OK\r\n");
    fake_step_add(&F, "RCPT TO:<bob@example.net>\r\n", "250 OK\r\n");
    fake_step_add(&F, "DATA\r\n", "354 go\r\n");
    fake_step_add(&F, "..x\r\n.\r\n", "250 queued\r\n");
    assert_int_equal(postie_smtp_send_buf(&S, &env, ".x\r\n", 4), POSTIE_OK);
    fake_assert_script_sent(&F);
}
#endif

/* STARTTLS off: a TLS policy that needs it is refused before anything is
 * read; STARTTLS itself says ERR_UNSUPPORTED though the server offers it. */
#if !POSTIE_WITH_SMTP_STARTTLS
static void test_smtp_no_starttls(void **state)
{
    (void)state;
    fake_free(&F);
    fake_init(&F, 0);
    fake_bind(&F, &T);
    assert_int_equal(postie_smtp_init(&S, &T), POSTIE_OK); /* policy REQUIRED by default */
    assert_int_equal(postie_smtp_open(&S), POSTIE_ERR_UNSUPPORTED);
    assert_int_equal(F.recv_calls, 0);
    assert_int_equal(F.sent_len, 0);
    smtp_open();
    assert_true(postie_smtp_has(&S, POSTIE_SMTP_EXT_STARTTLS));
    assert_int_equal(postie_smtp_starttls(&S, "mx.example.org"), POSTIE_ERR_UNSUPPORTED);
    assert_int_equal(postie_smtp_tls_active(&S), 0);
    fake_assert_script_sent(&F);
}
#endif

/* ---- the composer ------------------------------------------------------------- */

static const unsigned char RANDOM[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void message(postie_compose_message *m, postie_compose_address *from,
                    postie_compose_address *to)
{
    postie_compose_message_init(m);
    m->time = 1700000000;
    m->random = RANDOM;
    m->random_len = sizeof RANDOM;
    from->name = NULL;
    from->address = "tim@example.org";
    to->name = NULL;
    to->address = "ann@example.net";
    m->from = *from;
    m->to = to;
    m->to_count = 1;
    m->subject = "status";
    m->priority = POSTIE_COMPOSE_PRIORITY_HIGH;
    m->body = "all well\r\n";
    m->body_len = 10;
}

#if POSTIE_WITH_COMPOSE
static postie_status body_reader(void *user, char *buf, size_t cap, size_t *n)
{
    (void)user;
    (void)buf;
    (void)cap;
    *n = 0;
    return POSTIE_DONE;
}
#endif

static void test_compose(void **state)
{
    static postie_compose c;
    postie_compose_message m;
    postie_compose_address from, to, named;
    postie_compose_attachment att;
    unsigned long long size = 1;
    char date[40];
    static char out[2048];
    size_t n = 0, total = 0;
    postie_status st;

    (void)state;
    message(&m, &from, &to);
#if !POSTIE_WITH_COMPOSE
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_ERR_UNSUPPORTED);
    assert_int_equal(postie_compose_size(&m, &c, &size), POSTIE_ERR_UNSUPPORTED);
    assert_int_equal(size, 0);
    assert_int_equal(postie_compose_read(&c, out, sizeof out, &n), POSTIE_ERR_UNSUPPORTED);
    assert_int_equal(postie_compose_format_date(0, 0, date, sizeof date, NULL),
                     POSTIE_ERR_UNSUPPORTED);
    (void)named;
    (void)att;
    (void)st;
    (void)total;
#else
    (void)date;
    (void)size;
    /* subject, body and priority: compiled in whatever else is off */
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_OK);
    do {
        st = postie_compose_read(&c, out + total, sizeof out - total, &n);
        total += n;
    } while (st == POSTIE_OK);
    assert_int_equal(st, POSTIE_DONE);
    out[total < sizeof out ? total : sizeof out - 1] = '\0';
    assert_non_null(strstr(out, "\r\nSubject: status\r\n"));
    assert_non_null(strstr(out, "\r\nX-Priority: 1 (Highest)\r\n"));
    assert_non_null(strstr(out, "Content-Transfer-Encoding: 7bit\r\n\r\nall well\r\n"));

    memset(&att, 0, sizeof att);
    att.filename = "a.txt";
    att.data = "x";
    att.len = 1;
    m.attachments = &att;
    m.attachment_count = 1;
    assert_int_equal(postie_compose_begin(&c, &m),
                     POSTIE_WITH_COMPOSE_MIME ? POSTIE_OK : POSTIE_ERR_UNSUPPORTED);
    m.attachment_count = 0;

    m.subject = "gr\xc3\xbc\xc3\x9f" "e";
    assert_int_equal(postie_compose_begin(&c, &m),
                     POSTIE_WITH_ENCODED_WORDS ? POSTIE_OK : POSTIE_ERR_UNSUPPORTED);
    m.subject = "status";
    named.name = "J\xc3\xb6rg";
    named.address = "ann@example.net";
    m.to = &named;
    assert_int_equal(postie_compose_begin(&c, &m),
                     POSTIE_WITH_ENCODED_WORDS ? POSTIE_OK : POSTIE_ERR_UNSUPPORTED);
    m.to = &to;

    m.body = "caf\xc3\xa9\r\n";
    m.body_len = 7;
    assert_int_equal(postie_compose_begin(&c, &m),
                     POSTIE_WITH_QP ? POSTIE_OK : POSTIE_ERR_UNSUPPORTED);
    m.allow_8bit = 1; /* 8bit to a server with 8BITMIME: no QP needed */
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_OK);
    m.body_read = body_reader; /* a reader's body is always quoted-printable */
    assert_int_equal(postie_compose_begin(&c, &m),
                     POSTIE_WITH_QP ? POSTIE_OK : POSTIE_ERR_UNSUPPORTED);
#endif
}

#if POSTIE_WITH_COMPOSE && !POSTIE_WITH_COMPOSE_RICH_HEADERS
/* The simple header writer: the bytes the full writer makes for the same
 * message (taken from a default build), and ERR_UNSUPPORTED from begin()
 * for what only the full writer takes: a display name, a subject that
 * would be folded, quoted-string material, a double space, "=?". */
static void test_compose_simple_headers(void **state)
{
    static const char expect[] =
        "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
        "From: tim@example.org\r\n"
        "To: ann@example.net, bob.with.a.longer.name@department.example.net,\r\n"
        " carol@example.net\r\n"
        "Subject: Pump 3: pressure low (sensor 12)\r\n"
        "Message-ID: <1700000000.0102030405060708@example.org>\r\n"
        "X-Priority: 1 (Highest)\r\n"
        "Importance: high\r\n"
#if POSTIE_WITH_COMPOSE_HEADERS
        "X-Device: unit-7 rev B\r\n"
#endif
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "all well\r\n";
    static postie_compose c;
    static char out[2048];
    postie_compose_message m;
    postie_compose_address from, to[3];
    postie_compose_header h;
    size_t n = 0, total = 0;
    postie_status st;

    (void)state;
    message(&m, &from, &to[0]);
    to[1].name = NULL;
    to[1].address = "bob.with.a.longer.name@department.example.net";
    to[2].name = NULL;
    to[2].address = "carol@example.net";
    m.to = to;
    m.to_count = 3;
    m.subject = "Pump 3: pressure low (sensor 12)";
    h.name = "X-Device";
    h.value = "unit-7 rev B";
    m.headers = &h;
    m.header_count = 1;
    m.body = "all well\n";
    m.body_len = 9;
#if !POSTIE_WITH_COMPOSE_HEADERS
    /* no caller header fields: refused, whatever the header */
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_ERR_UNSUPPORTED);
    h.name = "Bcc"; /* a reserved name: still UNSUPPORTED, not PARAM */
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_ERR_UNSUPPORTED);
    h.name = "X-Device";
    m.header_count = 0;
#endif
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_OK);
    do {
        st = postie_compose_read(&c, out + total, sizeof out - total, &n);
        total += n;
    } while (st == POSTIE_OK);
    assert_int_equal(st, POSTIE_DONE);
    assert_int_equal(total, sizeof expect - 1);
    assert_memory_equal(out, expect, total);

    /* 67 characters fit "Subject: " in 76 columns; 68 would be folded */
    m.subject = "0123456789012345678901234567890123456789012345678901234567890123456";
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_OK);
    m.subject = "01234567890123456789012345678901234567890123456789012345678901234567";
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_ERR_UNSUPPORTED);
    m.subject = "two  spaces";
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_ERR_UNSUPPORTED);
    m.subject = "looks =?like?= a word";
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_ERR_UNSUPPORTED);
    m.subject = " leading";
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_ERR_UNSUPPORTED);
    m.subject = "tab\there";
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_ERR_UNSUPPORTED);
    m.subject = "bad\r\nBcc: x@example.org"; /* what no writer takes stays ERR_PARAM */
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_ERR_PARAM);
    m.subject = "";
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_OK);
#if POSTIE_WITH_COMPOSE_HEADERS
    h.value = "a value long enough that it cannot share one line with its field name";
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_ERR_UNSUPPORTED);
    h.value = "unit-7 rev B";
#endif
    to[0].name = "Ann";
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_ERR_UNSUPPORTED);
    to[0].name = "A\r\nB";
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_ERR_PARAM);
    to[0].name = "";
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_OK);
}

/* The simple writer's other address fields (their names are found by
 * position), a Cc folded before an address that does not fit, an empty
 * subject, LOW priority, a last line without its line break; read a byte at
 * a time. Then a subject's PARAM or UNSUPPORTED: not text (not UTF-8, or
 * longer than the longest value) against text only the full writer takes. */
static void test_compose_simple_fields(void **state)
{
    static const char expect[] =
        "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
        "From: tim@example.org\r\n"
        "Reply-To: desk@example.org, night-shift.supervisor@operations.example.org\r\n"
        "To: ann@example.net\r\n"
        "Cc: log@example.net,\r\n"
        " archive.of.all.the.alarms.and.the.reports@long-term-storage.example.net\r\n"
        "Subject:\r\n"
        "Message-ID: <1700000000.0102030405060708@example.org>\r\n"
        "X-Priority: 5 (Lowest)\r\n"
        "Importance: low\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "line one\r\n"
        "line two\r\n";
    static postie_compose c;
    static char out[2048], longer[POSTIE_COMPOSE_VALUE_MAX + 2];
    postie_compose_message m;
    postie_compose_address from, to, reply_to[2], cc[2];
    size_t n = 0, total = 0;
    postie_status st;

    (void)state;
    message(&m, &from, &to);
    reply_to[0].name = NULL;
    reply_to[0].address = "desk@example.org";
    reply_to[1].name = NULL;
    reply_to[1].address = "night-shift.supervisor@operations.example.org";
    cc[0].name = NULL;
    cc[0].address = "log@example.net";
    cc[1].name = NULL;
    cc[1].address = "archive.of.all.the.alarms.and.the.reports@long-term-storage.example.net";
    m.reply_to = reply_to;
    m.reply_to_count = 2;
    m.cc = cc;
    m.cc_count = 2;
    m.subject = "";
    m.priority = POSTIE_COMPOSE_PRIORITY_LOW;
    m.body = "line one\nline two";
    m.body_len = 17;
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_OK);
    do {
        st = postie_compose_read(&c, out + total, 1, &n);
        total += n;
    } while (st == POSTIE_OK && total < sizeof out);
    assert_int_equal(st, POSTIE_DONE);
    assert_int_equal(total, sizeof expect - 1);
    assert_memory_equal(out, expect, total);

    m.subject = "caf\xc3\xa9"; /* UTF-8: the full writer would encode it */
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_ERR_UNSUPPORTED);
    m.subject = "caf\xe9"; /* not UTF-8: no writer takes it */
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_ERR_PARAM);
    memset(longer, 'a', sizeof longer - 1);
    m.subject = longer; /* longer than any value may be */
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_ERR_PARAM);
    longer[POSTIE_COMPOSE_VALUE_MAX - 1] = '\0'; /* the longest value: only too long to fit */
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_ERR_UNSUPPORTED);
}
#endif

/* ---- RAM ---------------------------------------------------------------------- */

static void test_sizes(void **state)
{
    (void)state;
    /* figures for the log (docs/performance.md has the Cortex-M ones) */
    printf("sizeof postie_pop3 %zu, postie_smtp %zu, postie_sasl_x %zu, postie_conn %zu\n",
           sizeof(postie_pop3), sizeof(postie_smtp), sizeof(postie_sasl_x), sizeof(postie_conn));
#if !POSTIE_WITH_SASL_SCRAM
    /* without SCRAM the exchange holds no postie_scram: its buffer and a few bytes */
    assert_true(sizeof(postie_sasl_x) <= POSTIE_SASL_RAW_MAX + 4 * sizeof(size_t));
#endif
#if POSTIE_SHARED_BUFFERS
    /* no buffer of its own: the connection's line buffer is its scratch */
    assert_true(sizeof(postie_sasl_x) <= 4 * sizeof(size_t));
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_sasl_builders),
        cmocka_unit_test(test_smtp_auth_not_built),
#if POSTIE_WITH_SASL_PLAIN && !POSTIE_WITH_SASL_SCRAM
        cmocka_unit_test(test_smtp_auth_chooses_built),
#endif
        cmocka_unit_test(test_pop3_auth),
#if !POSTIE_WITH_POP3_CAPA
        cmocka_unit_test(test_pop3_no_capa),
#endif
        cmocka_unit_test(test_pop3_apop),
        cmocka_unit_test(test_pop3_pipelining),
        cmocka_unit_test(test_smtp_envelope),
        cmocka_unit_test(test_smtp_one_rcpt),
#if !POSTIE_WITH_SMTP_MULTI_RCPT && POSTIE_WITH_SMTP_BATCH
        cmocka_unit_test(test_smtp_batch_one_rcpt),
#endif
#if !POSTIE_WITH_SMTP_STARTTLS
        cmocka_unit_test(test_smtp_no_starttls),
#endif
#if !POSTIE_WITH_CHUNKING && !POSTIE_WITH_SMTP_PIPELINING && POSTIE_WITH_SMTP_BATCH
        cmocka_unit_test(test_smtp_chunking),
#endif
#if !POSTIE_WITH_SMTP_BATCH
        cmocka_unit_test(test_smtp_no_batch),
#endif
        cmocka_unit_test(test_deadline),
#if POSTIE_SHARED_BUFFERS && POSTIE_WITH_SASL_PLAIN && POSTIE_WITH_SASL_LOGIN
        cmocka_unit_test(test_shared_auth),
#endif
#if POSTIE_SHARED_BUFFERS
        cmocka_unit_test(test_shared_send),
        cmocka_unit_test(test_shared_saved_reply),
#endif
        cmocka_unit_test(test_compose),
#if POSTIE_WITH_COMPOSE && !POSTIE_WITH_COMPOSE_RICH_HEADERS
        cmocka_unit_test(test_compose_simple_headers),
        cmocka_unit_test(test_compose_simple_fields),
#endif
        cmocka_unit_test(test_sizes),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    fake_free(&F);
    return rc;
}
