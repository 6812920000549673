/*
 * tls_interop - the POP3 and SMTP clients over TLS against the loopback
 * Dovecot and Postfix of scripts/teststack.sh (docs/interop.md): STLS and
 * POP3S, STARTTLS and SMTPS, each verified against the stack's own CA for
 * "localhost"; SCRAM-SHA-256 on both protocols (and the server signature it
 * checks); the TLS policy (USER/PASS without allowance over TLS, refused in
 * clear); and the refusals: a wrong host name, an unknown CA, a pinned
 * fingerprint that does not match, an expired certificate.
 *
 * Settings come from the environment (BUILD/stack/env, or NAME=VALUE
 * arguments): STACK_HOST, POP3_PORT, POP3S_PORT, SMTP_PORT, SMTPS_PORT,
 * SMTPS_EXPIRED_PORT, TLS_SERVER_NAME, TLS_CA, TLS_OTHER_CA, USER1, PASS1,
 * USER2. Prints "ok - ..." / "not ok - ..." and "N passed, N failed".
 *
 * Every scenario runs once over the OpenSSL transport (ports/posix) and,
 * when the build has it, once more over the mbed TLS transport
 * (ports/mbedtls, over a postie_tcp transport, the CA given in memory);
 * the second run's lines start with "[mbedtls]". Both must give the same
 * statuses and the same refusal texts.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interop_util.h"

#include "postie/pop3.h"
#include "postie/posix_clock.h"
#include "postie/posix_random.h"
#include "postie/posix_tcp.h"
#include "postie/smtp.h"
#ifdef POSTIE_HAVE_OPENSSL
#include "postie/posix_tls.h"
#endif
#ifdef POSTIE_HAVE_MBEDTLS
#include "postie/mbedtls_tls.h"
#endif


#if defined(POSTIE_HAVE_OPENSSL) || defined(POSTIE_HAVE_MBEDTLS)

/* Which TLS transport the scenarios run over. */
enum impl { IMPL_OPENSSL, IMPL_MBEDTLS };
static enum impl cur_impl;

/* check() with "[mbedtls] " before the text on the mbed TLS run. */
static int tcheck(int cond, const char *fmt, ...) PRINTF_LIKE(2, 3);
static int tcheck(int cond, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return check(cond, "%s%s", cur_impl == IMPL_MBEDTLS ? "[mbedtls] " : "", text);
}
#define check tcheck

static const char *cfg_host, *cfg_pop3, *cfg_pop3s, *cfg_smtp, *cfg_smtps, *cfg_smtps_expired;
static const char *cfg_name, *cfg_ca, *cfg_other_ca, *cfg_user1, *cfg_pass1, *cfg_user2;

static const char *sn(postie_status st)
{
    return postie_status_name(st);
}

/* One connection: TCP, then the TLS transport (plain until start_tls). */
typedef struct conn {
    postie_tcp tcp;
#ifdef POSTIE_HAVE_OPENSSL
    postie_openssl tls;
#endif
#ifdef POSTIE_HAVE_MBEDTLS
    postie_transport tcp_tr; /* the mbed TLS transport's inner transport */
    postie_mbedtls mtls;
#endif
    postie_transport tr;
    int have_tls;
} conn;

/* The TLS transport's reason for its last failure. */
static const char *err_text(const conn *c)
{
    if (!c->have_tls) {
        return "";
    }
#ifdef POSTIE_HAVE_MBEDTLS
    if (cur_impl == IMPL_MBEDTLS) {
        return postie_mbedtls_error_text(&c->mtls);
    }
#endif
#ifdef POSTIE_HAVE_OPENSSL
    return postie_openssl_error_text(&c->tls);
#else
    return "";
#endif
}

#ifdef POSTIE_HAVE_MBEDTLS
/* The CA files, read once: the mbed TLS transport takes its CAs in memory. */
static const unsigned char *ca_in_memory(const char *path, size_t *len)
{
    static struct {
        const char *path;
        char *text;
        size_t len;
    } cache[2];
    size_t i;
    for (i = 0; i < 2 && cache[i].path != NULL; i++) {
        if (strcmp(cache[i].path, path) == 0) {
            *len = cache[i].len;
            return (const unsigned char *)cache[i].text;
        }
    }
    if (i == 2) {
        return NULL;
    }
    cache[i].text = slurp(path, &cache[i].len);
    if (cache[i].text == NULL) {
        return NULL;
    }
    cache[i].path = path;
    *len = cache[i].len;
    return (const unsigned char *)cache[i].text;
}
#endif

typedef struct tls_cfg {
    const char *ca;          /* CA file; NULL: the stack's CA */
    int bad_pin;             /* pin a certificate hash that is not the server's */
} tls_cfg;

/* Connects and prepares the TLS transport; implicit: runs the handshake for
 * name now. Returns POSTIE_OK or the failing status (the handshake's, for
 * implicit TLS; the reason is in c->tls). */
static postie_status conn_open(conn *c, const char *port, const tls_cfg *cfg, int implicit,
                               const char *name)
{
    const char *ca = cfg != NULL && cfg->ca != NULL ? cfg->ca : cfg_ca;
    postie_status st;

    memset(c, 0, sizeof *c);
    st = postie_tcp_connect(&c->tcp, cfg_host, port, 10000);
    if (st != POSTIE_OK) {
        return st;
    }
#ifdef POSTIE_HAVE_MBEDTLS
    if (cur_impl == IMPL_MBEDTLS) {
        postie_mbedtls_options o;
        postie_mbedtls_options_init(&o);
        o.ca = ca_in_memory(ca, &o.ca_len);
        o.handshake_timeout_ms = 10000;
        o.clock = postie_posix_clock_ms;
        if (cfg != NULL && cfg->bad_pin) {
            o.pin_kind = POSTIE_MBEDTLS_PIN_CERT;
            memset(o.pin_sha256, 0xab, sizeof o.pin_sha256);
        }
        postie_tcp_transport(&c->tcp, &c->tcp_tr);
        st = postie_mbedtls_init(&c->mtls, &c->tcp_tr, &o);
        if (st != POSTIE_OK) {
            postie_tcp_close(&c->tcp);
            return st;
        }
        c->have_tls = 1; /* closing mtls closes tcp */
        postie_mbedtls_transport(&c->mtls, &c->tr);
        return implicit ? postie_mbedtls_start(&c->mtls, name) : POSTIE_OK;
    }
#endif
#ifdef POSTIE_HAVE_OPENSSL
    {
        postie_openssl_options o;
        postie_openssl_options_init(&o);
        o.ca_file = ca;
        o.handshake_timeout_ms = 10000;
        if (cfg != NULL && cfg->bad_pin) {
            o.pin_kind = POSTIE_OPENSSL_PIN_CERT;
            memset(o.pin_sha256, 0xab, sizeof o.pin_sha256);
        }
        st = postie_openssl_init(&c->tls, c->tcp.fd, &o);
        if (st != POSTIE_OK) {
            postie_tcp_close(&c->tcp);
            return st;
        }
        c->tcp.fd = -1;
        c->have_tls = 1;
        postie_openssl_transport(&c->tls, &c->tr);
        return implicit ? postie_openssl_start(&c->tls, name) : POSTIE_OK;
    }
#else
    (void)implicit;
    (void)name;
    (void)ca;
    postie_tcp_close(&c->tcp);
    return POSTIE_ERR_UNSUPPORTED;
#endif
}

static void conn_close(conn *c)
{
    if (c->have_tls) {
        c->tr.close(c->tr.ctx);
        c->have_tls = 0;
    } else {
        postie_tcp_close(&c->tcp);
    }
}

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- POP3 ------------------------------------------------------------------ */

static postie_pop3 P;

static void pop3_stls(void)
{
    conn c;
    postie_status st = conn_open(&c, cfg_pop3, NULL, 0, NULL);
    unsigned long n = 0;
    int committed = 0;

    if (!check(st == POSTIE_OK, "pop3 connect (%s)", sn(st))) {
        return;
    }
    postie_pop3_init(&P, &c.tr);
    postie_pop3_set_timeout(&P, 10000);
    postie_pop3_set_tls(&P, POSTIE_TLS_REQUIRED, cfg_name);
    st = postie_pop3_open(&P);
    check(st == POSTIE_OK && postie_pop3_tls_active(&P) &&
              !(postie_pop3_caps(&P) & POSTIE_POP3_CAP_STLS) &&
              (postie_pop3_caps(&P) & POSTIE_POP3_CAP_USER),
          "pop3 STLS by the REQUIRED policy, verified for %s; CAPA over TLS has no STLS (%s, caps 0x%x)",
          cfg_name, sn(st), postie_pop3_caps(&P));
    st = postie_pop3_login(&P, cfg_user1, cfg_pass1, POSTIE_POP3_LOGIN_USER);
    check(st == POSTIE_OK, "pop3 USER/PASS over STLS without the plaintext allowance (%s)", sn(st));
    st = postie_pop3_stat(&P, &n, NULL);
    check(st == POSTIE_OK, "pop3 STAT over STLS (%s)", sn(st));
    st = postie_pop3_quit(&P, &committed);
    check(st == POSTIE_OK && committed, "pop3 QUIT over STLS (%s)", sn(st));
    conn_close(&c);
}

static void pop3_scram(const char *port, int implicit, const char *pass, postie_status want,
                       const char *what)
{
    conn c;
    postie_status st = conn_open(&c, port, NULL, implicit, cfg_name);

    if (!check(st == POSTIE_OK, "pop3 connect for %s (%s %s)", what, sn(st),
               err_text(&c))) {
        conn_close(&c);
        return;
    }
    postie_pop3_init(&P, &c.tr);
    postie_pop3_set_timeout(&P, 10000);
    postie_pop3_set_tls(&P, implicit ? POSTIE_TLS_IMPLICIT : POSTIE_TLS_OFF, NULL);
    postie_pop3_set_random(&P, postie_posix_random, NULL);
    st = postie_pop3_open(&P);
    if (check(st == POSTIE_OK && strstr(postie_pop3_sasl_mechs(&P), "SCRAM-SHA-256") != NULL,
              "pop3 open for %s; CAPA offers SCRAM-SHA-256 (%s: %s)", what, sn(st),
              postie_pop3_sasl_mechs(&P))) {
        if (!implicit) {
            st = postie_pop3_login(&P, cfg_user1, pass, POSTIE_POP3_LOGIN_USER);
            check(st == POSTIE_ERR_INSECURE, "pop3 USER/PASS in clear without allowance: %s",
                  sn(st));
        }
        st = postie_pop3_auth(&P, POSTIE_SASL_PASSWORD_MECHS, cfg_user1, pass);
        check(st == want, "pop3 AUTH SCRAM-SHA-256 %s: %s (want %s; %s)", what, sn(st), sn(want),
              postie_pop3_reply_text(&P));
        if (st == POSTIE_OK) {
            unsigned long n = 0;
            st = postie_pop3_stat(&P, &n, NULL);
            check(st == POSTIE_OK, "pop3 STAT after SCRAM %s (%s)", what, sn(st));
        }
        (void)postie_pop3_quit(&P, NULL);
    }
    postie_pop3_close(&P);
    conn_close(&c);
}

/* Implicit TLS refusals: the handshake must fail with the right reason. */
static void refusal(const char *proto, const char *port, const tls_cfg *cfg, const char *name,
                    const char *reason, const char *what)
{
    conn c;
    postie_status st = conn_open(&c, port, cfg, 1, name);
    const char *why = err_text(&c);

    check(st == POSTIE_ERR_TLS_VERIFY && starts(why, reason),
          "%s implicit TLS refused: %s (%s: %s)", proto, what, sn(st), why);
    conn_close(&c);
}

static void pop3_stls_refused(void)
{
    conn c;
    tls_cfg other = {NULL, 0};
    postie_status st;

    other.ca = cfg_other_ca;
    st = conn_open(&c, cfg_pop3, &other, 0, NULL);
    if (!check(st == POSTIE_OK, "pop3 connect (%s)", sn(st))) {
        return;
    }
    postie_pop3_init(&P, &c.tr);
    postie_pop3_set_timeout(&P, 10000);
    postie_pop3_set_tls(&P, POSTIE_TLS_REQUIRED, cfg_name);
    st = postie_pop3_open(&P);
    check(st == POSTIE_ERR_TLS_VERIFY && postie_pop3_get_state(&P) == POSTIE_POP3_STATE_CLOSED &&
              starts(err_text(&c), "unknown CA"),
          "pop3 STLS with an unknown CA: open fails, session closed (%s: %s)", sn(st),
          err_text(&c));
    st = postie_pop3_login(&P, cfg_user1, cfg_pass1, POSTIE_POP3_LOGIN_USER);
    check(st == POSTIE_ERR_STATE, "pop3 no login after a failed STLS (%s)", sn(st));
    conn_close(&c);
}

/* ---- SMTP ------------------------------------------------------------------- */

static postie_smtp S;

static int smtp_session(conn *c, postie_tls_policy policy)
{
    postie_smtp_init(&S, &c->tr);
    postie_smtp_set_timeout(&S, 20000);
    postie_smtp_set_domain(&S, "client.postie.test");
    postie_smtp_set_random(&S, postie_posix_random, NULL);
    return postie_smtp_set_tls(&S, policy, policy == POSTIE_TLS_IMPLICIT ? NULL : cfg_name) ==
           POSTIE_OK;
}

static void smtp_starttls(void)
{
    conn c;
    postie_smtp_rcpt r;
    postie_smtp_envelope env;
    static const char msg[] = "From: <a@postie.test>\r\nTo: <b@postie.test>\r\n"
                              "Subject: over STARTTLS\r\n\r\nsent over STARTTLS with SCRAM\r\n";
    postie_status st = conn_open(&c, cfg_smtp, NULL, 0, NULL);

    if (!check(st == POSTIE_OK, "smtp connect (%s)", sn(st))) {
        return;
    }
    smtp_session(&c, POSTIE_TLS_REQUIRED);
    st = postie_smtp_open(&S);
    check(st == POSTIE_OK && postie_smtp_tls_active(&S) &&
              !postie_smtp_has(&S, POSTIE_SMTP_EXT_STARTTLS) &&
              postie_smtp_has(&S, POSTIE_SMTP_EXT_AUTH),
          "smtp STARTTLS by the REQUIRED policy, EHLO again over TLS (%s: %s)", sn(st),
          postie_smtp_extensions(&S)->auth_names);
    st = postie_smtp_auth(&S, POSTIE_SASL_PASSWORD_MECHS, cfg_user1, cfg_pass1);
    check(st == POSTIE_OK && (postie_smtp_extensions(&S)->auth & POSTIE_SASL_SCRAM_SHA256),
          "smtp AUTH over STARTTLS picks SCRAM-SHA-256 and the server proves itself (%s %d %s)",
          sn(st), postie_smtp_reply_code(&S), postie_smtp_reply_text(&S));
    memset(&r, 0, sizeof r);
    memset(&env, 0, sizeof env);
    r.addr = cfg_user2;
    env.from = cfg_user1;
    env.rcpts = &r;
    env.nrcpts = 1;
    st = postie_smtp_send_buf(&S, &env, msg, sizeof msg - 1);
    check(st == POSTIE_OK, "smtp message sent over STARTTLS (%s %d)", sn(st),
          postie_smtp_reply_code(&S));
    st = postie_smtp_quit(&S);
    check(st == POSTIE_OK, "smtp QUIT over STARTTLS (%s)", sn(st));
    conn_close(&c);
}

static void smtp_implicit(unsigned mechs, const char *pass, postie_status want, const char *what)
{
    conn c;
    postie_status st = conn_open(&c, cfg_smtps, NULL, 1, cfg_name);

    if (!check(st == POSTIE_OK, "smtps handshake verified for %s (%s %s)", cfg_name, sn(st),
               err_text(&c))) {
        conn_close(&c);
        return;
    }
    smtp_session(&c, POSTIE_TLS_IMPLICIT);
    st = postie_smtp_open(&S);
    if (check(st == POSTIE_OK && !postie_smtp_has(&S, POSTIE_SMTP_EXT_STARTTLS),
              "smtps open, no STARTTLS offered inside TLS (%s)", sn(st))) {
        st = postie_smtp_auth(&S, mechs, cfg_user1, pass);
        check(st == want, "smtps AUTH %s: %s (want %s; %d %s)", what, sn(st), sn(want),
              postie_smtp_reply_code(&S), postie_smtp_reply_text(&S));
        (void)postie_smtp_quit(&S);
    }
    postie_smtp_close(&S);
    conn_close(&c);
}

static void smtp_plain_scram(void)
{
    conn c;
    postie_status st = conn_open(&c, cfg_smtp, NULL, 0, NULL);

    if (!check(st == POSTIE_OK, "smtp connect (%s)", sn(st))) {
        return;
    }
    smtp_session(&c, POSTIE_TLS_OFF);
    st = postie_smtp_open(&S);
    if (check(st == POSTIE_OK && !postie_smtp_tls_active(&S), "smtp open in clear (policy OFF)")) {
        st = postie_smtp_auth(&S, POSTIE_SASL_PLAIN | POSTIE_SASL_LOGIN, cfg_user1, cfg_pass1);
        check(st == POSTIE_ERR_INSECURE, "smtp AUTH PLAIN/LOGIN in clear without allowance: %s",
              sn(st));
        st = postie_smtp_auth(&S, POSTIE_SASL_SCRAM_SHA256, cfg_user1, cfg_pass1);
        check(st == POSTIE_OK, "smtp AUTH SCRAM-SHA-256 in clear (allowed: no secret on the wire): %s",
              sn(st));
        (void)postie_smtp_quit(&S);
    }
    postie_smtp_close(&S);
    conn_close(&c);
}

static void smtp_starttls_refused(void)
{
    conn c;
    tls_cfg pin = {NULL, 1};
    postie_status st = conn_open(&c, cfg_smtp, &pin, 0, NULL);

    if (!check(st == POSTIE_OK, "smtp connect (%s)", sn(st))) {
        return;
    }
    smtp_session(&c, POSTIE_TLS_REQUIRED);
    st = postie_smtp_open(&S);
    check(st == POSTIE_ERR_TLS_VERIFY && postie_smtp_get_state(&S) == POSTIE_SMTP_STATE_CLOSED &&
              starts(err_text(&c), "pin mismatch"),
          "smtp STARTTLS with a pin that does not match: open fails (%s: %s)", sn(st),
          err_text(&c));
    st = postie_smtp_auth(&S, POSTIE_SASL_PASSWORD_MECHS, cfg_user1, cfg_pass1);
    check(st == POSTIE_ERR_STATE, "smtp no AUTH after a failed STARTTLS (%s)", sn(st));
    postie_smtp_close(&S);
    conn_close(&c);
}

static void run_all(tls_cfg other, tls_cfg pin)
{
    pop3_stls();
    pop3_scram(cfg_pop3s, 1, cfg_pass1, POSTIE_OK, "over POP3S");
    pop3_scram(cfg_pop3s, 1, "not-the-password", POSTIE_ERR_AUTH, "with a wrong password");
    pop3_scram(cfg_pop3, 0, cfg_pass1, POSTIE_OK, "in clear (no secret on the wire)");
    refusal("pop3s", cfg_pop3s, NULL, "mail.postie.test", "host name mismatch", "wrong host name");
    refusal("pop3s", cfg_pop3s, &other, cfg_name, "unknown CA", "unknown CA");
    refusal("pop3s", cfg_pop3s, &pin, cfg_name, "pin mismatch", "pinned fingerprint mismatch");
    pop3_stls_refused();

    smtp_starttls();
    smtp_implicit(POSTIE_SASL_PLAIN, cfg_pass1, POSTIE_OK, "PLAIN over SMTPS (no allowance needed)");
    smtp_implicit(POSTIE_SASL_SCRAM_SHA256, cfg_pass1, POSTIE_OK, "SCRAM-SHA-256 over SMTPS");
    smtp_implicit(POSTIE_SASL_SCRAM_SHA256, "not-the-password", POSTIE_ERR_AUTH,
                  "SCRAM-SHA-256 with a wrong password");
    smtp_plain_scram();
    refusal("smtps", cfg_smtps, NULL, "mail.postie.test", "host name mismatch", "wrong host name");
    refusal("smtps", cfg_smtps, &other, cfg_name, "unknown CA", "unknown CA");
    refusal("smtps", cfg_smtps, &pin, cfg_name, "pin mismatch", "pinned fingerprint mismatch");
    refusal("smtps", cfg_smtps_expired, NULL, cfg_name, "certificate has expired",
            "expired certificate");
    smtp_starttls_refused();
}

int main(int argc, char **argv)
{
    int i;
    tls_cfg other = {NULL, 0}, pin = {NULL, 1};

    for (i = 1; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (eq == NULL || eq == argv[i]) {
            fprintf(stderr, "usage: %s [NAME=VALUE...]\n", argv[0]);
            return 2;
        }
        *eq = '\0';
        setenv(argv[i], eq + 1, 1);
    }
    cfg_host = need("STACK_HOST");
    cfg_pop3 = need("POP3_PORT");
    cfg_pop3s = need("POP3S_PORT");
    cfg_smtp = need("SMTP_PORT");
    cfg_smtps = need("SMTPS_PORT");
    cfg_smtps_expired = need("SMTPS_EXPIRED_PORT");
    cfg_name = need("TLS_SERVER_NAME");
    cfg_ca = need("TLS_CA");
    cfg_other_ca = need("TLS_OTHER_CA");
    cfg_user1 = need("USER1");
    cfg_pass1 = need("PASS1");
    cfg_user2 = need("USER2");
    other.ca = cfg_other_ca;

    for (cur_impl = IMPL_OPENSSL; cur_impl <= IMPL_MBEDTLS; cur_impl++) {
#ifndef POSTIE_HAVE_OPENSSL
        if (cur_impl == IMPL_OPENSSL) {
            continue;
        }
#endif
#ifndef POSTIE_HAVE_MBEDTLS
        if (cur_impl == IMPL_MBEDTLS) {
            printf("# mbed TLS transport not built: its run is skipped\n");
            continue;
        }
#endif
        printf("# TLS interop (%s transport) against %s: POP3 %s/%s, SMTP %s/%s, CA %s\n",
               cur_impl == IMPL_MBEDTLS ? "mbed TLS" : "OpenSSL", cfg_host, cfg_pop3, cfg_pop3s,
               cfg_smtp, cfg_smtps, cfg_ca);
        run_all(other, pin);
    }


    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

#else /* no TLS transport in this build */

int main(void)
{
    check(1, "TLS interop # SKIP built without OpenSSL and mbed TLS");
    printf("%d passed, %d failed\n", passed, failed);
    return 0;
}

#endif
