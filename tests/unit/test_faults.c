/*
 * Fault injection (issue 17): a full plain POP3 session (greeting, CAPA,
 * USER/PASS, STAT, UIDL, RETR, DELE, QUIT) and a full plain SMTP session
 * (greeting, EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT), replayed through the
 * public blocking API with the connection
 *   - cut (recv returns 0) at every byte offset of the server's transcript,
 *   - stalled (recv returns POSTIE_ERR_TIMEOUT) at every byte offset, which
 *     includes every step,
 *   - failing on the client's side (send returns POSTIE_ERR_IO) at every send,
 * each with the server's bytes handed out in one piece, one byte at a time and
 * 7 at a time. Every call must return a clean status: the injected one for the
 * call that meets the fault, POSTIE_ERR_STATE for every call after it (the
 * session is dead), its normal status before it; a message read is never
 * reported complete unless it is, QUIT's commit is never claimed unless it
 * happened, the transport is closed, and no call spins (recv and send calls
 * are bounded). The ASan+UBSan build of make test runs this for memory errors
 * and leaks; a watchdog alarm turns a hang into a failure.
 *
 * The same sessions run over TLS too (see "the same sessions over TLS").
 *
 * Only the public API of pop3.h and smtp.h is used, and the scripts hold the
 * bytes RFC 1939 and RFC 5321 prescribe (no PIPELINING offered), so the test
 * outlives any rewrite of the clients' insides.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fake_transport.h"
#include "postie/pop3.h"
#include "postie/smtp.h"

#ifdef POSTIE_FAULTS_TLS
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <openssl/ssl.h>
#include "postie/posix_tls.h"
#endif
#ifdef POSTIE_FAULTS_MBEDTLS
#include <fcntl.h>
#include "postie/mbedtls_tls.h"
#include "postie/posix_tcp.h"
#endif

/* ---- the faulty transport ------------------------------------------------ */

typedef enum fault_kind { FAULT_NONE, FAULT_CUT, FAULT_STALL, FAULT_SEND } fault_kind;

#define MAX_IO_CALLS 20000 /* far above what a session needs: more is a spin */

typedef struct faulty {
    fake_transport f;        /* the scripted server */
    postie_transport inner;  /* its functions */
    fault_kind kind;
    size_t at;               /* CUT/STALL: server bytes handed out before the
                                fault; SEND: index of the send that fails */
    size_t given, sends, recvs, recvs_after_fault;
    int faulted;             /* the fault was met */
} faulty;

static long faulty_recv(void *ctx, void *buf, size_t len, unsigned timeout_ms)
{
    faulty *t = ctx;
    long r;
    if (++t->recvs > MAX_IO_CALLS) {
        fail_msg("recv called more than %d times: the client spins", MAX_IO_CALLS);
    }
    if (t->kind == FAULT_CUT || t->kind == FAULT_STALL) {
        if (t->given >= t->at) {
            if (t->faulted) {
                t->recvs_after_fault++;
            }
            t->faulted = 1;
            return t->kind == FAULT_CUT ? 0 : (long)POSTIE_ERR_TIMEOUT;
        }
        if (len > t->at - t->given) {
            len = t->at - t->given;
        }
    }
    r = t->inner.recv(t->inner.ctx, buf, len, timeout_ms);
    if (r > 0) {
        t->given += (size_t)r;
    }
    return r;
}

static long faulty_send(void *ctx, const void *buf, size_t len, unsigned timeout_ms)
{
    faulty *t = ctx;
    if (++t->sends > MAX_IO_CALLS) {
        fail_msg("send called more than %d times: the client spins", MAX_IO_CALLS);
    }
    if (t->kind == FAULT_SEND && t->sends - 1 >= t->at) {
        t->faulted = 1;
        return (long)POSTIE_ERR_IO;
    }
    return t->inner.send(t->inner.ctx, buf, len, timeout_ms);
}

static void faulty_close(void *ctx)
{
    faulty *t = ctx;
    t->inner.close(t->inner.ctx);
}

/* Wraps inner (copied) in the fault injector. */
static void faulty_wrap(faulty *t, fault_kind kind, size_t at, const postie_transport *inner,
                        postie_transport *tr)
{
    t->kind = kind;
    t->at = at;
    t->given = t->sends = t->recvs = t->recvs_after_fault = 0;
    t->faulted = 0;
    t->inner = *inner;
    memset(tr, 0, sizeof *tr);
    tr->ctx = t;
    tr->send = faulty_send;
    tr->recv = faulty_recv;
    tr->close = faulty_close;
}

/* The fault injector over the scripted server t->f. */
static void faulty_bind(faulty *t, fault_kind kind, size_t at, postie_transport *tr)
{
    postie_transport inner;
    /* a script that runs dry is a stall too (never a wait) */
    t->f.at_end = POSTIE_ERR_TIMEOUT;
    fake_bind(&t->f, &inner);
    faulty_wrap(t, kind, at, &inner, tr);
}

static postie_status injected(const faulty *t)
{
    switch (t->kind) {
    case FAULT_CUT:
        return POSTIE_ERR_CLOSED;
    case FAULT_STALL:
        return POSTIE_ERR_TIMEOUT;
    case FAULT_SEND:
        return POSTIE_ERR_IO;
    default:
        return POSTIE_OK;
    }
}

/* ---- checking a run -------------------------------------------------------- */

#define MAX_CALLS 64

typedef struct run {
    const char *names[MAX_CALLS];
    postie_status got[MAX_CALLS];
    size_t n;
} run;

static void record(run *r, const char *name, postie_status st)
{
    assert_true(r->n < MAX_CALLS);
    r->names[r->n] = name;
    r->got[r->n] = st;
    r->n++;
}

static void print_run(const run *r)
{
    size_t i;
    for (i = 0; i < r->n; i++) {
        print_error("  %-12s %s\n", r->names[i], postie_status_name(r->got[i]));
    }
}

/* A faulted run against the clean one: the same statuses up to the first
 * difference, which is the injected status, then POSTIE_ERR_STATE only. */
static int check_run_as(const run *clean, const run *r, const faulty *t, const char *what,
                        postie_status want1, postie_status want1_alt, size_t chunk);

static void check_run(const run *clean, const run *r, const faulty *t, const char *what)
{
    if (check_run_as(clean, r, t, what, injected(t), injected(t), t->f.chunk) && !t->faulted) {
        print_run(r);
        fail_msg("%s: calls failed at %zu but the fault was never met", what, t->at);
    }
    /* after a cut or a stall the client does not keep reading */
    assert_true(t->recvs_after_fault <= 1);
}

/* want1 (or want1_alt) for the first call that differs from the clean run.
 * Returns 1 when a call differed, 0 when the run was the clean one. */
static int check_run_as(const run *clean, const run *r, const faulty *t, const char *what,
                        postie_status want1, postie_status want1_alt, size_t chunk)
{
    size_t i, first = r->n;
    for (i = 0; i < r->n; i++) {
        if (i >= clean->n || r->got[i] != clean->got[i] ||
            strcmp(r->names[i], clean->names[i]) != 0) {
            first = i;
            break;
        }
    }
    if (first == r->n) {
        if (r->n != clean->n) {
            print_run(r);
            fail_msg("%s: fault at %zu: the session ended early without an error", what, t->at);
        }
        return 0; /* the fault came after the last reply was needed */
    }
    for (i = first; i < r->n; i++) {
        postie_status want = i == first ? want1 : POSTIE_ERR_STATE;
        if (r->got[i] != want && !(i == first && r->got[i] == want1_alt)) {
            print_error("%s: fault at %zu (%s, chunk %zu): call %zu (%s) returned %s, want %s\n",
                        what, t->at, postie_status_name(want1), chunk, i, r->names[i],
                        postie_status_name(r->got[i]), postie_status_name(want));
            print_run(r);
            fail();
        }
    }
    return 1;
}

/* every network step's timeout in the sessions (the fake never waits) */
static unsigned session_timeout_ms = 1000;

/* ---- POP3 ------------------------------------------------------------------ */

static const char pop3_msg[] = "From: a@x.test\r\nSubject: faults\r\n\r\n"
                               ".leading dot\r\n"
                               "bare\nLF and lone\rCR\r\n"
                               "\r\n"
                               ".\r\n"
                               "end\r\n";

static void pop3_script(fake_transport *f, size_t chunk)
{
    fake_init(f, chunk);
    fake_step_add(f, "", "+OK POP3 ready\r\n");
    fake_step_add(f, "CAPA\r\n", "+OK\r\nUSER\r\nUIDL\r\nTOP\r\n.\r\n");
    fake_step_add(f, "USER u\r\n", "+OK\r\n");
    fake_step_add(f, "PASS p\r\n", "+OK 2 messages\r\n");
    fake_step_add(f, "STAT\r\n", "+OK 2 320\r\n");
    fake_step_add(f, "UIDL\r\n", "+OK\r\n1 uid-one\r\n2 uid-two\r\n.\r\n");
    fake_step_add(f, "RETR 1\r\n", "+OK 120 octets\r\n"
                                   "From: a@x.test\r\nSubject: faults\r\n\r\n"
                                   "..leading dot\r\n"
                                   "bare\nLF and lone\rCR\r\n"
                                   "\r\n"
                                   "..\r\n"
                                   "end\r\n"
                                   ".\r\n");
    fake_step_add(f, "DELE 1\r\n", "+OK deleted\r\n");
    fake_step_add(f, "QUIT\r\n", "+OK bye\r\n");
}

typedef struct pop3_out {
    char msg[512];
    size_t msg_len;
    int msg_done;      /* postie_pop3_read said the message is complete */
    int committed;
    char uids[2][POSTIE_POP3_UID_MAX];
} pop3_out;

static void pop3_session(const postie_transport *tr, postie_tls_policy policy, run *r,
                         pop3_out *o)
{
    static postie_pop3 p;
    unsigned long count = 0, octets = 0, msg = 0;
    postie_status st;
    size_t k;

    memset(o, 0, sizeof *o);
    assert_int_equal(postie_pop3_init(&p, tr), POSTIE_OK);
    postie_pop3_set_timeout(&p, session_timeout_ms);
    assert_int_equal(postie_pop3_set_tls(&p, policy, "localhost"), POSTIE_OK);
    postie_pop3_allow_plaintext_credentials(&p, 1);
    record(r, "open", postie_pop3_open(&p));
    record(r, "login", postie_pop3_login(&p, "u", "p", POSTIE_POP3_LOGIN_USER));
    record(r, "stat", postie_pop3_stat(&p, &count, &octets));
    record(r, "uidl_begin", postie_pop3_uidl_begin(&p));
    for (k = 0; k < 3; k++) {
        char uid[POSTIE_POP3_UID_MAX] = "";
        st = postie_pop3_uidl_next(&p, &msg, uid, sizeof uid);
        record(r, "uidl_next", st);
        if (st != POSTIE_OK) {
            break;
        }
        if (k < 2) {
            strcpy(o->uids[k], uid);
        }
    }
    record(r, "retr_begin", postie_pop3_retr_begin(&p, 1, &octets));
    for (;;) {
        char buf[7];
        size_t n = 0;
        st = postie_pop3_read(&p, buf, sizeof buf, &n);
        assert_true(n <= sizeof buf);
        if (n > 0) {
            assert_true(o->msg_len + n <= sizeof o->msg);
            memcpy(o->msg + o->msg_len, buf, n);
            o->msg_len += n;
        }
        if (st != POSTIE_OK) {
            break;
        }
    }
    record(r, "read", st);
    o->msg_done = st == POSTIE_DONE;
    record(r, "dele", postie_pop3_dele(&p, 1));
    o->committed = -1;
    record(r, "quit", postie_pop3_quit(&p, &o->committed));
    postie_pop3_close(&p);
}

static void pop3_faults(fault_kind kind, size_t chunk)
{
    static faulty t;
    postie_transport tr;
    run clean, r;
    pop3_out out;
    size_t total, at, limit;

    /* the clean run: every status, and the bytes */
    pop3_script(&t.f, chunk);
    faulty_bind(&t, FAULT_NONE, 0, &tr);
    memset(&clean, 0, sizeof clean);
    pop3_session(&tr, POSTIE_TLS_OFF, &clean, &out);
    fake_assert_script_sent(&t.f);
    assert_int_equal(out.msg_len, sizeof pop3_msg - 1);
    assert_memory_equal(out.msg, pop3_msg, out.msg_len);
    assert_true(out.msg_done);
    assert_int_equal(out.committed, 1);
    assert_string_equal(out.uids[0], "uid-one");
    assert_string_equal(out.uids[1], "uid-two");
    assert_int_equal(clean.got[clean.n - 1], POSTIE_OK);
    total = fake_reply_total(&t.f);
    limit = kind == FAULT_SEND ? t.sends : total;
    fake_free(&t.f);

    for (at = 0; at <= limit; at++) {
        pop3_script(&t.f, chunk);
        faulty_bind(&t, kind, at, &tr);
        memset(&r, 0, sizeof r);
        pop3_session(&tr, POSTIE_TLS_OFF, &r, &out);
        check_run(&clean, &r, &t, "pop3");
        /* what was read is the message's beginning; complete only when said */
        assert_true(out.msg_len <= sizeof pop3_msg - 1);
        assert_memory_equal(out.msg, pop3_msg, out.msg_len);
        if (out.msg_done) {
            assert_int_equal(out.msg_len, sizeof pop3_msg - 1);
        }
        /* deletions are committed only by a +OK to QUIT */
        if (out.committed == 1) {
            assert_int_equal(r.got[r.n - 1], POSTIE_OK);
            assert_true(kind == FAULT_SEND || at >= total);
        }
        assert_true(t.f.closed >= 1);
        fake_free(&t.f);
    }
}

static void test_pop3_cut_every_byte(void **state)
{
    (void)state;
    pop3_faults(FAULT_CUT, 0);
    pop3_faults(FAULT_CUT, 1);
    pop3_faults(FAULT_CUT, 7);
}

static void test_pop3_stall_every_byte(void **state)
{
    (void)state;
    pop3_faults(FAULT_STALL, 0);
    pop3_faults(FAULT_STALL, 1);
    pop3_faults(FAULT_STALL, 7);
}

static void test_pop3_send_fails_every_send(void **state)
{
    (void)state;
    pop3_faults(FAULT_SEND, 0);
    pop3_faults(FAULT_SEND, 1);
}

/* ---- SMTP ------------------------------------------------------------------ */

static const char smtp_msg[] = "From: a@x.test\nTo: b@x.test\nSubject: faults\n\n"
                               ".leading dot\n"
                               "\r\n.\r\n"
                               "last line without a line end";

static void smtp_script(fake_transport *f, size_t chunk)
{
    fake_init(f, chunk);
    fake_step_add(f, "", "220-mx.x.test ESMTP\r\n220 hello\r\n");
    fake_step_add(f, "EHLO client.x.test\r\n",
                  "250-mx.x.test\r\n250-SIZE 100000\r\n250-8BITMIME\r\n"
                  "250-ENHANCEDSTATUSCODES\r\n250-AUTH PLAIN LOGIN\r\n250 DSN\r\n");
    /* "\0u\0p" */
    fake_step_add(f, "AUTH PLAIN AHUAcA==\r\n", "235 2.7.0 ok\r\n");
    fake_step_add(f, "MAIL FROM:<a@x.test> SIZE=121\r\n", "250 2.1.0 ok\r\n");
    fake_step_add(f, "RCPT TO:<b@x.test>\r\n", "250 2.1.5 ok\r\n");
    fake_step_add(f, "RCPT TO:<c@x.test>\r\n", "250 2.1.5 ok\r\n");
    fake_step_add(f, "DATA\r\n", "354 go ahead\r\n");
    fake_step_add(f, "From: a@x.test\r\nTo: b@x.test\r\nSubject: faults\r\n\r\n"
                     "..leading dot\r\n"
                     "\r\n..\r\n"
                     "last line without a line end\r\n"
                     ".\r\n",
                  "250 2.0.0 queued as 1234\r\n");
    fake_step_add(f, "QUIT\r\n", "221 2.0.0 bye\r\n");
}

typedef struct smtp_out {
    int sent;              /* data_end said the message was sent */
    int end_code;          /* reply code after data_end */
} smtp_out;

static void smtp_session(const postie_transport *tr, postie_tls_policy policy, run *r,
                         smtp_out *o)
{
    static postie_smtp s;
    postie_smtp_rcpt rcpts[2];
    postie_smtp_envelope env;
    postie_status st;
    size_t off;

    memset(o, 0, sizeof *o);
    memset(rcpts, 0, sizeof rcpts);
    memset(&env, 0, sizeof env);
    rcpts[0].addr = "b@x.test";
    rcpts[1].addr = "c@x.test";
    env.from = "a@x.test";
    env.rcpts = rcpts;
    env.nrcpts = 2;
    env.size = 121;
    assert_int_equal(postie_smtp_init(&s, tr), POSTIE_OK);
    assert_int_equal(postie_smtp_set_domain(&s, "client.x.test"), POSTIE_OK);
    postie_smtp_set_timeout(&s, session_timeout_ms);
    assert_int_equal(postie_smtp_set_tls(&s, policy, "localhost"), POSTIE_OK);
    postie_smtp_allow_plaintext_credentials(&s, 1);
    record(r, "open", postie_smtp_open(&s));
    record(r, "auth", postie_smtp_auth(&s, POSTIE_SASL_PLAIN, "u", "p"));
    record(r, "mail", postie_smtp_mail(&s, &env));
    record(r, "data_begin", postie_smtp_data_begin(&s));
    /* the message in 5-byte writes: one status for all of them */
    st = POSTIE_OK;
    for (off = 0; off < sizeof smtp_msg - 1 && st == POSTIE_OK; off += 5) {
        size_t n = sizeof smtp_msg - 1 - off < 5 ? sizeof smtp_msg - 1 - off : 5;
        st = postie_smtp_data_write(&s, smtp_msg + off, n);
    }
    record(r, "data_write", st);
    st = postie_smtp_data_end(&s);
    record(r, "data_end", st);
    o->end_code = postie_smtp_reply_code(&s);
    o->sent = st == POSTIE_OK;
    record(r, "quit", postie_smtp_quit(&s));
    postie_smtp_close(&s);
}

static void smtp_faults(fault_kind kind, size_t chunk)
{
    static faulty t;
    postie_transport tr;
    run clean, r;
    smtp_out out;
    size_t total, at, limit, end_of_250;

    smtp_script(&t.f, chunk);
    faulty_bind(&t, FAULT_NONE, 0, &tr);
    memset(&clean, 0, sizeof clean);
    smtp_session(&tr, POSTIE_TLS_OFF, &clean, &out);
    fake_assert_script_sent(&t.f);
    assert_int_equal(out.sent, 1);
    assert_int_equal(clean.got[clean.n - 1], POSTIE_OK);
    total = fake_reply_total(&t.f);
    /* server bytes up to the end of the 250 to the final dot */
    end_of_250 = total - t.f.steps[t.f.nsteps - 1].reply_len;
    limit = kind == FAULT_SEND ? t.sends : total;
    fake_free(&t.f);

    for (at = 0; at <= limit; at++) {
        smtp_script(&t.f, chunk);
        faulty_bind(&t, kind, at, &tr);
        memset(&r, 0, sizeof r);
        smtp_session(&tr, POSTIE_TLS_OFF, &r, &out);
        check_run(&clean, &r, &t, "smtp");
        /* the message counts as sent exactly when its 250 arrived whole */
        if (kind != FAULT_SEND) {
            assert_int_equal(out.sent, at >= end_of_250 ? 1 : 0);
        }
        assert_true(out.sent <= 1);
        assert_true(t.f.closed >= 1);
        fake_free(&t.f);
    }
}

static void test_smtp_cut_every_byte(void **state)
{
    (void)state;
    smtp_faults(FAULT_CUT, 0);
    smtp_faults(FAULT_CUT, 1);
    smtp_faults(FAULT_CUT, 7);
}

static void test_smtp_stall_every_byte(void **state)
{
    (void)state;
    smtp_faults(FAULT_STALL, 0);
    smtp_faults(FAULT_STALL, 1);
    smtp_faults(FAULT_STALL, 7);
}

static void test_smtp_send_fails_every_send(void **state)
{
    (void)state;
    smtp_faults(FAULT_SEND, 0);
    smtp_faults(FAULT_SEND, 1);
}


#ifdef POSTIE_FAULTS_TLS
/* ---- the same sessions over TLS ---------------------------------------------
 * The client is the OpenSSL transport (ports/posix) over one end of a
 * socketpair, verifying a certificate made at test time by
 * tests/tls/gen-certs.sh; an OpenSSL server thread on the other end plays the
 * script in records of at most 7 bytes and, at the chosen offset of its
 * plain-text transcript, cuts the connection (a bare close, no close_notify)
 * or stalls (holds it open, sending nothing, until the client closes). Also
 * a cut in the middle of the handshake. Implicit TLS (POP3S, submissions).
 * With POSTIE_FAULTS_MBEDTLS, the same runs again with the mbed TLS
 * transport (ports/mbedtls) as the client, over postie_tcp on the socketpair. */

/* The client: the OpenSSL transport, or (faults_mbedtls) the mbed TLS one. */
typedef struct tls_client {
    postie_openssl o;
#ifdef POSTIE_FAULTS_MBEDTLS
    postie_tcp tcp;
    postie_transport tcp_tr;
    postie_mbedtls m;
#endif
} tls_client;
static int faults_mbedtls;

#define TLS_STALL_MS 300 /* the client's timeout in the stall runs */

typedef struct tls_server {
    SSL_CTX *ctx;
    int fd;
    const fake_transport *script;
    fault_kind kind;  /* FAULT_NONE, FAULT_CUT or FAULT_STALL */
    size_t at;        /* plain-text server bytes before the fault */
    int handshake_cut;
    char got[2048];   /* what the client sent, decrypted */
    size_t got_len;
    int error;        /* the server itself failed (not the client) */
    pthread_t th;
} tls_server;

/* Reads until the client closes (or fails). */
static void tls_drain(SSL *ssl)
{
    char buf[512];
    while (SSL_read(ssl, buf, sizeof buf) > 0) {
    }
}

static void *tls_server_main(void *arg)
{
    tls_server *s = arg;
    SSL *ssl;
    size_t i, given = 0;

    if (s->handshake_cut) {
        char buf[64];
        (void)!read(s->fd, buf, sizeof buf); /* the start of the ClientHello */
        close(s->fd);
        return NULL;
    }
    ssl = SSL_new(s->ctx);
    if (ssl == NULL || SSL_set_fd(ssl, s->fd) != 1 || SSL_accept(ssl) != 1) {
        s->error = 1;
        goto out;
    }
    for (i = 0; i < s->script->nsteps; i++) {
        const fake_step *st = &s->script->steps[i];
        size_t need = st->expect_len, off;
        while (need > 0) {
            char buf[512];
            int n = SSL_read(ssl, buf, (int)(need < sizeof buf ? need : sizeof buf));
            if (n <= 0) {
                goto out; /* the client gave up */
            }
            if (s->got_len + (size_t)n <= sizeof s->got) {
                memcpy(s->got + s->got_len, buf, (size_t)n);
                s->got_len += (size_t)n;
            }
            need -= (size_t)n;
        }
        for (off = 0; off < st->reply_len;) {
            size_t n = st->reply_len - off < 7 ? st->reply_len - off : 7;
            if (s->kind != FAULT_NONE && given + n > s->at) {
                n = s->at - given;
            }
            if (n > 0) {
                if (SSL_write(ssl, st->reply + off, (int)n) <= 0) {
                    goto out;
                }
                off += n;
                given += n;
            }
            if (s->kind != FAULT_NONE && given >= s->at) {
                goto fault;
            }
        }
        if (s->kind != FAULT_NONE && given >= s->at) {
            goto fault;
        }
    }
    tls_drain(ssl); /* the clean end: the client closes after QUIT */
    (void)SSL_shutdown(ssl);
    goto out;
fault:
    if (s->kind == FAULT_STALL) {
        tls_drain(ssl); /* nothing more is sent; the client must time out */
    }
    /* FAULT_CUT: the socket is closed under the client, no close_notify */
out:
    SSL_free(ssl);
    close(s->fd);
    return NULL;
}

static SSL_CTX *tls_server_ctx(void)
{
    static SSL_CTX *ctx;
    if (ctx == NULL) {
        ctx = SSL_CTX_new(TLS_server_method());
        assert_non_null(ctx);
        assert_int_equal(SSL_CTX_use_certificate_chain_file(ctx, POSTIE_TLS_CERT_DIR "/server.pem"),
                         1);
        assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, POSTIE_TLS_CERT_DIR "/server.key",
                                                     SSL_FILETYPE_PEM), 1);
    }
    return ctx;
}

#ifdef POSTIE_FAULTS_MBEDTLS
/* ca.pem, read once: the mbed TLS transport takes its CAs in memory. */
static const unsigned char *ca_pem(size_t *len)
{
    static unsigned char buf[8192];
    static size_t n;
    if (n == 0) {
        FILE *f = fopen(POSTIE_TLS_CERT_DIR "/ca.pem", "rb");
        assert_non_null(f);
        n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        assert_true(n > 0 && n < sizeof buf);
    }
    *len = n;
    return buf;
}
#endif

/* Starts the server thread on a socketpair and connects the client over TLS.
 * Returns what postie_openssl_start() (or postie_mbedtls_start()) returned;
 * *tr is the client's transport when that is POSTIE_OK. */
static postie_status tls_start(tls_server *srv, const fake_transport *script, fault_kind kind,
                               size_t at, int handshake_cut, tls_client *c,
                               postie_transport *tr)
{
    int sv[2];
    postie_openssl_options o;
    postie_status st;

    memset(srv, 0, sizeof *srv);
    srv->ctx = tls_server_ctx();
    srv->script = script;
    srv->kind = kind;
    srv->at = at;
    srv->handshake_cut = handshake_cut;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    srv->fd = sv[1];
    assert_int_equal(pthread_create(&srv->th, NULL, tls_server_main, srv), 0);
    memset(c, 0, sizeof *c);
#ifdef POSTIE_FAULTS_MBEDTLS
    if (faults_mbedtls) {
        postie_mbedtls_options mo;
        postie_mbedtls_options_init(&mo);
        mo.ca = ca_pem(&mo.ca_len);
        mo.handshake_timeout_ms = 5000;
        /* postie_tcp waits with poll() on a non-blocking socket */
        assert_int_equal(fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK), 0);
        c->tcp.fd = sv[0];
        postie_tcp_transport(&c->tcp, &c->tcp_tr);
        assert_int_equal(postie_mbedtls_init(&c->m, &c->tcp_tr, &mo), POSTIE_OK);
        st = postie_mbedtls_start(&c->m, "localhost");
        if (st == POSTIE_OK) {
            postie_mbedtls_transport(&c->m, tr);
        }
        return st;
    }
#endif
    postie_openssl_options_init(&o);
    o.ca_file = POSTIE_TLS_CERT_DIR "/ca.pem";
    o.handshake_timeout_ms = 5000;
    assert_int_equal(postie_openssl_init(&c->o, sv[0], &o), POSTIE_OK);
    st = postie_openssl_start(&c->o, "localhost");
    if (st == POSTIE_OK) {
        postie_openssl_transport(&c->o, tr);
    }
    return st;
}

static void tls_finish(tls_server *srv, tls_client *c)
{
    /* again: safe, and closes the socket if a session did not */
#ifdef POSTIE_FAULTS_MBEDTLS
    if (faults_mbedtls) {
        postie_mbedtls_close(&c->m);
    } else
#endif
    {
        postie_openssl_close(&c->o);
    }
    assert_int_equal(pthread_join(srv->th, NULL), 0);
    assert_int_equal(srv->error, 0);
}

/* the script's client bytes, in order */
static size_t script_expect(const fake_transport *f, char *out, size_t cap)
{
    size_t i, n = 0;
    for (i = 0; i < f->nsteps; i++) {
        assert_true(n + f->steps[i].expect_len <= cap);
        memcpy(out + n, f->steps[i].expect, f->steps[i].expect_len);
        n += f->steps[i].expect_len;
    }
    return n;
}

/* Offsets of the faults: every byte for a cut; each step's start and the
 * middle of its reply for a stall (each stall costs a timeout). */
static int tls_fault_offset(const fake_transport *f, fault_kind kind, size_t k, size_t *at)
{
    size_t i, pos = 0;
    if (kind == FAULT_CUT) {
        *at = k;
        return k <= fake_reply_total(f);
    }
    for (i = 0; i < f->nsteps; i++) {
        if (k == 2 * i) {
            *at = pos;
            return 1;
        }
        if (k == 2 * i + 1) {
            *at = pos + f->steps[i].reply_len / 2;
            return 1;
        }
        pos += f->steps[i].reply_len;
    }
    return 0;
}

static void pop3_tls_faults(fault_kind kind)
{
    static tls_server srv;
    static fake_transport script;
    static tls_client t;
    static faulty w;
    postie_transport inner, tr;
    run clean, r;
    pop3_out out;
    char want[1024];
    size_t k, at, wlen;

    pop3_script(&script, 0);
    wlen = script_expect(&script, want, sizeof want);
    session_timeout_ms = 5000;
    assert_int_equal(tls_start(&srv, &script, FAULT_NONE, 0, 0, &t, &inner), POSTIE_OK);
    faulty_wrap(&w, FAULT_NONE, 0, &inner, &tr);
    memset(&clean, 0, sizeof clean);
    pop3_session(&tr, POSTIE_TLS_IMPLICIT, &clean, &out);
    tls_finish(&srv, &t);
    assert_int_equal(srv.got_len, wlen);
    assert_memory_equal(srv.got, want, wlen);
    assert_int_equal(out.msg_len, sizeof pop3_msg - 1);
    assert_memory_equal(out.msg, pop3_msg, out.msg_len);
    assert_int_equal(out.committed, 1);

    session_timeout_ms = kind == FAULT_STALL ? TLS_STALL_MS : 5000;
    for (k = 0; tls_fault_offset(&script, kind, k, &at); k++) {
        assert_int_equal(tls_start(&srv, &script, kind, at, 0, &t, &inner), POSTIE_OK);
        faulty_wrap(&w, FAULT_NONE, 0, &inner, &tr);
        memset(&r, 0, sizeof r);
        pop3_session(&tr, POSTIE_TLS_IMPLICIT, &r, &out);
        tls_finish(&srv, &t);
        w.at = at;
        check_run_as(&clean, &r, &w, "pop3/tls", kind == FAULT_CUT ? POSTIE_ERR_CLOSED
                                                                   : POSTIE_ERR_TIMEOUT,
                     kind == FAULT_CUT ? POSTIE_ERR_IO : POSTIE_ERR_TIMEOUT, 7);
        assert_memory_equal(out.msg, pop3_msg, out.msg_len);
        if (out.msg_done) {
            assert_int_equal(out.msg_len, sizeof pop3_msg - 1);
        }
        if (out.committed == 1) {
            assert_int_equal(r.got[r.n - 1], POSTIE_OK);
        }
    }
    assert_true(k > 1);
    fake_free(&script);
}

static void smtp_tls_faults(fault_kind kind)
{
    static tls_server srv;
    static fake_transport script;
    static tls_client t;
    static faulty w;
    postie_transport inner, tr;
    run clean, r;
    smtp_out out;
    char want[1024];
    size_t k, at, wlen, end_of_250;

    smtp_script(&script, 0);
    wlen = script_expect(&script, want, sizeof want);
    end_of_250 = fake_reply_total(&script) - script.steps[script.nsteps - 1].reply_len;
    session_timeout_ms = 5000;
    assert_int_equal(tls_start(&srv, &script, FAULT_NONE, 0, 0, &t, &inner), POSTIE_OK);
    faulty_wrap(&w, FAULT_NONE, 0, &inner, &tr);
    memset(&clean, 0, sizeof clean);
    smtp_session(&tr, POSTIE_TLS_IMPLICIT, &clean, &out);
    tls_finish(&srv, &t);
    assert_int_equal(srv.got_len, wlen);
    assert_memory_equal(srv.got, want, wlen);
    assert_int_equal(out.sent, 1);

    session_timeout_ms = kind == FAULT_STALL ? TLS_STALL_MS : 5000;
    for (k = 0; tls_fault_offset(&script, kind, k, &at); k++) {
        assert_int_equal(tls_start(&srv, &script, kind, at, 0, &t, &inner), POSTIE_OK);
        faulty_wrap(&w, FAULT_NONE, 0, &inner, &tr);
        memset(&r, 0, sizeof r);
        smtp_session(&tr, POSTIE_TLS_IMPLICIT, &r, &out);
        tls_finish(&srv, &t);
        w.at = at;
        check_run_as(&clean, &r, &w, "smtp/tls", kind == FAULT_CUT ? POSTIE_ERR_CLOSED
                                                                   : POSTIE_ERR_TIMEOUT,
                     kind == FAULT_CUT ? POSTIE_ERR_IO : POSTIE_ERR_TIMEOUT, 7);
        /* sent exactly when the 250 to the final dot arrived whole */
        assert_int_equal(out.sent, at >= end_of_250 ? 1 : 0);
    }
    assert_true(k > 1);
    fake_free(&script);
}

static void test_tls_cut_every_byte(void **state)
{
    (void)state;
    pop3_tls_faults(FAULT_CUT);
    smtp_tls_faults(FAULT_CUT);
}

static void test_tls_stall_every_step(void **state)
{
    (void)state;
    pop3_tls_faults(FAULT_STALL);
    smtp_tls_faults(FAULT_STALL);
}

static void test_tls_handshake_cut(void **state)
{
    static tls_server srv;
    static fake_transport script;
    static tls_client t;
    postie_transport tr;
    postie_status st;
    (void)state;
    pop3_script(&script, 0);
    st = tls_start(&srv, &script, FAULT_CUT, 0, 1, &t, &tr);
    if (st != POSTIE_ERR_CLOSED && st != POSTIE_ERR_IO && st != POSTIE_ERR_TLS) {
        fail_msg("handshake cut: %s_start returned %s",
                 faults_mbedtls ? "postie_mbedtls" : "postie_openssl", postie_status_name(st));
    }
    tls_finish(&srv, &t);
    fake_free(&script);
}

#ifdef POSTIE_FAULTS_MBEDTLS
/* The same three over the mbed TLS transport. */
static void test_mbedtls_handshake_cut(void **state)
{
    faults_mbedtls = 1;
    test_tls_handshake_cut(state);
    faults_mbedtls = 0;
}

static void test_mbedtls_cut_every_byte(void **state)
{
    faults_mbedtls = 1;
    test_tls_cut_every_byte(state);
    faults_mbedtls = 0;
}

static void test_mbedtls_stall_every_step(void **state)
{
    faults_mbedtls = 1;
    test_tls_stall_every_step(state);
    faults_mbedtls = 0;
}
#endif

static int make_certs(void **state)
{
    (void)state;
    if (system("sh '" POSTIE_TLS_GEN_CERTS "' '" POSTIE_TLS_CERT_DIR "' >/dev/null") != 0) {
        fprintf(stderr, "cannot make test certificates with %s\n", POSTIE_TLS_GEN_CERTS);
        return -1;
    }
    return 0;
}
#endif /* POSTIE_FAULTS_TLS */

static void on_alarm(int sig)
{
    static const char msg[] = "test_faults: watchdog: a session hangs\n";
    (void)sig;
    (void)!write(2, msg, sizeof msg - 1);
    _exit(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pop3_cut_every_byte),
        cmocka_unit_test(test_pop3_stall_every_byte),
        cmocka_unit_test(test_pop3_send_fails_every_send),
        cmocka_unit_test(test_smtp_cut_every_byte),
        cmocka_unit_test(test_smtp_stall_every_byte),
        cmocka_unit_test(test_smtp_send_fails_every_send),
    };
#ifdef POSTIE_FAULTS_TLS
    const struct CMUnitTest tls_tests[] = {
        cmocka_unit_test(test_tls_handshake_cut),
        cmocka_unit_test(test_tls_cut_every_byte),
        cmocka_unit_test(test_tls_stall_every_step),
#ifdef POSTIE_FAULTS_MBEDTLS
        cmocka_unit_test(test_mbedtls_handshake_cut),
        cmocka_unit_test(test_mbedtls_cut_every_byte),
        cmocka_unit_test(test_mbedtls_stall_every_step),
#endif
    };
#endif
    int failed;
    signal(SIGALRM, on_alarm);
    signal(SIGPIPE, SIG_IGN); /* the test's own server writes to closed sockets */
    alarm(240);
    failed = cmocka_run_group_tests(tests, NULL, NULL);
#ifdef POSTIE_FAULTS_TLS
    failed += cmocka_run_group_tests_name("tls", tls_tests, make_certs, NULL);
#endif
    return failed;
}
