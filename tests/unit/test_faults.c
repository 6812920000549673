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

static void faulty_bind(faulty *t, fault_kind kind, size_t at, postie_transport *tr)
{
    t->kind = kind;
    t->at = at;
    t->given = t->sends = t->recvs = t->recvs_after_fault = 0;
    t->faulted = 0;
    /* a script that runs dry is a stall too (never a wait) */
    t->f.at_end = POSTIE_ERR_TIMEOUT;
    fake_bind(&t->f, &t->inner);
    memset(tr, 0, sizeof *tr);
    tr->ctx = t;
    tr->send = faulty_send;
    tr->recv = faulty_recv;
    tr->close = faulty_close;
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
static void check_run(const run *clean, const run *r, const faulty *t, const char *what)
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
        return; /* the fault came after the last reply was needed */
    }
    for (i = first; i < r->n; i++) {
        postie_status want = i == first ? injected(t) : POSTIE_ERR_STATE;
        if (r->got[i] != want) {
            print_error("%s: fault at %zu (%s, chunk %zu): call %zu (%s) returned %s, want %s\n",
                        what, t->at, postie_status_name(injected(t)), t->f.chunk, i,
                        r->names[i], postie_status_name(r->got[i]), postie_status_name(want));
            print_run(r);
            fail();
        }
    }
    if (!t->faulted) {
        print_run(r);
        fail_msg("%s: calls failed at %zu but the fault was never met", what, t->at);
    }
    /* after a cut or a stall the client does not keep reading */
    assert_true(t->recvs_after_fault <= 1);
}

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

static void pop3_session(const postie_transport *tr, run *r, pop3_out *o)
{
    static postie_pop3 p;
    unsigned long count = 0, octets = 0, msg = 0;
    postie_status st;
    size_t k;

    memset(o, 0, sizeof *o);
    assert_int_equal(postie_pop3_init(&p, tr), POSTIE_OK);
    assert_int_equal(postie_pop3_set_tls(&p, POSTIE_TLS_OFF, NULL), POSTIE_OK);
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
    pop3_session(&tr, &clean, &out);
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
        pop3_session(&tr, &r, &out);
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

static void smtp_session(const postie_transport *tr, run *r, smtp_out *o)
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
    assert_int_equal(postie_smtp_set_tls(&s, POSTIE_TLS_OFF, NULL), POSTIE_OK);
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
    smtp_session(&tr, &clean, &out);
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
        smtp_session(&tr, &r, &out);
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
    signal(SIGALRM, on_alarm);
    alarm(240);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
