/*
 * POP3 drivers: the public API of pop3.h as thin loops over the session
 * engine (src/core/pop3_session.c).
 *
 * Each call repeats its engine step until the step is done, moving bytes in
 * between with postie_conn_pump() over the session's transport:
 *   - a blocking transport (postie_pop3_init): every call blocks until done,
 *     each network step bounded by the timeout;
 *   - a non-blocking transport (send/recv answer POSTIE_ERR_WOULD_BLOCK): a
 *     call returns POSTIE_AGAIN; repeat it when the socket is ready;
 *   - no transport (postie_pop3_init_nb): the caller moves the bytes through
 *     postie_pop3_conn() and repeats the call (docs/event-loop.md).
 * STLS: with a transport, its start_tls runs here; without one the call
 * returns POSTIE_START_TLS and the caller reports the handshake with
 * postie_pop3_tls_started().
 */
#include "postie/pop3.h"
#include "../core/pop3_session.h"
#include "../core/drive.h"

#include <stdint.h>
#include <string.h>

/* Releases the transport once, after the connection died. */
static void settle(postie_pop3 *p)
{
    if (p->conn.dead != POSTIE_OK && p->tr.close != NULL) {
        void (*close_fn)(void *) = p->tr.close;
        p->tr.close = NULL;
        close_fn(p->tr.ctx);
    }
}

static int has_transport(const postie_pop3 *p)
{
    return p->tr.recv != NULL;
}

/*
 * One call of the public API: its step (an adapter below) and up to two
 * arguments (a call with three passes an array of them). Each public
 * function names only its own step, so a firmware linked with --gc-sections
 * carries only the steps it calls.
 */
typedef postie_status (*step_fn)(postie_pop3 *p, uintptr_t a, uintptr_t b);

static postie_status s_open(postie_pop3 *p, uintptr_t a, uintptr_t b)
{
    (void)b;
    return postie_pop3s_open(p, (unsigned)a);
}

static postie_status s_stls(postie_pop3 *p, uintptr_t a, uintptr_t b)
{
    (void)b;
    return postie_pop3s_stls(p, (const char *)a);
}

static postie_status s_capa(postie_pop3 *p, uintptr_t a, uintptr_t b)
{
    (void)a;
    (void)b;
    return postie_pop3s_capa(p);
}

static postie_status s_login(postie_pop3 *p, uintptr_t a, uintptr_t b)
{
    const uintptr_t *v = (const uintptr_t *)a;
    (void)b;
    return postie_pop3s_login(p, (const char *)v[0], (const char *)v[1],
                              (postie_pop3_login_mode)v[2]);
}

static postie_status s_auth(postie_pop3 *p, uintptr_t a, uintptr_t b)
{
    const uintptr_t *v = (const uintptr_t *)a;
    (void)b;
    return postie_pop3s_auth(p, (unsigned)v[0], (const char *)v[1], (const char *)v[2]);
}

static postie_status s_stat(postie_pop3 *p, uintptr_t a, uintptr_t b)
{
    return postie_pop3s_stat(p, (unsigned long *)a, (unsigned long *)b);
}

static postie_status s_list(postie_pop3 *p, uintptr_t a, uintptr_t b)
{
    return postie_pop3s_list(p, (unsigned long)a, (unsigned long *)b);
}

static postie_status s_list_begin(postie_pop3 *p, uintptr_t a, uintptr_t b)
{
    (void)a;
    (void)b;
    return postie_pop3s_list_begin(p);
}

static postie_status s_list_next(postie_pop3 *p, uintptr_t a, uintptr_t b)
{
    return postie_pop3s_list_next(p, (unsigned long *)a, (unsigned long *)b);
}

static postie_status s_uidl(postie_pop3 *p, uintptr_t a, uintptr_t b)
{
    const uintptr_t *v = (const uintptr_t *)a;
    (void)b;
    return postie_pop3s_uidl(p, (unsigned long)v[0], (char *)v[1], (size_t)v[2]);
}

static postie_status s_uidl_begin(postie_pop3 *p, uintptr_t a, uintptr_t b)
{
    (void)a;
    (void)b;
    return postie_pop3s_uidl_begin(p);
}

static postie_status s_uidl_next(postie_pop3 *p, uintptr_t a, uintptr_t b)
{
    const uintptr_t *v = (const uintptr_t *)a;
    (void)b;
    return postie_pop3s_uidl_next(p, (unsigned long *)v[0], (char *)v[1], (size_t)v[2]);
}

static postie_status s_retr_begin(postie_pop3 *p, uintptr_t a, uintptr_t b)
{
    return postie_pop3s_retr_begin(p, (unsigned long)a, (unsigned long *)b);
}

static postie_status s_top_begin(postie_pop3 *p, uintptr_t a, uintptr_t b)
{
    return postie_pop3s_top_begin(p, (unsigned long)a, (unsigned long)b);
}

static postie_status s_read(postie_pop3 *p, uintptr_t a, uintptr_t b)
{
    const uintptr_t *v = (const uintptr_t *)a;
    (void)b;
    return postie_pop3s_read(p, (void *)v[0], (size_t)v[1], (size_t *)v[2]);
}

static postie_status s_drain(postie_pop3 *p, uintptr_t a, uintptr_t b)
{
    (void)a;
    (void)b;
    return postie_pop3s_drain(p);
}

static postie_status s_dele(postie_pop3 *p, uintptr_t a, uintptr_t b)
{
    (void)b;
    return postie_pop3s_dele(p, (unsigned long)a);
}

static postie_status s_rset(postie_pop3 *p, uintptr_t a, uintptr_t b)
{
    (void)a;
    (void)b;
    return postie_pop3s_rset(p);
}

static postie_status s_noop(postie_pop3 *p, uintptr_t a, uintptr_t b)
{
    (void)a;
    (void)b;
    return postie_pop3s_noop(p);
}

#if POSTIE_WITH_POP3_PIPELINING
static postie_status s_queue(postie_pop3 *p, uintptr_t a, uintptr_t b)
{
    const uintptr_t *v = (const uintptr_t *)a;
    (void)b;
    return postie_pop3s_queue(p, (postie_pop3_cmd_kind)v[0], (unsigned long)v[1],
                              (unsigned long)v[2]);
}

static postie_status s_next(postie_pop3 *p, uintptr_t a, uintptr_t b)
{
    const uintptr_t *v = (const uintptr_t *)a;
    (void)b;
    return postie_pop3s_next(p, (postie_pop3_cmd_kind *)v[0], (unsigned long *)v[1],
                             (unsigned long *)v[2]);
}
#endif

static postie_status s_quit(postie_pop3 *p, uintptr_t a, uintptr_t b)
{
    (void)b;
    return postie_pop3s_quit(p, (int *)a);
}

/* Runs the step fn(p, a, b) until it is done: the loop every public call is.
 * p NULL is POSTIE_ERR_PARAM. Only open and stls can be asked for TLS: their
 * b is the server name. */
static postie_status run(postie_pop3 *p, step_fn fn, uintptr_t a, uintptr_t b)
{
    postie_status st;

    if (p == NULL) {
        return POSTIE_ERR_PARAM;
    }
#if POSTIE_WITH_DEADLINE /* (without, the window is not kept) */
    if (p->op == 0 && !p->busy) {
        postie_conn_window(&p->conn); /* a new call: a body or listing is one */
    }
#endif
    POSTIE_DRIVE_LOOP(st, p, postie_pop3s_fatal, postie_pop3s_tls_started,
                      POSTIE_WITH_POP3_CAPA, (const char *)b, fn(p, a, b))
    settle(p);
    return st;
}

/* A call with three arguments: a points to them. */
static postie_status run3(postie_pop3 *p, step_fn fn, uintptr_t x, uintptr_t y, uintptr_t z)
{
    uintptr_t v[3];

    v[0] = x;
    v[1] = y;
    v[2] = z;
    return run(p, fn, (uintptr_t)v, 0);
}

postie_status postie_pop3_init(postie_pop3 *p, const postie_transport *t)
{
    if (p == NULL || t == NULL || t->send == NULL || t->recv == NULL) {
        return POSTIE_ERR_PARAM;
    }
    postie_pop3_init_nb(p);
    p->tr = *t;
    return POSTIE_OK;
}

postie_status postie_pop3_init_nb(postie_pop3 *p)
{
    if (p == NULL) {
        return POSTIE_ERR_PARAM;
    }
    memset(p, 0, sizeof *p); /* CLOSED, nothing in progress, the body decoder at its start */
    p->timeout_ms = POSTIE_DEFAULT_TIMEOUT_MS;
    p->count = -1;
    postie_conn_init(&p->conn);
    return POSTIE_OK;
}

postie_conn *postie_pop3_conn(postie_pop3 *p)
{
    return p != NULL ? &p->conn : NULL;
}

postie_status postie_pop3_tls_started(postie_pop3 *p, postie_status result)
{
    return p != NULL ? postie_pop3s_tls_started(p, result) : POSTIE_ERR_PARAM;
}

postie_status postie_pop3_set_deadline(postie_pop3 *p, unsigned long deadline_ms,
                                       unsigned long min_rate, postie_clock_fn clock,
                                       void *clock_ctx)
{
    if (p == NULL) {
        return POSTIE_ERR_PARAM;
    }
    return postie_conn_set_deadline(&p->conn, deadline_ms, min_rate, clock, clock_ctx);
}

void postie_pop3_set_timeout(postie_pop3 *p, unsigned timeout_ms)
{
    if (p != NULL) {
        p->timeout_ms = timeout_ms;
    }
}

postie_status postie_pop3_set_tls(postie_pop3 *p, postie_tls_policy policy,
                                  const char *server_name)
{
    if (p == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (p->state != POSTIE_POP3_STATE_CLOSED || postie_pop3s_dead(p) || p->op != 0) {
        return POSTIE_ERR_STATE;
    }
#if POSTIE_WITH_POP3_CAPA
    if (postie_tls_policy_check(policy, server_name, p->server_name) != POSTIE_OK) {
#else /* no STLS: the name is checked, not kept (REQUIRED fails in open()) */
    if (postie_tls_policy_check(policy, server_name, NULL) != POSTIE_OK) {
#endif
        return POSTIE_ERR_PARAM;
    }
    p->tls_policy = (unsigned char)policy;
    p->tls_active = policy == POSTIE_TLS_IMPLICIT;
    return POSTIE_OK;
}

void postie_pop3_allow_plaintext_credentials(postie_pop3 *p, int allow)
{
    if (p != NULL) {
        p->allow_plain = allow != 0;
    }
}

void postie_pop3_set_random(postie_pop3 *p, postie_random_fn fn, void *ctx)
{
    if (p != NULL) {
        p->random = fn;
        p->random_ctx = ctx;
    }
}

int postie_pop3_tls_active(const postie_pop3 *p)
{
    return p != NULL && p->tls_active;
}

postie_status postie_pop3_open(postie_pop3 *p)
{
    return postie_pop3_open_ex(p, 0);
}

postie_status postie_pop3_open_ex(postie_pop3 *p, unsigned flags)
{
#if POSTIE_WITH_POP3_CAPA
    return run(p, s_open, flags, p != NULL ? (uintptr_t)p->server_name : 0);
#else
    return run(p, s_open, flags, 0);
#endif
}

postie_status postie_pop3_stls(postie_pop3 *p, const char *server_name)
{
    return run(p, s_stls, (uintptr_t)server_name, (uintptr_t)server_name);
}

postie_status postie_pop3_capa(postie_pop3 *p)
{
    return run(p, s_capa, 0, 0);
}

unsigned postie_pop3_caps(const postie_pop3 *p)
{
    return p != NULL ? p->caps : 0u;
}

const char *postie_pop3_sasl_mechs(const postie_pop3 *p)
{
#if POSTIE_WITH_POP3_SASL
    return p != NULL ? p->sasl : "";
#else
    (void)p;
    return ""; /* not kept without POP3 AUTH */
#endif
}

const char *postie_pop3_timestamp(const postie_pop3 *p)
{
#if POSTIE_WITH_APOP
    return p != NULL ? p->timestamp : "";
#else
    (void)p;
    return ""; /* not kept without APOP */
#endif
}

const char *postie_pop3_reply_text(const postie_pop3 *p)
{
    return p != NULL ? p->reply : "";
}

postie_pop3_state postie_pop3_get_state(const postie_pop3 *p)
{
    return p != NULL ? p->state : POSTIE_POP3_STATE_CLOSED;
}

postie_status postie_pop3_login(postie_pop3 *p, const char *user, const char *pass,
                                postie_pop3_login_mode mode)
{
    return run3(p, s_login, (uintptr_t)user, (uintptr_t)pass, (uintptr_t)mode);
}

postie_status postie_pop3_auth(postie_pop3 *p, unsigned mechs, const char *user,
                               const char *secret)
{
    return run3(p, s_auth, mechs, (uintptr_t)user, (uintptr_t)secret);
}

postie_status postie_pop3_stat(postie_pop3 *p, unsigned long *count, unsigned long *octets)
{
    return run(p, s_stat, (uintptr_t)count, (uintptr_t)octets);
}

postie_status postie_pop3_list(postie_pop3 *p, unsigned long msg, unsigned long *octets)
{
    return run(p, s_list, msg, (uintptr_t)octets);
}

postie_status postie_pop3_list_begin(postie_pop3 *p)
{
    return run(p, s_list_begin, 0, 0);
}

postie_status postie_pop3_list_next(postie_pop3 *p, unsigned long *msg, unsigned long *octets)
{
    return run(p, s_list_next, (uintptr_t)msg, (uintptr_t)octets);
}

postie_status postie_pop3_list_all(postie_pop3 *p, postie_pop3_list_cb cb, void *user)
{
    postie_status st;

    if (p == NULL || cb == NULL) {
        return POSTIE_ERR_PARAM;
    }
    st = postie_pop3_list_begin(p);
    while (st == POSTIE_OK) {
        unsigned long msg, octets;
        st = postie_pop3_list_next(p, &msg, &octets);
        if (st == POSTIE_OK && cb(user, msg, octets) != 0) {
            return postie_pop3_drain(p);
        }
    }
    return st == POSTIE_DONE ? POSTIE_OK : st;
}

postie_status postie_pop3_uidl(postie_pop3 *p, unsigned long msg, char *uid, size_t cap)
{
    return run3(p, s_uidl, msg, (uintptr_t)uid, cap);
}

postie_status postie_pop3_uidl_begin(postie_pop3 *p)
{
    return run(p, s_uidl_begin, 0, 0);
}

postie_status postie_pop3_uidl_next(postie_pop3 *p, unsigned long *msg, char *uid, size_t cap)
{
    return run3(p, s_uidl_next, (uintptr_t)msg, (uintptr_t)uid, cap);
}

postie_status postie_pop3_uidl_all(postie_pop3 *p, postie_pop3_uidl_cb cb, void *user)
{
    postie_status st;

    if (p == NULL || cb == NULL) {
        return POSTIE_ERR_PARAM;
    }
    st = postie_pop3_uidl_begin(p);
    while (st == POSTIE_OK) {
        unsigned long msg;
        char uid[POSTIE_POP3_UID_MAX];
        st = postie_pop3_uidl_next(p, &msg, uid, sizeof uid);
        if (st == POSTIE_OK && cb(user, msg, uid) != 0) {
            return postie_pop3_drain(p);
        }
    }
    return st == POSTIE_DONE ? POSTIE_OK : st;
}

postie_status postie_pop3_retr_begin(postie_pop3 *p, unsigned long msg, unsigned long *octets)
{
    if (octets != NULL) {
        *octets = 0; /* the size once the +OK came */
    }
    return run(p, s_retr_begin, msg, (uintptr_t)octets);
}

postie_status postie_pop3_top_begin(postie_pop3 *p, unsigned long msg, unsigned long lines)
{
    return run(p, s_top_begin, msg, lines);
}

postie_status postie_pop3_read(postie_pop3 *p, void *buf, size_t cap, size_t *n)
{
    if (n != NULL) {
        *n = 0; /* the step sets it when it hands out bytes */
    }
    return run3(p, s_read, (uintptr_t)buf, cap, (uintptr_t)n);
}

postie_status postie_pop3_drain(postie_pop3 *p)
{
    return run(p, s_drain, 0, 0);
}

postie_status postie_pop3_dele(postie_pop3 *p, unsigned long msg)
{
    return run(p, s_dele, msg, 0);
}

postie_status postie_pop3_rset(postie_pop3 *p)
{
    return run(p, s_rset, 0, 0);
}

postie_status postie_pop3_noop(postie_pop3 *p)
{
    return run(p, s_noop, 0, 0);
}

void postie_pop3_set_pipelining(postie_pop3 *p, int allow)
{
    if (p != NULL) {
        p->no_pipelining = allow == 0;
        p->conn.lockstep = !postie_pop3_pipelining(p);
    }
}

int postie_pop3_pipelining(const postie_pop3 *p)
{
#if !POSTIE_WITH_POP3_PIPELINING
    (void)p;
    return 0; /* not compiled in */
#endif
    return p != NULL && (p->caps & POSTIE_POP3_CAP_PIPELINING) != 0 && !p->no_pipelining;
}

unsigned postie_pop3_queued(const postie_pop3 *p)
{
    unsigned n;

    if (p == NULL || p->op != 0) {
        return 0u;
    }
    n = postie_conn_awaiting(&p->conn);
    /* a queued RETR (or listing) being read stays at the head until its end */
    if ((p->busy & 0x80u) && n > 0) {
        n--;
    }
    return n;
}

static postie_status queue_cmd(postie_pop3 *p, postie_pop3_cmd_kind kind, unsigned long msg,
                               unsigned long lines)
{
#if !POSTIE_WITH_POP3_PIPELINING
    (void)kind;
    (void)msg;
    (void)lines;
    return p != NULL ? POSTIE_ERR_UNSUPPORTED : POSTIE_ERR_PARAM; /* not compiled in */
#else
    return run3(p, s_queue, (uintptr_t)kind, msg, lines);
#endif
}

postie_status postie_pop3_queue_retr(postie_pop3 *p, unsigned long msg)
{
    return queue_cmd(p, POSTIE_POP3_CMD_RETR, msg, 0);
}

postie_status postie_pop3_queue_top(postie_pop3 *p, unsigned long msg, unsigned long lines)
{
    return queue_cmd(p, POSTIE_POP3_CMD_TOP, msg, lines);
}

postie_status postie_pop3_queue_dele(postie_pop3 *p, unsigned long msg)
{
    return queue_cmd(p, POSTIE_POP3_CMD_DELE, msg, 0);
}

postie_status postie_pop3_queue_noop(postie_pop3 *p)
{
    return queue_cmd(p, POSTIE_POP3_CMD_NOOP, 0, 0);
}

postie_status postie_pop3_queue_list(postie_pop3 *p)
{
    return queue_cmd(p, POSTIE_POP3_CMD_LIST, 0, 0);
}

postie_status postie_pop3_queue_uidl(postie_pop3 *p)
{
    return queue_cmd(p, POSTIE_POP3_CMD_UIDL, 0, 0);
}

postie_status postie_pop3_flush(postie_pop3 *p)
{
    postie_status st;

    if (p == NULL) {
        return POSTIE_ERR_PARAM;
    }
#if !POSTIE_WITH_POP3_PIPELINING
    (void)st;
    return POSTIE_ERR_UNSUPPORTED; /* not compiled in */
#endif
    st = postie_pop3s_flush(p);
    if (st != POSTIE_OK || !has_transport(p)) {
        return st;
    }
    /* send what may go now; replies are read by next() */
    st = postie_conn_flush(&p->conn, &p->tr, p->timeout_ms);
    if (st != POSTIE_OK && st != POSTIE_AGAIN) {
        st = postie_pop3s_fatal(p, st);
        settle(p);
    }
    return st;
}

postie_status postie_pop3_next(postie_pop3 *p, postie_pop3_cmd_kind *kind, unsigned long *msg,
                               unsigned long *octets)
{
    if (kind != NULL) {
        *kind = POSTIE_POP3_CMD_NONE;
    }
    if (msg != NULL) {
        *msg = 0;
    }
    if (octets != NULL) {
        *octets = 0;
    }
#if !POSTIE_WITH_POP3_PIPELINING
    return p != NULL ? POSTIE_ERR_UNSUPPORTED : POSTIE_ERR_PARAM; /* not compiled in */
#else
    return run3(p, s_next, (uintptr_t)kind, (uintptr_t)msg, (uintptr_t)octets);
#endif
}

postie_status postie_pop3_quit(postie_pop3 *p, int *committed)
{
    if (committed != NULL) {
        *committed = 0; /* 1 once the server said +OK in TRANSACTION */
    }
    return run(p, s_quit, (uintptr_t)committed, 0);
}

void postie_pop3_close(postie_pop3 *p)
{
    if (p != NULL) {
        if (!postie_pop3s_dead(p)) {
            (void)postie_pop3s_fatal(p, POSTIE_ERR_CLOSED);
        }
        p->op = 0;
        settle(p);
    }
}
