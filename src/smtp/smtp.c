/*
 * SMTP drivers: the public API of smtp.h as thin loops over the session
 * engine (src/core/smtp_session.c), in the three modes of src/pop3/pop3.c:
 * a blocking transport, a transport that answers POSTIE_ERR_WOULD_BLOCK
 * (calls return POSTIE_AGAIN), or no transport (postie_smtp_init_nb: the
 * caller moves the bytes through postie_smtp_conn(), docs/event-loop.md).
 * The transport is closed by postie_smtp_quit() and postie_smtp_close().
 */
#include "postie/smtp.h"
#include "../core/smtp_session.h"
#include "../core/drive.h"

#include <string.h>

typedef struct call call;
/* One call of the public API: its step (an adapter below), with its arguments.
 * Each public function names only its own step, so a firmware linked with
 * --gc-sections carries only the steps it calls. Each public function sets
 * the fields its step reads and no others (no memset: the rest is never read). */
struct call {
    postie_status (*fn)(postie_smtp *s, const call *c);
    unsigned u;
    const char *s1, *s2;
    void *v1, *v2;
    size_t n;
    postie_smtp_reader read;
};

static postie_status s_open(postie_smtp *s, const call *c)
{
    (void)c;
    return postie_smtps_open(s);
}

static postie_status s_ehlo(postie_smtp *s, const call *c)
{
    (void)c;
    return postie_smtps_ehlo(s);
}

static postie_status s_starttls(postie_smtp *s, const call *c)
{
    return postie_smtps_starttls(s, c->s1);
}

static postie_status s_auth(postie_smtp *s, const call *c)
{
    return postie_smtps_auth(s, c->u, c->s1, c->s2);
}

static postie_status s_mail(postie_smtp *s, const call *c)
{
    return postie_smtps_mail(s, (postie_smtp_envelope *)c->v1);
}

static postie_status s_data_begin(postie_smtp *s, const call *c)
{
    (void)c;
    return postie_smtps_data_begin(s);
}

static postie_status s_data_write(postie_smtp *s, const call *c)
{
    return postie_smtps_data_write(s, c->s1, c->n);
}

static postie_status s_data_end(postie_smtp *s, const call *c)
{
    (void)c;
    return postie_smtps_data_end(s);
}

static postie_status s_send(postie_smtp *s, const call *c)
{
    return postie_smtps_send(s, (postie_smtp_envelope *)c->v1, c->read, c->v2);
}

static postie_status s_send_batch(postie_smtp *s, const call *c)
{
    return postie_smtps_send_batch(s, (postie_smtp_msg *)c->v1, c->n);
}

static postie_status s_rset(postie_smtp *s, const call *c)
{
    (void)c;
    return postie_smtps_rset(s);
}

static postie_status s_noop(postie_smtp *s, const call *c)
{
    (void)c;
    return postie_smtps_noop(s);
}

static postie_status s_quit(postie_smtp *s, const call *c)
{
    (void)c;
    return postie_smtps_quit(s);
}

/* Runs the call's step until it is done: the loop every public call is. */
static postie_status run(postie_smtp *s, const call *c, const char *tls_name)
{
    postie_status st;

#if POSTIE_WITH_DEADLINE
    if (s->op == 0) {
        postie_conn_window(&s->conn); /* a new call */
    }
#endif
    POSTIE_DRIVE_LOOP(st, s, postie_smtps_fatal, postie_smtps_tls_started,
                      POSTIE_WITH_SMTP_STARTTLS, tls_name, c->fn(s, c))
    return st;
}

postie_status postie_smtp_init(postie_smtp *s, const postie_transport *t)
{
    if (s == NULL || t == NULL || t->send == NULL || t->recv == NULL) {
        return POSTIE_ERR_PARAM;
    }
    postie_smtp_init_nb(s);
    s->tr = *t;
    return POSTIE_OK;
}

postie_status postie_smtp_init_nb(postie_smtp *s)
{
    if (s == NULL) {
        return POSTIE_ERR_PARAM;
    }
    memset(s, 0, sizeof *s);
    s->timeout_ms = POSTIE_DEFAULT_TIMEOUT_MS;
    s->state = POSTIE_SMTP_STATE_CLOSED;
    s->connected = 1;
    memcpy(s->domain, "[127.0.0.1]", sizeof "[127.0.0.1]");
    /* the extensions, both replies and the DATA encoder start all zero:
     * the memset above is their init */
    postie_conn_init(&s->conn);
    return POSTIE_OK;
}

postie_conn *postie_smtp_conn(postie_smtp *s)
{
    return s != NULL ? &s->conn : NULL;
}

postie_status postie_smtp_tls_started(postie_smtp *s, postie_status result)
{
    return s != NULL ? postie_smtps_tls_started(s, result) : POSTIE_ERR_PARAM;
}

postie_status postie_smtp_set_deadline(postie_smtp *s, unsigned long deadline_ms,
                                       unsigned long min_rate, postie_clock_fn clock,
                                       void *clock_ctx)
{
    if (s == NULL) {
        return POSTIE_ERR_PARAM;
    }
    return postie_conn_set_deadline(&s->conn, deadline_ms, min_rate, clock, clock_ctx);
}

void postie_smtp_set_timeout(postie_smtp *s, unsigned timeout_ms)
{
    if (s != NULL) {
        s->timeout_ms = timeout_ms;
    }
}

postie_status postie_smtp_set_domain(postie_smtp *s, const char *domain)
{
    if (s == NULL || !postie_smtp_domain_ok(domain)) {
        return POSTIE_ERR_PARAM;
    }
    memcpy(s->domain, domain, strlen(domain) + 1);
    return POSTIE_OK;
}

postie_status postie_smtp_set_local_addr(postie_smtp *s, const char *ip)
{
    char lit[POSTIE_SMTP_DOMAIN_MAX];
    if (s == NULL || postie_smtp_address_literal(ip, lit, sizeof lit) != POSTIE_OK) {
        return POSTIE_ERR_PARAM;
    }
    memcpy(s->domain, lit, strlen(lit) + 1);
    return POSTIE_OK;
}

postie_status postie_smtp_set_tls(postie_smtp *s, postie_tls_policy policy,
                                  const char *server_name)
{
    if (s == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (s->state != POSTIE_SMTP_STATE_CLOSED || s->greeted || !s->connected || s->op != 0) {
        return POSTIE_ERR_STATE;
    }
#if POSTIE_WITH_SMTP_STARTTLS
    if (postie_tls_policy_check(policy, server_name, s->server_name) != POSTIE_OK) {
#else /* no STARTTLS: the name is checked, not kept (REQUIRED fails in open()) */
    if (postie_tls_policy_check(policy, server_name, NULL) != POSTIE_OK) {
#endif
        return POSTIE_ERR_PARAM;
    }
    s->tls_policy = (unsigned char)policy;
    s->tls_active = policy == POSTIE_TLS_IMPLICIT;
    return POSTIE_OK;
}

void postie_smtp_allow_plaintext_credentials(postie_smtp *s, int allow)
{
    if (s != NULL) {
        s->allow_plain = allow != 0;
    }
}

void postie_smtp_set_random(postie_smtp *s, postie_random_fn fn, void *ctx)
{
    if (s != NULL) {
        s->random = fn;
        s->random_ctx = ctx;
    }
}

int postie_smtp_tls_active(const postie_smtp *s)
{
    return s != NULL && s->tls_active;
}

postie_status postie_smtp_open(postie_smtp *s)
{
    call c;

    if (s == NULL) {
        return POSTIE_ERR_PARAM;
    }
    c.fn = s_open;
#if POSTIE_WITH_SMTP_STARTTLS
    return run(s, &c, s->server_name);
#else
    return run(s, &c, NULL);
#endif
}

postie_status postie_smtp_ehlo(postie_smtp *s)
{
    call c;

    if (s == NULL) {
        return POSTIE_ERR_PARAM;
    }
    c.fn = s_ehlo;
    return run(s, &c, NULL);
}

postie_status postie_smtp_starttls(postie_smtp *s, const char *server_name)
{
    call c;

    if (s == NULL) {
        return POSTIE_ERR_PARAM;
    }
    c.fn = s_starttls;
    c.s1 = server_name;
    return run(s, &c, server_name);
}

postie_status postie_smtp_auth(postie_smtp *s, unsigned mechs, const char *user,
                               const char *secret)
{
    call c;

    if (s == NULL) {
        return POSTIE_ERR_PARAM;
    }
    c.fn = s_auth;
    c.u = mechs;
    c.s1 = user;
    c.s2 = secret;
    return run(s, &c, NULL);
}

postie_status postie_smtp_mail(postie_smtp *s, postie_smtp_envelope *env)
{
    call c;

    if (s == NULL) {
        return POSTIE_ERR_PARAM;
    }
    c.fn = s_mail;
    c.v1 = env;
    return run(s, &c, NULL);
}

postie_status postie_smtp_data_begin(postie_smtp *s)
{
    call c;

    if (s == NULL) {
        return POSTIE_ERR_PARAM;
    }
    c.fn = s_data_begin;
    return run(s, &c, NULL);
}

postie_status postie_smtp_data_write(postie_smtp *s, const void *buf, size_t n)
{
    call c;

    if (s == NULL) {
        return POSTIE_ERR_PARAM;
    }
    c.fn = s_data_write;
    c.s1 = (const char *)buf;
    c.n = n;
    return run(s, &c, NULL);
}

postie_status postie_smtp_data_end(postie_smtp *s)
{
    call c;

    if (s == NULL) {
        return POSTIE_ERR_PARAM;
    }
    c.fn = s_data_end;
    return run(s, &c, NULL);
}

static postie_status send_steps(postie_smtp *s, postie_smtp_envelope *env,
                                postie_smtp_reader read, void *user)
{
    call c;

    c.fn = s_send;
    c.v1 = env;
    c.v2 = user;
    c.read = read;
    return run(s, &c, NULL);
}

postie_status postie_smtp_send(postie_smtp *s, postie_smtp_envelope *env,
                               postie_smtp_reader read, void *user)
{
    postie_status st;

    if (s == NULL) {
        return POSTIE_ERR_PARAM;
    }
    st = send_steps(s, env, read, user);
    if (s->connected_abort) {
        s->connected_abort = 0;
        postie_smtp_close(s);
    }
    return st;
}

/* send_buf()'s reader: the message is given again on every repeated call
 * (non-blocking modes), so the read position lives in the session. */
typedef struct buf_reader {
    postie_smtp *s;
    const char *p;
    size_t len;
} buf_reader;

static postie_status read_buf(void *user, char *buf, size_t cap, size_t *n)
{
    buf_reader *b = (buf_reader *)user;
    size_t off = b->s->sb_off, k = b->len - off < cap ? b->len - off : cap;
    if (k > 0) {
        memcpy(buf, b->p + off, k);
    }
    b->s->sb_off = off + k;
    *n = k;
    return b->s->sb_off == b->len ? POSTIE_DONE : POSTIE_OK;
}

postie_status postie_smtp_send_buf(postie_smtp *s, postie_smtp_envelope *env,
                                   const void *msg, size_t len)
{
    buf_reader b;

    if (s == NULL || env == NULL || (msg == NULL && len > 0)) {
        return POSTIE_ERR_PARAM;
    }
    if (s->op == 0) { /* a new call, not a repeated one */
        if (env->size == 0) {
            env->size = postie_smtp_wire_size((const char *)msg, len);
        }
        if (postie_smtp_has_8bit(msg, len)) {
            env->flags |= POSTIE_SMTP_MSG_8BIT;
        }
        s->sb_off = 0;
    }
    b.s = s;
    b.p = (const char *)msg;
    b.len = len;
    return postie_smtp_send(s, env, read_buf, &b);
}

postie_status postie_smtp_send_batch(postie_smtp *s, postie_smtp_msg *msgs, size_t n)
{
    call c;

    if (s == NULL) {
        return POSTIE_ERR_PARAM;
    }
    c.fn = s_send_batch;
    c.v1 = msgs;
    c.n = n;
    return run(s, &c, NULL);
}

postie_status postie_smtp_rset(postie_smtp *s)
{
    call c;

    if (s == NULL) {
        return POSTIE_ERR_PARAM;
    }
    c.fn = s_rset;
    return run(s, &c, NULL);
}

postie_status postie_smtp_noop(postie_smtp *s)
{
    call c;

    if (s == NULL) {
        return POSTIE_ERR_PARAM;
    }
    c.fn = s_noop;
    return run(s, &c, NULL);
}

static postie_status quit_steps(postie_smtp *s)
{
    call c;

    c.fn = s_quit;
    return run(s, &c, NULL);
}

postie_status postie_smtp_quit(postie_smtp *s)
{
    postie_status st;

    if (s == NULL) {
        return POSTIE_ERR_PARAM;
    }
    st = quit_steps(s);
    if (st != POSTIE_AGAIN) {
        postie_smtp_close(s);
    }
    return st;
}

void postie_smtp_close(postie_smtp *s)
{
    if (s == NULL) {
        return;
    }
    if (s->connected && s->tr.close != NULL) {
        s->tr.close(s->tr.ctx);
    }
    s->connected = 0;
    (void)postie_conn_kill(&s->conn, POSTIE_ERR_CLOSED); /* keeps an earlier status */
    s->state = POSTIE_SMTP_STATE_CLOSED;
#if POSTIE_WITH_SMTP_PIPELINING
    s->data_opened = 0; /* only a pipelined DATA sets it */
#endif
    s->op = 0;
    s->tls_wanted = 0;
}

/* ------------------------------------------------------------------------ */
/* Accessors                                                                */

postie_smtp_state postie_smtp_get_state(const postie_smtp *s)
{
    return s != NULL ? s->state : POSTIE_SMTP_STATE_CLOSED;
}

int postie_smtp_reply_code(const postie_smtp *s)
{
    return s != NULL ? s->reply.code : 0;
}

const char *postie_smtp_reply_enhanced(const postie_smtp *s)
{
    return s != NULL ? s->reply.enhanced : "";
}

const char *postie_smtp_reply_text(const postie_smtp *s)
{
    return s != NULL ? s->reply.text : "";
}

const postie_smtp_reply *postie_smtp_last_reply(const postie_smtp *s)
{
    return s != NULL ? &s->reply : NULL;
}

const postie_smtp_ext *postie_smtp_extensions(const postie_smtp *s)
{
    return s != NULL ? &s->ext : NULL;
}

int postie_smtp_has(const postie_smtp *s, unsigned ext_flag)
{
    return s != NULL && (s->ext.flags & ext_flag) != 0;
}

unsigned long postie_smtp_messages_sent(const postie_smtp *s)
{
    return s != NULL ? s->messages_sent : 0;
}
