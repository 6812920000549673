/* The callback driver (rawcb.h) against a fake "raw TCP" stack shaped like
 * lwIP's: the fake delivers a scripted POP3 or SMTP server transcript in
 * chunks of random size (the driver takes what fits and the fake offers the
 * rest again later, as a port keeps a pbuf), accepts writes only into a
 * small send window that it frees in random amounts (the sent callback),
 * sometimes refuses a write (ERR_MEM), and reports errors, a closing peer
 * and the passing of time (the poll callback). Every run must end with the
 * application's DONE, the client having written exactly the transcript's
 * bytes and the messages read byte-identical. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "postie/pop3.h"
#include "postie/rawcb.h"
#include "postie/smtp.h"

/* ---- the fake stack ---------------------------------------------------------- */

#define BIG 65536

typedef struct step {
    const char *expect; /* client bytes that unlock reply ("" for the greeting) */
    const char *reply;
} step;

typedef struct fake_tcp {
    postie_rawcb d;
    const step *script;
    size_t nsteps, next;   /* next step whose expect is awaited */
    char srv[BIG];         /* server bytes unlocked so far */
    size_t srv_len, srv_pos;
    char cli[BIG];         /* client bytes written */
    size_t cli_len, matched;
    size_t cli_at_unlock[16]; /* cli_len when each step's reply was unlocked */
    size_t window, inflight; /* send buffer size, bytes written not yet "sent" */
    size_t max_chunk;
    unsigned seed;
    int refuse;            /* refuse some writes (lwIP's ERR_MEM) */
    int gone;              /* the err callback was given */
    int writes_after_gone;
    int tls_calls, tls_async; /* start_tls calls; 1: it answers AGAIN */
    size_t outputs;
} fake_tcp;

static unsigned rnd(fake_tcp *f)
{
    f->seed = f->seed * 1103515245u + 12345u;
    return (f->seed >> 16) & 0x7fff;
}

static void unlock(fake_tcp *f)
{
    while (f->next < f->nsteps) {
        const step *s = &f->script[f->next];
        size_t n = strlen(s->expect);
        if (f->cli_len - f->matched < n) {
            return;
        }
        if (memcmp(f->cli + f->matched, s->expect, n) != 0) {
            fprintf(stderr, "step %zu: expected \"%s\", client wrote \"%.*s\"\n", f->next,
                    s->expect, (int)(f->cli_len - f->matched), f->cli + f->matched);
            fail();
        }
        f->matched += n;
        if (f->next < 16) {
            f->cli_at_unlock[f->next] = f->cli_len;
        }
        assert_true(f->srv_len + strlen(s->reply) <= sizeof f->srv);
        memcpy(f->srv + f->srv_len, s->reply, strlen(s->reply));
        f->srv_len += strlen(s->reply);
        f->next++;
    }
}

static long io_write(void *ctx, const void *data, size_t len)
{
    fake_tcp *f = ctx;
    size_t n = len;

    if (f->gone) {
        f->writes_after_gone++;
        return POSTIE_ERR_IO;
    }
    /* the driver never writes past the window the stack reported */
    assert_true(len >= 1);
    assert_true(len <= f->window - f->inflight);
    if (f->refuse && rnd(f) % 5 == 0) {
        return 0; /* ERR_MEM: try later */
    }
    if (f->refuse && n > 1 && rnd(f) % 3 == 0) {
        n = 1 + rnd(f) % n; /* takes part of it */
    }
    assert_true(f->cli_len + n <= sizeof f->cli);
    memcpy(f->cli + f->cli_len, data, n);
    f->cli_len += n;
    f->inflight += n;
    unlock(f);
    return (long)n;
}

static void io_output(void *ctx)
{
    ((fake_tcp *)ctx)->outputs++;
}

static postie_status io_start_tls(void *ctx)
{
    fake_tcp *f = ctx;
    f->tls_calls++;
    return f->tls_async ? POSTIE_AGAIN : POSTIE_OK;
}

static void fake_init(fake_tcp *f, const step *script, size_t nsteps, size_t window,
                      size_t max_chunk, unsigned seed)
{
    memset(f, 0, sizeof *f);
    f->script = script;
    f->nsteps = nsteps;
    f->window = window;
    f->max_chunk = max_chunk;
    f->seed = seed;
    unlock(f); /* the greeting */
}

static void fake_io(fake_tcp *f, postie_rawcb_io *io, int with_tls)
{
    memset(io, 0, sizeof *io);
    io->write = io_write;
    io->output = io_output;
    io->start_tls = with_tls ? io_start_tls : NULL;
    io->ctx = f;
}

/* Random stack events until the run ends or nothing can happen any more.
 * A handshake left running is reported done with tls_report at a random
 * moment (POSTIE_AGAIN: never). */
static postie_status drive(fake_tcp *f, postie_status st, postie_status tls_report)
{
    long guard = 0;

    while (st == POSTIE_AGAIN && guard++ < 2000000) {
        unsigned r = rnd(f) % 4;
        size_t n = 0;
        if (f->d.tls_pending && tls_report != POSTIE_AGAIN && rnd(f) % 4 == 0) {
            st = postie_rawcb_tls_done(&f->d, tls_report);
        } else if (r == 0 && f->inflight > 0) {
            size_t k = 1 + rnd(f) % f->inflight;
            f->inflight -= k;
            st = postie_rawcb_sent(&f->d, k);
        } else if (r == 1 && f->srv_pos < f->srv_len) {
            size_t left = f->srv_len - f->srv_pos, k = 1 + rnd(f) % f->max_chunk, taken = 0;
            if (k > left) {
                k = left;
            }
            st = postie_rawcb_recv(&f->d, f->srv + f->srv_pos, k, &taken);
            assert_true(taken <= k);
            f->srv_pos += taken; /* the rest is offered again later */
        } else if (r == 2) {
            st = postie_rawcb_poll(&f->d, 0);
        } else if (f->inflight == 0 && f->srv_pos == f->srv_len &&
                   postie_conn_out(f->d.conn, &n) == NULL &&
                   (!f->d.tls_pending || tls_report == POSTIE_AGAIN)) {
            break; /* waiting for the server, and the script has nothing more */
        }
    }
    return st;
}

/* ---- a POP3 application: log in, fetch two messages, quit ------------------- */

typedef struct pop_app {
    postie_pop3 p;
    int phase;
    size_t rcap;           /* read() buffer size */
    char body[2][8192];
    size_t body_len[2];
} pop_app;

static postie_status pop_step(void *user)
{
    pop_app *a = user;
    postie_status st;
    char buf[4096];
    size_t n;

    for (;;) {
        switch (a->phase) {
        case 0: st = postie_pop3_open(&a->p); break;
        case 1: st = postie_pop3_login(&a->p, "u", "p", POSTIE_POP3_LOGIN_USER); break;
        case 2: case 4:
            st = postie_pop3_retr_begin(&a->p, (unsigned long)(a->phase / 2), NULL);
            break;
        case 3: case 5: {
            int k = a->phase / 2 - 1;
            st = postie_pop3_read(&a->p, buf, a->rcap, &n);
            if (st == POSTIE_OK) {
                assert_true(a->body_len[k] + n <= sizeof a->body[k]);
                memcpy(a->body[k] + a->body_len[k], buf, n);
                a->body_len[k] += n;
                continue; /* each chunk as it arrives */
            }
            if (st == POSTIE_DONE) {
                st = POSTIE_OK;
            }
            break;
        }
        case 6:
            st = postie_pop3_quit(&a->p, NULL);
            if (st == POSTIE_OK) {
                a->phase++;
                return POSTIE_DONE;
            }
            return st;
        default:
            return POSTIE_ERR_STATE;
        }
        if (st != POSTIE_OK) {
            return st; /* AGAIN, START_TLS or the failure */
        }
        a->phase++;
    }
}

static postie_status pop_tls_started(void *user, postie_status r)
{
    return postie_pop3_tls_started(&((pop_app *)user)->p, r);
}

static const char MSG1[] = "Subject: one\r\n\r\n.leading dot\r\n.\r\nend\r\n";
static char MSG2[6000];
static char MSG2_WIRE[7000];

static void make_msg2(void)
{
    size_t i, n = 0, w = 0;
    for (i = 0; n < sizeof MSG2 - 100; i++) {
        int k = snprintf(MSG2 + n, sizeof MSG2 - n, "%sline %zu of the second message\r\n",
                         i % 4 == 0 ? "." : "", i);
        n += (size_t)k;
    }
    /* dot-stuffed as the server sends it */
    for (i = 0; i < n; i++) {
        if (MSG2[i] == '.' && (i == 0 || MSG2[i - 1] == '\n')) {
            MSG2_WIRE[w++] = '.';
        }
        MSG2_WIRE[w++] = MSG2[i];
    }
    memcpy(MSG2_WIRE + w, ".\r\n", 4);
}

static char RETR2_REPLY[8000];

static const step *pop3_script(size_t *n, int stls)
{
    static step s[16];
    size_t k = 0;

    snprintf(RETR2_REPLY, sizeof RETR2_REPLY, "+OK message follows\r\n%s", MSG2_WIRE);
    s[k++] = (step){"", "+OK POP3 ready\r\n"};
    if (stls) {
        s[k++] = (step){"CAPA\r\n", "+OK\r\nSTLS\r\nUSER\r\n.\r\n"};
        s[k++] = (step){"STLS\r\n", "+OK begin TLS\r\n"};
    }
    s[k++] = (step){"CAPA\r\n", "+OK\r\nUSER\r\nUIDL\r\n.\r\n"};
    s[k++] = (step){"USER u\r\n", "+OK\r\n"};
    s[k++] = (step){"PASS p\r\n", "+OK logged in\r\n"};
    s[k++] = (step){"STAT\r\n", "+OK 2 6100\r\n"};
    s[k++] = (step){"RETR 1\r\n", "+OK\r\nSubject: one\r\n\r\n..leading dot\r\n..\r\nend\r\n.\r\n"};
    s[k++] = (step){"RETR 2\r\n", RETR2_REPLY};
    s[k++] = (step){"QUIT\r\n", "+OK bye\r\n"};
    *n = k;
    return s;
}

static void pop_setup(fake_tcp *f, pop_app *a, int stls, int with_tls, size_t rcap)
{
    postie_rawcb_io io;
    postie_rawcb_app app = {pop_step, pop_tls_started, NULL};

    memset(a, 0, sizeof *a);
    a->rcap = rcap;
    assert_int_equal(postie_pop3_init_nb(&a->p), POSTIE_OK);
    if (stls) {
        assert_int_equal(postie_pop3_set_tls(&a->p, POSTIE_TLS_REQUIRED, "mail.example.org"),
                         POSTIE_OK);
    } else {
        assert_int_equal(postie_pop3_set_tls(&a->p, POSTIE_TLS_OFF, NULL), POSTIE_OK);
        postie_pop3_allow_plaintext_credentials(&a->p, 1);
    }
    app.user = a;
    fake_io(f, &io, with_tls);
    assert_int_equal(postie_rawcb_init(&f->d, postie_pop3_conn(&a->p), &io, &app, f->window, 5000),
                     POSTIE_OK);
}

static fake_tcp F;
static pop_app A;

static void check_pop_done(const fake_tcp *f, const pop_app *a, postie_status st)
{
    assert_int_equal(st, POSTIE_DONE);
    assert_int_equal(f->next, f->nsteps);        /* every command was sent... */
    assert_int_equal(f->matched, f->cli_len);    /* ...and nothing else */
    assert_int_equal(f->srv_pos, f->srv_len);    /* every server byte was taken */
    assert_int_equal(a->body_len[0], strlen(MSG1));
    assert_memory_equal(a->body[0], MSG1, strlen(MSG1));
    assert_int_equal(a->body_len[1], strlen(MSG2));
    assert_memory_equal(a->body[1], MSG2, strlen(MSG2));
    assert_int_equal(f->writes_after_gone, 0);
}

static const size_t windows[] = {1, 2, 5, 16, 64, 536, 8192};
static const size_t chunks[] = {1, 3, 17, 100, 1460, 4000};

static void test_pop3_random_chunks_small_window(void **state)
{
    size_t w, c, nsteps;
    unsigned seed;
    const step *script = pop3_script(&nsteps, 0);
    (void)state;

    for (w = 0; w < sizeof windows / sizeof windows[0]; w++) {
        for (c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
            for (seed = 1; seed <= 4; seed++) {
                postie_status st;
                fake_init(&F, script, nsteps, windows[w], chunks[c], seed * 7919u + (unsigned)w);
                F.refuse = seed % 2 == 0;
                pop_setup(&F, &A, 0, 0, seed == 3 ? 1 : 4096);
                st = drive(&F, postie_rawcb_start(&F.d), POSTIE_OK);
                check_pop_done(&F, &A, st);
                assert_int_equal(postie_rawcb_result(&F.d), POSTIE_DONE);
                /* finished: later events change nothing */
                assert_int_equal(postie_rawcb_poll(&F.d, 100000), POSTIE_DONE);
            }
        }
    }
}

static void test_pop3_stls_async_handshake(void **state)
{
    size_t nsteps, c;
    const step *script = pop3_script(&nsteps, 1);
    (void)state;

    for (c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        postie_status st;
        fake_init(&F, script, nsteps, 16, chunks[c], 99u + (unsigned)c);
        F.tls_async = 1;
        pop_setup(&F, &A, 1, 1, 512);
        st = drive(&F, postie_rawcb_start(&F.d), POSTIE_OK);
        check_pop_done(&F, &A, st);
        assert_int_equal(F.tls_calls, 1);
        assert_int_equal(postie_pop3_tls_active(&A.p), 1);
    }
    /* a handshake that finishes at once (start_tls returns OK) */
    fake_init(&F, script, nsteps, 64, 100, 5u);
    pop_setup(&F, &A, 1, 1, 512);
    check_pop_done(&F, &A, drive(&F, postie_rawcb_start(&F.d), POSTIE_OK));
    assert_int_equal(F.tls_calls, 1);
}

static void test_pop3_stls_failures(void **state)
{
    size_t nsteps;
    const step *script = pop3_script(&nsteps, 1);
    postie_status st;
    (void)state;

    /* the handshake fails: the session ends with the handshake's status */
    fake_init(&F, script, nsteps, 64, 100, 7u);
    F.tls_async = 1;
    pop_setup(&F, &A, 1, 1, 512);
    st = drive(&F, postie_rawcb_start(&F.d), POSTIE_ERR_TLS_VERIFY);
    assert_int_equal(st, POSTIE_ERR_TLS_VERIFY);
    assert_int_equal(F.next, 3); /* nothing after STLS */
    assert_int_equal(F.matched, F.cli_len);
    assert_int_equal(postie_rawcb_tls_done(&F.d, POSTIE_OK), POSTIE_ERR_STATE);

    /* a port without TLS */
    fake_init(&F, script, nsteps, 64, 100, 8u);
    pop_setup(&F, &A, 1, 0, 512);
    st = drive(&F, postie_rawcb_start(&F.d), POSTIE_OK);
    assert_true(st < 0);
    assert_int_equal(F.tls_calls, 0);
    assert_int_equal(F.next, 3);

    /* a handshake that never ends: the poll callback's clock */
    fake_init(&F, script, nsteps, 64, 100, 9u);
    F.tls_async = 1;
    pop_setup(&F, &A, 1, 1, 512);
    st = drive(&F, postie_rawcb_start(&F.d), POSTIE_AGAIN);
    assert_int_equal(st, POSTIE_AGAIN);
    assert_int_equal(F.d.tls_pending, 1);
    assert_int_equal(postie_rawcb_poll(&F.d, 4999), POSTIE_AGAIN);
    assert_int_equal(postie_rawcb_poll(&F.d, 1), POSTIE_ERR_TIMEOUT);
}

/* Runs the POP3 session until the second message is partly read. */
static postie_status run_until_mid_message(void)
{
    size_t nsteps;
    const step *script = pop3_script(&nsteps, 0);
    postie_status st;
    long guard = 0;

    fake_init(&F, script, nsteps, 32, 200, 11u);
    pop_setup(&F, &A, 0, 0, 4096);
    st = postie_rawcb_start(&F.d);
    while (st == POSTIE_AGAIN && A.body_len[1] < 1000 && guard++ < 100000) {
        size_t taken = 0, k = F.srv_len - F.srv_pos;
        if (F.inflight > 0) {
            st = postie_rawcb_sent(&F.d, F.inflight);
            F.inflight = 0;
        } else if (k > 0) {
            k = k > 50 ? 50 : k;
            st = postie_rawcb_recv(&F.d, F.srv + F.srv_pos, k, &taken);
            F.srv_pos += taken;
        }
    }
    assert_int_equal(st, POSTIE_AGAIN);
    assert_true(A.body_len[1] >= 1000 && A.body_len[1] < strlen(MSG2));
    return st;
}

static void test_error_callback_mid_message(void **state)
{
    (void)state;
    run_until_mid_message();
    F.gone = 1; /* lwIP freed the pcb before calling err */
    assert_int_equal(postie_rawcb_error(&F.d, POSTIE_ERR_CLOSED), POSTIE_ERR_CLOSED);
    assert_int_equal(postie_rawcb_result(&F.d), POSTIE_ERR_CLOSED);
    assert_int_equal(postie_rawcb_sent(&F.d, 10), POSTIE_ERR_CLOSED);
    assert_int_equal(postie_rawcb_poll(&F.d, 100000), POSTIE_ERR_CLOSED);
    assert_int_equal(F.writes_after_gone, 0);
    assert_int_equal(postie_pop3_get_state(&A.p), POSTIE_POP3_STATE_CLOSED);

    /* a status that is not a transport's is an I/O error */
    run_until_mid_message();
    F.gone = 1;
    assert_int_equal(postie_rawcb_error(&F.d, POSTIE_ERR_AUTH), POSTIE_ERR_IO);
}

static void test_peer_closes_mid_message(void **state)
{
    size_t taken = 99;
    (void)state;
    run_until_mid_message();
    assert_int_equal(postie_rawcb_recv(&F.d, NULL, 0, &taken), POSTIE_ERR_CLOSED);
    assert_int_equal(taken, 0);
    assert_int_equal(postie_rawcb_recv(&F.d, "x", 1, &taken), POSTIE_ERR_CLOSED);
    assert_int_equal(taken, 1); /* finished: whatever comes is dropped */
}

static void test_timeout_by_poll(void **state)
{
    static const step silent[] = {{"", ""}}; /* a server that never greets */
    postie_status st;
    (void)state;

    fake_init(&F, silent, 1, 64, 100, 1u);
    pop_setup(&F, &A, 0, 0, 4096);
    assert_int_equal(postie_rawcb_start(&F.d), POSTIE_AGAIN);
    assert_int_equal(postie_rawcb_poll(&F.d, 2500), POSTIE_AGAIN);
    assert_int_equal(postie_rawcb_poll(&F.d, 2499), POSTIE_AGAIN);
    st = postie_rawcb_poll(&F.d, 1);
    assert_int_equal(st, POSTIE_ERR_TIMEOUT);

    /* bytes that move reset the idle time */
    run_until_mid_message();
    assert_int_equal(postie_rawcb_poll(&F.d, 4999), POSTIE_AGAIN);
    {
        size_t taken = 0;
        assert_int_equal(postie_rawcb_recv(&F.d, F.srv + F.srv_pos, 10, &taken), POSTIE_AGAIN);
        F.srv_pos += taken;
    }
    assert_int_equal(postie_rawcb_poll(&F.d, 4999), POSTIE_AGAIN);
    assert_int_equal(postie_rawcb_poll(&F.d, 1), POSTIE_ERR_TIMEOUT);

    /* timeout 0: never */
    fake_init(&F, silent, 1, 64, 100, 1u);
    pop_setup(&F, &A, 0, 0, 4096);
    F.d.timeout_ms = 0;
    assert_int_equal(postie_rawcb_start(&F.d), POSTIE_AGAIN);
    assert_int_equal(postie_rawcb_poll(&F.d, 4000000000u), POSTIE_AGAIN);
}

static void test_write_error_ends_session(void **state)
{
    size_t nsteps;
    const step *script = pop3_script(&nsteps, 0);
    postie_status st;
    size_t taken = 0;
    (void)state;

    fake_init(&F, script, nsteps, 64, 100, 1u);
    pop_setup(&F, &A, 0, 0, 4096);
    assert_int_equal(postie_rawcb_start(&F.d), POSTIE_AGAIN);
    F.gone = 1; /* the next write fails with POSTIE_ERR_IO */
    st = postie_rawcb_recv(&F.d, F.srv, F.srv_len, &taken);
    assert_int_equal(st, POSTIE_ERR_IO);
    assert_int_equal(F.writes_after_gone, 1);
}

static void test_params(void **state)
{
    postie_rawcb_io io;
    postie_rawcb_app app = {pop_step, pop_tls_started, &A};
    postie_rawcb d;
    (void)state;

    fake_io(&F, &io, 0);
    assert_int_equal(postie_rawcb_init(NULL, &A.p.conn, &io, &app, 1, 0), POSTIE_ERR_PARAM);
    assert_int_equal(postie_rawcb_init(&d, NULL, &io, &app, 1, 0), POSTIE_ERR_PARAM);
    assert_int_equal(postie_rawcb_init(&d, &A.p.conn, NULL, &app, 1, 0), POSTIE_ERR_PARAM);
    assert_int_equal(postie_rawcb_init(&d, &A.p.conn, &io, NULL, 1, 0), POSTIE_ERR_PARAM);
    io.write = NULL;
    assert_int_equal(postie_rawcb_init(&d, &A.p.conn, &io, &app, 1, 0), POSTIE_ERR_PARAM);
    fake_io(&F, &io, 0);
    app.step = NULL;
    assert_int_equal(postie_rawcb_init(&d, &A.p.conn, &io, &app, 1, 0), POSTIE_ERR_PARAM);
    assert_int_equal(postie_rawcb_start(NULL), POSTIE_ERR_PARAM);
    assert_int_equal(postie_rawcb_recv(NULL, "x", 1, NULL), POSTIE_ERR_PARAM);
    assert_int_equal(postie_rawcb_sent(NULL, 1), POSTIE_ERR_PARAM);
    assert_int_equal(postie_rawcb_poll(NULL, 1), POSTIE_ERR_PARAM);
    assert_int_equal(postie_rawcb_error(NULL, POSTIE_ERR_IO), POSTIE_ERR_PARAM);
    assert_int_equal(postie_rawcb_tls_done(NULL, POSTIE_OK), POSTIE_ERR_PARAM);
    assert_int_equal(postie_rawcb_result(NULL), POSTIE_ERR_PARAM);
    fake_init(&F, pop3_script(&(size_t){0}, 0), 1, 8, 8, 1u);
    pop_setup(&F, &A, 0, 0, 64);
    assert_int_equal(postie_rawcb_recv(&F.d, NULL, 3, NULL), POSTIE_ERR_PARAM);
}

/* ---- an SMTP application: one message, its reader's state in the app -------- */

typedef struct smtp_app {
    postie_smtp s;
    int phase;
    const char *msg;
    size_t len, off;
    postie_smtp_rcpt rcpt;
    postie_smtp_envelope env;
} smtp_app;

static postie_status smtp_read(void *user, char *buf, size_t cap, size_t *n)
{
    smtp_app *a = user;
    size_t k = a->len - a->off;
    if (k > cap) {
        k = cap;
    }
    memcpy(buf, a->msg + a->off, k);
    a->off += k;
    *n = k;
    return a->off == a->len ? POSTIE_DONE : POSTIE_OK;
}

static postie_status smtp_step(void *user)
{
    smtp_app *a = user;
    postie_status st;

    for (;;) {
        switch (a->phase) {
        case 0: st = postie_smtp_open(&a->s); break;
        case 1: st = postie_smtp_send(&a->s, &a->env, smtp_read, a); break;
        case 2:
            st = postie_smtp_quit(&a->s);
            if (st == POSTIE_OK) {
                a->phase++;
                return POSTIE_DONE;
            }
            return st;
        default:
            return POSTIE_ERR_STATE;
        }
        if (st != POSTIE_OK) {
            return st;
        }
        a->phase++;
    }
}

static postie_status smtp_tls_started(void *user, postie_status r)
{
    return postie_smtp_tls_started(&((smtp_app *)user)->s, r);
}

static char SMTP_MSG[5000];
static char SMTP_WIRE[6000];

static void make_smtp_msg(void)
{
    size_t i, n = 0, w = 0;
    n += (size_t)snprintf(SMTP_MSG, sizeof SMTP_MSG, "Subject: rawcb\r\n\r\n");
    for (i = 0; n < sizeof SMTP_MSG - 100; i++) {
        n += (size_t)snprintf(SMTP_MSG + n, sizeof SMTP_MSG - n, "%sbody line %zu\r\n",
                              i % 5 == 0 ? "." : "", i);
    }
    for (i = 0; i < n; i++) {
        if (SMTP_MSG[i] == '.' && (i == 0 || SMTP_MSG[i - 1] == '\n')) {
            SMTP_WIRE[w++] = '.';
        }
        SMTP_WIRE[w++] = SMTP_MSG[i];
    }
    memcpy(SMTP_WIRE + w, ".\r\n", 4);
}

/* pipelined: EHLO offers PIPELINING; MAIL, both RCPTs and DATA go in one
 * flight, and the second recipient is refused (its own outcome). */
static const step *smtp_script(size_t *n, int pipelined)
{
    static step s[10];
    size_t k = 0;
    s[k++] = (step){"", "220 mx.example.org ESMTP\r\n"};
    if (pipelined) {
        s[k++] = (step){"EHLO client.example.org\r\n",
                        "250-mx.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n"};
        s[k++] = (step){"MAIL FROM:<a@example.org>\r\n", "250 2.1.0 ok\r\n"};
        s[k++] = (step){"RCPT TO:<b@example.org>\r\n", "250 2.1.5 ok\r\n"};
        s[k++] = (step){"RCPT TO:<c@example.org>\r\n", "550 5.1.1 no such user\r\n"};
        s[k++] = (step){"DATA\r\n", "354 go ahead\r\n"};
    } else {
        s[k++] = (step){"EHLO client.example.org\r\n", "250-mx.example.org\r\n250 8BITMIME\r\n"};
        s[k++] = (step){"MAIL FROM:<a@example.org>\r\n", "250 2.1.0 ok\r\n"};
        s[k++] = (step){"RCPT TO:<b@example.org>\r\n", "250 2.1.5 ok\r\n"};
        s[k++] = (step){"DATA\r\n", "354 go ahead\r\n"};
    }
    s[k++] = (step){SMTP_WIRE, "250 2.0.0 queued\r\n"};
    s[k++] = (step){"QUIT\r\n", "221 2.0.0 bye\r\n"};
    *n = k;
    return s;
}

static smtp_app B;

static void smtp_runs(int pipelined)
{
    size_t w, c, nsteps;
    unsigned seed;
    const step *script = smtp_script(&nsteps, pipelined);
    postie_smtp_rcpt rcpts[2];

    for (w = 0; w < sizeof windows / sizeof windows[0]; w++) {
        for (c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
            for (seed = 1; seed <= 3; seed++) {
                postie_rawcb_io io;
                postie_rawcb_app app = {smtp_step, smtp_tls_started, &B};
                postie_status st;

                fake_init(&F, script, nsteps, windows[w], chunks[c], seed * 31337u + (unsigned)c);
                F.refuse = seed == 2;
                memset(&B, 0, sizeof B);
                memset(rcpts, 0, sizeof rcpts);
                assert_int_equal(postie_smtp_init_nb(&B.s), POSTIE_OK);
                assert_int_equal(postie_smtp_set_tls(&B.s, POSTIE_TLS_OFF, NULL), POSTIE_OK);
                assert_int_equal(postie_smtp_set_domain(&B.s, "client.example.org"), POSTIE_OK);
                B.msg = SMTP_MSG;
                B.len = strlen(SMTP_MSG);
                rcpts[0].addr = "b@example.org";
                rcpts[1].addr = "c@example.org";
                B.env.from = "a@example.org";
                B.env.rcpts = rcpts;
                B.env.nrcpts = pipelined ? 2 : 1;
                B.env.on_refused = POSTIE_SMTP_REFUSED_CONTINUE;
                fake_io(&F, &io, 0);
                assert_int_equal(postie_rawcb_init(&F.d, postie_smtp_conn(&B.s), &io, &app,
                                                   windows[w], 5000),
                                 POSTIE_OK);
                st = drive(&F, postie_rawcb_start(&F.d), POSTIE_OK);
                assert_int_equal(st, POSTIE_DONE);
                assert_int_equal(F.next, F.nsteps);
                assert_int_equal(F.matched, F.cli_len);
                assert_int_equal(F.srv_pos, F.srv_len);
                /* each recipient's outcome, in the envelope */
                assert_int_equal(rcpts[0].code, 250);
                assert_int_equal(rcpts[0].status, POSTIE_OK);
                if (pipelined && windows[w] >= 128 && !F.refuse) {
                    /* MAIL, both RCPTs and DATA were written before MAIL's reply came */
                    size_t k, upto = 0;
                    for (k = 1; k <= 5; k++) {
                        upto += strlen(script[k].expect);
                    }
                    assert_true(F.cli_at_unlock[2] >= upto);
                }
                if (pipelined) {
                    assert_int_equal(rcpts[1].code, 550);
                    assert_int_equal(rcpts[1].status, POSTIE_ERR_SERVER);
                    assert_string_equal(rcpts[1].enhanced, "5.1.1");
                }
                assert_int_equal(B.env.accepted, 1);
                assert_int_equal(postie_smtp_messages_sent(&B.s), 1);
                assert_true(F.outputs > 0);
            }
        }
    }
}

static void test_smtp_random_chunks_small_window(void **state)
{
    (void)state;
    smtp_runs(0);
}

static void test_smtp_pipelined_recipient_outcomes(void **state)
{
    (void)state;
    smtp_runs(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pop3_random_chunks_small_window),
        cmocka_unit_test(test_pop3_stls_async_handshake),
        cmocka_unit_test(test_pop3_stls_failures),
        cmocka_unit_test(test_error_callback_mid_message),
        cmocka_unit_test(test_peer_closes_mid_message),
        cmocka_unit_test(test_timeout_by_poll),
        cmocka_unit_test(test_write_error_ends_session),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_smtp_random_chunks_small_window),
        cmocka_unit_test(test_smtp_pipelined_recipient_outcomes),
    };
    make_msg2();
    make_smtp_msg();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
