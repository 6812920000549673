/*
 * Blocking POP3 client (RFC 1939, RFC 2449 CAPA): a small loop around the
 * core. Bytes from the transport land in p->rbuf; status and listing lines go
 * through the line framer, message bodies through the body decoder. Commands
 * are built in p->cmd. No allocation, no OS headers, no global state.
 *
 * A "dead" session (after close, QUIT or a fatal error) has its transport
 * copy cleared (tr.recv == NULL): every later call says POSTIE_ERR_STATE.
 */
#include "postie/pop3.h"
#include "postie/base64.h"
#include "postie/scram.h"

#include <limits.h>
#include <string.h>

enum {
    BUSY_NONE = 0,
    BUSY_BODY, /* RETR or TOP: postie_pop3_read() */
    BUSY_LIST, /* LIST: postie_pop3_list_next() */
    BUSY_UIDL  /* UIDL: postie_pop3_uidl_next() */
};

/* ---- session plumbing -------------------------------------------------- */

static int is_dead(const postie_pop3 *p)
{
    return p->tr.recv == NULL || p->tr.send == NULL;
}

/* Releases the transport once; the session is CLOSED from now on. */
static void shut(postie_pop3 *p)
{
    void (*close_fn)(void *) = p->tr.close;

    p->tr.close = NULL;
    p->tr.send = NULL;
    p->tr.recv = NULL;
    p->tr.start_tls = NULL;
    p->state = POSTIE_POP3_STATE_CLOSED;
    p->busy = 0;
    p->busy_kind = BUSY_NONE;
    p->rpos = p->rlen = 0;
    p->pipe_head = p->pipe_n = p->pipe_sent = 0; /* the queue dies with the session */
    p->pipe_len = 0;
    if (close_fn != NULL) {
        close_fn(p->tr.ctx);
    }
}

/* A fatal status: the connection is out of step or gone. */
static postie_status fatal(postie_pop3 *p, postie_status st)
{
    shut(p);
    return st;
}

/* Keeps the transport's own statuses; anything else it returns is an I/O error. */
static postie_status transport_status(long r)
{
    switch (r) {
    case POSTIE_ERR_TIMEOUT:
    case POSTIE_ERR_CLOSED:
    case POSTIE_ERR_IO:
    case POSTIE_ERR_TLS:
    case POSTIE_ERR_TLS_VERIFY:
    case POSTIE_ERR_NOMEM:
        return (postie_status)r;
    default:
        return POSTIE_ERR_IO;
    }
}

/* Makes sure rbuf holds unread bytes: one recv when it is empty. */
static postie_status fill(postie_pop3 *p)
{
    long r;

    if (p->rpos < p->rlen) {
        return POSTIE_OK;
    }
    p->rpos = p->rlen = 0;
    r = p->tr.recv(p->tr.ctx, p->rbuf, sizeof p->rbuf, p->timeout_ms);
    if (r == 0) {
        return POSTIE_ERR_CLOSED;
    }
    if (r < 0) {
        return transport_status(r);
    }
    if ((unsigned long)r > sizeof p->rbuf) {
        return POSTIE_ERR_IO;
    }
    p->rlen = (size_t)r;
    return POSTIE_OK;
}

/* Reads one line into p->line (fatal on error). */
static postie_status read_line(postie_pop3 *p)
{
    for (;;) {
        size_t used = 0;
        postie_status st = fill(p);
        if (st != POSTIE_OK) {
            return fatal(p, st);
        }
        st = postie_line_feed(&p->line, p->rbuf + p->rpos, p->rlen - p->rpos, &used);
        p->rpos += used;
        if (st == POSTIE_DONE) {
            return POSTIE_OK;
        }
        if (st != POSTIE_OK) {
            return fatal(p, st);
        }
    }
}

static void keep_text(postie_pop3 *p, const char *text)
{
    size_t len = strlen(text);
    if (len > sizeof p->reply - 1) {
        len = sizeof p->reply - 1;
    }
    memcpy(p->reply, text, len);
    p->reply[len] = '\0';
}

/* Reads a status line: POSTIE_OK (+OK), POSTIE_ERR_SERVER (-ERR), or fatal. */
static postie_status read_status(postie_pop3 *p)
{
    const char *text = NULL;
    postie_pop3_reply_kind kind;
    postie_status st = read_line(p);

    if (st != POSTIE_OK) {
        return st;
    }
    kind = postie_pop3_classify(p->line.buf, p->line.len, &text);
    if (kind == POSTIE_POP3_REPLY_OK || kind == POSTIE_POP3_REPLY_ERR) {
        keep_text(p, text);
        return kind == POSTIE_POP3_REPLY_OK ? POSTIE_OK : POSTIE_ERR_SERVER;
    }
    /* no SASL exchange is in progress: a continuation is out of place too */
    p->reply[0] = '\0';
    return fatal(p, POSTIE_ERR_PROTOCOL);
}

/* ---- command building -------------------------------------------------- */

typedef struct cmdbuf {
    char *buf;
    size_t len, cap;
    int overflow;
} cmdbuf;

static void cmd_start(postie_pop3 *p, cmdbuf *c)
{
    c->buf = p->cmd;
    c->len = 0;
    c->cap = sizeof p->cmd;
    c->overflow = 0;
}

static void cmd_str(cmdbuf *c, const char *s)
{
    size_t n = strlen(s);
    if (c->overflow || n > c->cap - c->len) {
        c->overflow = 1;
        return;
    }
    memcpy(c->buf + c->len, s, n);
    c->len += n;
}

static void cmd_num(cmdbuf *c, unsigned long v)
{
    char tmp[24];
    size_t i = sizeof tmp - 1;
    tmp[i] = '\0';
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    cmd_str(c, tmp + i);
}

/* Sends the command in c (CRLF appended); fatal on a transport error. */
static postie_status cmd_send(postie_pop3 *p, cmdbuf *c)
{
    postie_status st;

    cmd_str(c, "\r\n");
    if (c->overflow) {
        return POSTIE_ERR_PARAM;
    }
    st = postie_transport_send_all(&p->tr, c->buf, c->len, p->timeout_ms);
    if (st != POSTIE_OK) {
        return fatal(p, transport_status(st));
    }
    return POSTIE_OK;
}

/* KEYWORD [number] then the status line. */
static postie_status simple_cmd(postie_pop3 *p, const char *kw, int with_num, unsigned long num)
{
    cmdbuf c;
    postie_status st;

    cmd_start(p, &c);
    cmd_str(&c, kw);
    if (with_num) {
        cmd_str(&c, " ");
        cmd_num(&c, num);
    }
    st = cmd_send(p, &c);
    if (st != POSTIE_OK) {
        return st;
    }
    return read_status(p);
}

/* ---- call guards ------------------------------------------------------- */

/* Common checks of a command: live session, nothing being read, right state. */
static postie_status guard(postie_pop3 *p, postie_pop3_state need)
{
    if (p == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (is_dead(p) || p->state == POSTIE_POP3_STATE_CLOSED) {
        return POSTIE_ERR_STATE;
    }
    if (p->busy || p->pipe_n > 0) {
        return POSTIE_ERR_BUSY; /* a reply or queued replies are outstanding */
    }
    if (p->state != need) {
        return POSTIE_ERR_STATE;
    }
    return POSTIE_OK;
}

static void learn_count(postie_pop3 *p, unsigned long n)
{
    /* Message numbers never change within a session and STAT leaves out
     * deleted messages, so the count only ever grows: it is the highest
     * message number seen (RFC 1939 sec. 5). */
    if (n > (unsigned long)LONG_MAX) {
        n = (unsigned long)LONG_MAX;
    }
    if (p->count < 0 || (long)n > p->count) {
        p->count = (long)n;
    }
}

static postie_status do_stat(postie_pop3 *p, unsigned long *count, unsigned long *octets)
{
    unsigned long n = 0, o = 0;
    postie_status st = simple_cmd(p, "STAT", 0, 0);

    if (st != POSTIE_OK) {
        return st;
    }
    if (postie_pop3_parse_num_pair(p->reply, &n, &o) != POSTIE_OK || n > (unsigned long)LONG_MAX) {
        return fatal(p, POSTIE_ERR_PROTOCOL);
    }
    learn_count(p, n);
    if (count != NULL) {
        *count = n;
    }
    if (octets != NULL) {
        *octets = o;
    }
    return POSTIE_OK;
}

/* Guard for a call taking a message number; sends STAT when the count is unknown. */
static postie_status guard_msg(postie_pop3 *p, unsigned long msg)
{
    postie_status st = guard(p, POSTIE_POP3_STATE_TRANSACTION);

    if (st != POSTIE_OK) {
        return st;
    }
    if (msg == 0) {
        return POSTIE_ERR_NO_SUCH_MESSAGE;
    }
    if (p->count < 0) {
        st = do_stat(p, NULL, NULL);
        if (st != POSTIE_OK) {
            return st;
        }
    }
    if (msg > (unsigned long)p->count) {
        return POSTIE_ERR_NO_SUCH_MESSAGE;
    }
    return POSTIE_OK;
}

/* ---- public API -------------------------------------------------------- */

postie_status postie_pop3_init(postie_pop3 *p, const postie_transport *t)
{
    if (p == NULL || t == NULL || t->send == NULL || t->recv == NULL) {
        return POSTIE_ERR_PARAM;
    }
    memset(p, 0, sizeof *p);
    p->tr = *t;
    p->timeout_ms = POSTIE_DEFAULT_TIMEOUT_MS;
    p->state = POSTIE_POP3_STATE_CLOSED;
    p->count = -1;
    postie_line_init(&p->line);
    postie_pop3_body_init(&p->body);
    return POSTIE_OK;
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
    if (p->state != POSTIE_POP3_STATE_CLOSED || is_dead(p)) {
        return POSTIE_ERR_STATE;
    }
    if (postie_tls_policy_check(policy, server_name, p->server_name) != POSTIE_OK) {
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

static postie_status read_capa(postie_pop3 *p)
{
    unsigned caps = p->caps & POSTIE_POP3_CAP_APOP;
    postie_status st = simple_cmd(p, "CAPA", 0, 0);

    p->sasl[0] = '\0';
    if (st == POSTIE_ERR_SERVER) {
        p->caps = caps; /* a server without CAPA (RFC 1939 only) */
        return st;
    }
    if (st != POSTIE_OK) {
        return st;
    }
    caps |= POSTIE_POP3_CAP_CAPA;
    for (;;) {
        st = read_line(p);
        if (st != POSTIE_OK) {
            return st;
        }
        if (postie_pop3_listing_line(p->line.buf, &p->line.len)) {
            break;
        }
        caps |= postie_pop3_parse_capa_line(p->line.buf, p->sasl, sizeof p->sasl);
    }
    p->caps = caps;
    return POSTIE_OK;
}

postie_status postie_pop3_open(postie_pop3 *p)
{
    return postie_pop3_open_ex(p, 0);
}

/* Sends QUIT, ignores the answer, closes: the session cannot go on. */
static postie_status refuse(postie_pop3 *p, postie_status st)
{
    char keep[sizeof p->reply];

    memcpy(keep, p->reply, sizeof keep);
    if (!is_dead(p)) {
        (void)simple_cmd(p, "QUIT", 0, 0);
    }
    shut(p);
    memcpy(p->reply, keep, sizeof keep);
    return st;
}

/* STLS, the injection check, start_tls, CAPA again. Checks done by callers. */
static postie_status do_stls(postie_pop3 *p, const char *server_name)
{
    postie_status st = simple_cmd(p, "STLS", 0, 0);

    if (st != POSTIE_OK) {
        return st; /* -ERR: still plain, usable; anything else was fatal */
    }
    /* Bytes already received after the +OK came in the clear and would be
     * read as if they came over TLS (CVE-2011-0411 class): refuse them. */
    if (p->rpos < p->rlen) {
        return fatal(p, POSTIE_ERR_PROTOCOL);
    }
    st = p->tr.start_tls(p->tr.ctx, server_name);
    if (st != POSTIE_OK) {
        return fatal(p, st < 0 ? st : POSTIE_ERR_TLS);
    }
    p->tls_active = 1;
    /* RFC 2595 sec. 4: forget what was learnt in plain text, ask again */
    p->caps &= POSTIE_POP3_CAP_APOP;
    p->sasl[0] = '\0';
    st = read_capa(p);
    return st == POSTIE_ERR_SERVER ? POSTIE_OK : st;
}

/* open()'s part of the TLS policy, after the first CAPA. */
static postie_status apply_policy(postie_pop3 *p)
{
    postie_status st;

    if (p->tls_active || p->tls_policy == POSTIE_TLS_OFF) {
        return POSTIE_OK;
    }
    if ((p->caps & POSTIE_POP3_CAP_STLS) && p->tr.start_tls != NULL) {
        st = do_stls(p, p->server_name);
        if (st == POSTIE_ERR_SERVER && p->tls_policy == POSTIE_TLS_REQUIRED) {
            return refuse(p, st);
        }
        return st == POSTIE_ERR_SERVER ? POSTIE_OK : st;
    }
    if (p->tls_policy == POSTIE_TLS_REQUIRED) {
        return refuse(p, POSTIE_ERR_TLS_REQUIRED);
    }
    return POSTIE_OK;
}

postie_status postie_pop3_open_ex(postie_pop3 *p, unsigned flags)
{
    postie_status st;

    if (p == NULL || (flags & ~POSTIE_POP3_OPEN_NO_CAPA) != 0) {
        return POSTIE_ERR_PARAM;
    }
    if (is_dead(p) || p->state != POSTIE_POP3_STATE_CLOSED) {
        return POSTIE_ERR_STATE;
    }
    if (!(flags & POSTIE_POP3_OPEN_NO_CAPA) && !p->tls_active &&
        (p->tls_policy == POSTIE_TLS_REQUIRED || p->tls_policy == POSTIE_TLS_OPPORTUNISTIC) &&
        p->server_name[0] == '\0') {
        return POSTIE_ERR_PARAM; /* no name to check a certificate against */
    }
    p->caps = 0;
    p->timestamp[0] = '\0';
    p->sasl[0] = '\0';
    st = read_status(p);
    if (st == POSTIE_ERR_SERVER) {
        return fatal(p, st); /* the server refuses us and will hang up */
    }
    if (st != POSTIE_OK) {
        return st;
    }
    {
        /* from the whole line: p->reply may be truncated */
        const char *text = NULL;
        (void)postie_pop3_classify(p->line.buf, p->line.len, &text);
        if (text != NULL &&
            postie_pop3_parse_timestamp(text, p->timestamp, sizeof p->timestamp)) {
            p->caps |= POSTIE_POP3_CAP_APOP;
        }
    }
    p->state = POSTIE_POP3_STATE_AUTHORIZATION;
    if (flags & POSTIE_POP3_OPEN_NO_CAPA) {
        return POSTIE_OK;
    }
    st = read_capa(p);
    if (st != POSTIE_OK && st != POSTIE_ERR_SERVER) {
        return st;
    }
    return apply_policy(p);
}

postie_status postie_pop3_stls(postie_pop3 *p, const char *server_name)
{
    postie_status st;

    if (p == NULL || !postie_server_name_ok(server_name)) {
        return POSTIE_ERR_PARAM;
    }
    st = guard(p, POSTIE_POP3_STATE_AUTHORIZATION);
    if (st != POSTIE_OK) {
        return st;
    }
    if (p->tls_active) {
        return POSTIE_ERR_STATE;
    }
    if (!(p->caps & POSTIE_POP3_CAP_STLS) || p->tr.start_tls == NULL) {
        return POSTIE_ERR_UNSUPPORTED;
    }
    return do_stls(p, server_name);
}

postie_status postie_pop3_capa(postie_pop3 *p)
{
    postie_status st;

    if (p == NULL) {
        return POSTIE_ERR_PARAM;
    }
    st = guard(p, p->state);
    if (st != POSTIE_OK) {
        return st;
    }
    return read_capa(p);
}

unsigned postie_pop3_caps(const postie_pop3 *p)
{
    return p != NULL ? p->caps : 0u;
}

const char *postie_pop3_sasl_mechs(const postie_pop3 *p)
{
    return p != NULL ? p->sasl : "";
}

const char *postie_pop3_timestamp(const postie_pop3 *p)
{
    return p != NULL ? p->timestamp : "";
}

const char *postie_pop3_reply_text(const postie_pop3 *p)
{
    return p != NULL ? p->reply : "";
}

postie_pop3_state postie_pop3_get_state(const postie_pop3 *p)
{
    return p != NULL ? p->state : POSTIE_POP3_STATE_CLOSED;
}

/* RFC 2449 sec. 8: response code at the start of the text, hierarchical. */
static int has_resp_code(const char *text, const char *code)
{
    size_t n = strlen(code), i;

    if (text[0] != '[') {
        return 0;
    }
    for (i = 0; i < n; i++) {
        int c = (unsigned char)text[1 + i];
        if (c >= 'a' && c <= 'z') {
            c = c - 'a' + 'A';
        }
        if (c != code[i]) {
            return 0;
        }
    }
    return text[1 + n] == ']' || text[1 + n] == '/';
}

static int is_transient(const char *text)
{
    return has_resp_code(text, "SYS/TEMP") || has_resp_code(text, "IN-USE") ||
           has_resp_code(text, "LOGIN-DELAY");
}

/* Maps -ERR to a login failure status. */
static postie_status login_refused(const postie_pop3 *p)
{
    return is_transient(p->reply) ? POSTIE_ERR_TRANSIENT : POSTIE_ERR_AUTH;
}

static int wire_safe(const char *s)
{
    return strchr(s, '\r') == NULL && strchr(s, '\n') == NULL;
}

static postie_status login_user(postie_pop3 *p, const char *user, const char *pass)
{
    cmdbuf c;
    postie_status st;

    cmd_start(p, &c);
    cmd_str(&c, "USER ");
    cmd_str(&c, user);
    st = cmd_send(p, &c);
    if (st == POSTIE_OK) {
        st = read_status(p);
    }
    if (st == POSTIE_ERR_SERVER) {
        return login_refused(p);
    }
    if (st != POSTIE_OK) {
        return st;
    }
    cmd_start(p, &c);
    cmd_str(&c, "PASS ");
    cmd_str(&c, pass);
    st = cmd_send(p, &c);
    if (st == POSTIE_OK) {
        st = read_status(p);
    }
    /* clear the password from the command buffer */
    memset(p->cmd, 0, sizeof p->cmd);
    if (st == POSTIE_ERR_SERVER) {
        return login_refused(p);
    }
    return st;
}

static postie_status login_apop(postie_pop3 *p, const char *user, const char *pass)
{
    cmdbuf c;
    char hex[33];
    postie_status st;

    postie_pop3_apop_digest(p->timestamp, pass, hex);
    cmd_start(p, &c);
    cmd_str(&c, "APOP ");
    cmd_str(&c, user);
    cmd_str(&c, " ");
    cmd_str(&c, hex);
    st = cmd_send(p, &c);
    if (st == POSTIE_OK) {
        st = read_status(p);
    }
    if (st == POSTIE_ERR_SERVER) {
        return login_refused(p);
    }
    return st;
}

postie_status postie_pop3_login(postie_pop3 *p, const char *user, const char *pass,
                                postie_pop3_login_mode mode)
{
    postie_status st;
    int apop, user_ok;

    if (p == NULL || user == NULL || pass == NULL ||
        (mode != POSTIE_POP3_LOGIN_AUTO && mode != POSTIE_POP3_LOGIN_USER &&
         mode != POSTIE_POP3_LOGIN_APOP)) {
        return POSTIE_ERR_PARAM;
    }
    st = guard(p, POSTIE_POP3_STATE_AUTHORIZATION);
    if (st != POSTIE_OK) {
        return st;
    }
    if (user[0] == '\0' || !wire_safe(user) || !wire_safe(pass)) {
        return POSTIE_ERR_PARAM;
    }
    /* every command must fit p->cmd: "PASS " + pass + CRLF, "APOP " + user + " " + 32 + CRLF */
    if (strlen(pass) + 7 > sizeof p->cmd || strlen(user) + 40 > sizeof p->cmd) {
        return POSTIE_ERR_PARAM;
    }
    if (!p->tls_active && p->tls_policy == POSTIE_TLS_REQUIRED) {
        return POSTIE_ERR_TLS_REQUIRED;
    }
    apop = p->timestamp[0] != '\0';
    if (mode == POSTIE_POP3_LOGIN_APOP && !apop) {
        return POSTIE_ERR_UNSUPPORTED;
    }
    if (mode == POSTIE_POP3_LOGIN_USER) {
        apop = 0;
    }
    /* USER/PASS shows the password to anyone on the path */
    user_ok = p->tls_active || p->allow_plain;
    if (!apop && !user_ok) {
        return POSTIE_ERR_INSECURE;
    }
    st = POSTIE_ERR_AUTH;
    if (apop) {
        st = login_apop(p, user, pass);
        /* AUTO: APOP refused (not for a transient reason) -> USER/PASS */
        if (st == POSTIE_ERR_AUTH && mode == POSTIE_POP3_LOGIN_AUTO && user_ok) {
            st = login_user(p, user, pass);
        }
    } else {
        st = login_user(p, user, pass);
    }
    if (st == POSTIE_OK) {
        p->state = POSTIE_POP3_STATE_TRANSACTION;
        p->count = -1;
    }
    return st;
}

/* ---- AUTH (RFC 5034) ----------------------------------------------------- */

/* p->sasl_buf holds the initial response whole; for challenges it is split
 * in two halves: the decoded challenge, then the raw response. */
#define AUTH_CHAL_MAX (POSTIE_POP3_SASL_RAW_MAX / 2)
/* RFC 5034 sec. 4 (through RFC 2449 sec. 4): a command is at most 255
 * octets with its CRLF. */
#define AUTH_CMD_LIMIT 255
/* Random bytes of a SCRAM client nonce: 15 give 20 base64 characters
 * (120 bits), the length of RFC 7677's example nonce. */
#define SCRAM_NONCE_BYTES 15
#define AUTH_MAX_CHALLENGES 6

/* Reads one line of an AUTH exchange: +OK, -ERR or a "+ " challenge. */
static postie_status auth_reply(postie_pop3 *p, postie_pop3_reply_kind *kind, const char **text)
{
    postie_status st = read_line(p);

    if (st != POSTIE_OK) {
        return st;
    }
    *kind = postie_pop3_classify(p->line.buf, p->line.len, text);
    if (*kind == POSTIE_POP3_REPLY_INVALID) {
        p->reply[0] = '\0';
        return fatal(p, POSTIE_ERR_PROTOCOL);
    }
    keep_text(p, *text);
    return POSTIE_OK;
}

/* Sends raw[0..n) base64-encoded as one response line (empty line for n 0). */
static postie_status auth_send(postie_pop3 *p, const char *raw, size_t n)
{
    size_t el = 0;
    postie_status st;

    if (postie_base64_encoded_len(n) + 3 > sizeof p->cmd) {
        return POSTIE_ERR_BUFFER;
    }
    if (n > 0 && postie_base64_encode(raw, n, p->cmd, sizeof p->cmd, &el) != POSTIE_OK) {
        return POSTIE_ERR_BUFFER;
    }
    memcpy(p->cmd + el, "\r\n", 2);
    st = postie_transport_send_all(&p->tr, p->cmd, el + 2, p->timeout_ms);
    if (st != POSTIE_OK) {
        return fatal(p, transport_status(st));
    }
    return POSTIE_OK;
}

/* Cancels the exchange with "*" (RFC 5034 sec. 4); the server answers -ERR. */
static postie_status auth_cancel(postie_pop3 *p, postie_status st)
{
    postie_status r;

    memcpy(p->cmd, "*\r\n", 3);
    r = postie_transport_send_all(&p->tr, p->cmd, 3, p->timeout_ms);
    if (r != POSTIE_OK) {
        return fatal(p, transport_status(r));
    }
    r = read_status(p);
    if (r == POSTIE_OK) {
        return fatal(p, POSTIE_ERR_PROTOCOL); /* +OK to a cancelled exchange */
    }
    if (r != POSTIE_ERR_SERVER) {
        return r;
    }
    return st;
}

/* Wipes every secret the exchange touched and returns st. */
static postie_status auth_end(postie_pop3 *p, postie_scram *sc, postie_status st)
{
    postie_scram_wipe(sc);
    memset(p->sasl_buf, 0, sizeof p->sasl_buf);
    memset(p->cmd, 0, sizeof p->cmd);
    return st;
}

static int printable_ascii(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) {
            return 0;
        }
    }
    return 1;
}

/* Builds the initial response of mech into p->sasl_buf (*n bytes); *has is 0
 * for mechanisms where the server speaks first. Nothing is sent. */
static postie_status auth_initial(postie_pop3 *p, postie_scram *sc, postie_sasl_mech mech,
                                  const char *user, const char *secret, size_t *n, int *has)
{
    char *out = p->sasl_buf;
    size_t cap = sizeof p->sasl_buf;
    postie_status st;

    *n = 0;
    *has = 1;
    switch (mech) {
    case POSTIE_SASL_PLAIN:
        st = postie_sasl_plain(NULL, user, secret, out, cap, n);
        break;
    case POSTIE_SASL_XOAUTH2:
        st = postie_sasl_xoauth2(user, secret, out, cap, n);
        break;
    case POSTIE_SASL_OAUTHBEARER:
        st = postie_sasl_oauthbearer(user, secret, NULL, NULL, out, cap, n);
        break;
    case POSTIE_SASL_SCRAM_SHA256: {
        unsigned char rnd[SCRAM_NONCE_BYTES];
        char nonce[SCRAM_NONCE_BYTES / 3 * 4 + 1];
        size_t nlen = 0;
        if (secret[0] == '\0' || !printable_ascii(user) || !printable_ascii(secret)) {
            return POSTIE_ERR_PARAM; /* docs/scram.md: no SASLprep */
        }
        st = p->random(p->random_ctx, rnd, sizeof rnd);
        if (st != POSTIE_OK) {
            return st < 0 ? st : POSTIE_ERR_INTERNAL;
        }
        (void)postie_base64_encode(rnd, sizeof rnd, nonce, sizeof nonce, &nlen);
        memset(rnd, 0, sizeof rnd);
        postie_scram_init(sc);
        st = postie_scram_client_first(sc, user, nonce, nlen, out, cap, n);
        break;
    }
    default: /* LOGIN, CRAM-MD5: the server speaks first */
        *has = 0;
        return POSTIE_OK;
    }
    if (st != POSTIE_OK) {
        return st == POSTIE_ERR_BUFFER ? POSTIE_ERR_BUFFER : POSTIE_ERR_PARAM;
    }
    /* the response must fit one command line, even when it waits for "+ " */
    if (postie_base64_encoded_len(*n) + 3 > sizeof p->cmd) {
        return POSTIE_ERR_BUFFER;
    }
    return POSTIE_OK;
}

postie_status postie_pop3_auth(postie_pop3 *p, unsigned mechs, const char *user,
                               const char *secret)
{
    postie_scram sc;
    postie_sasl_mech mech;
    postie_status st;
    unsigned offered, allowed, nchal = 0, scram_stage = 0;
    size_t irlen = 0;
    int has_ir = 0, ir_pending = 0, verified = 0;
    const char *name;
    cmdbuf c;

    if (p == NULL || user == NULL || secret == NULL || user[0] == '\0' || !wire_safe(user) ||
        !wire_safe(secret)) {
        return POSTIE_ERR_PARAM;
    }
    st = guard(p, POSTIE_POP3_STATE_AUTHORIZATION);
    if (st != POSTIE_OK) {
        return st;
    }
    if (!p->tls_active && p->tls_policy == POSTIE_TLS_REQUIRED) {
        return POSTIE_ERR_TLS_REQUIRED;
    }
    if (!(p->caps & POSTIE_POP3_CAP_SASL)) {
        return POSTIE_ERR_UNSUPPORTED;
    }
    offered = postie_sasl_parse_mechs(p->sasl);
    allowed = mechs & (unsigned)POSTIE_SASL_ALL_MECHS;
    if (p->random == NULL) {
        allowed &= ~(unsigned)POSTIE_SASL_SCRAM_SHA256;
    }
    if (!p->tls_active && !p->allow_plain) {
        unsigned safe = allowed & (unsigned)POSTIE_SASL_CLEAR_SAFE_MECHS;
        if (postie_sasl_choose(offered, safe) == POSTIE_SASL_NONE &&
            postie_sasl_choose(offered, allowed) != POSTIE_SASL_NONE) {
            return POSTIE_ERR_INSECURE;
        }
        allowed = safe;
    }
    mech = postie_sasl_choose(offered, allowed);
    if (mech == POSTIE_SASL_NONE) {
        return POSTIE_ERR_UNSUPPORTED;
    }
    name = postie_sasl_mech_name(mech);
    postie_scram_init(&sc);
    st = auth_initial(p, &sc, mech, user, secret, &irlen, &has_ir);
    if (st != POSTIE_OK) {
        return auth_end(p, &sc, st);
    }

    cmd_start(p, &c);
    cmd_str(&c, "AUTH ");
    cmd_str(&c, name);
    if (has_ir) {
        size_t b64 = irlen > 0 ? postie_base64_encoded_len(irlen) : 1;
        if (c.len + 1 + b64 + 2 <= AUTH_CMD_LIMIT) {
            size_t el = 0;
            cmd_str(&c, " ");
            if (irlen == 0) {
                cmd_str(&c, "="); /* RFC 5034: "=" is an empty initial response */
            } else if (postie_base64_encode(p->sasl_buf, irlen, c.buf + c.len, c.cap - c.len,
                                            &el) == POSTIE_OK) {
                c.len += el;
            } else {
                c.overflow = 1;
            }
        } else {
            ir_pending = 1; /* too long: it goes after the server's empty "+ " */
        }
    }
    st = cmd_send(p, &c);
    if (st != POSTIE_OK) {
        return auth_end(p, &sc, st);
    }

    for (;;) {
        postie_pop3_reply_kind kind = POSTIE_POP3_REPLY_INVALID;
        const char *text = NULL;
        char *chal = p->sasl_buf, *raw = p->sasl_buf + AUTH_CHAL_MAX;
        size_t clen = 0, rawlen = 0;

        st = auth_reply(p, &kind, &text);
        if (st != POSTIE_OK) {
            return auth_end(p, &sc, st);
        }
        if (kind == POSTIE_POP3_REPLY_OK) {
            if (mech == POSTIE_SASL_SCRAM_SHA256 && !verified) {
                /* the server never proved it knows the password */
                return auth_end(p, &sc, fatal(p, POSTIE_ERR_AUTH));
            }
            p->state = POSTIE_POP3_STATE_TRANSACTION;
            p->count = -1;
            return auth_end(p, &sc, POSTIE_OK);
        }
        if (kind == POSTIE_POP3_REPLY_ERR) {
            return auth_end(p, &sc, login_refused(p));
        }
        /* a "+ " challenge */
        if (nchal++ >= AUTH_MAX_CHALLENGES) {
            return auth_end(p, &sc, auth_cancel(p, POSTIE_ERR_AUTH));
        }
        if (ir_pending) {
            ir_pending = 0;
            if (text[0] != '\0') {
                return auth_end(p, &sc, auth_cancel(p, POSTIE_ERR_AUTH));
            }
            st = auth_send(p, p->sasl_buf, irlen);
            if (st != POSTIE_OK) {
                return auth_end(p, &sc, st);
            }
            nchal = 0;
            continue;
        }
        if (postie_base64_decode(text, strlen(text), chal, AUTH_CHAL_MAX, &clen) != POSTIE_OK) {
            return auth_end(p, &sc, auth_cancel(p, POSTIE_ERR_DECODE));
        }
        switch (mech) {
        case POSTIE_SASL_LOGIN:
            st = postie_sasl_login(chal, clen, nchal - 1, user, secret, raw,
                                   sizeof p->sasl_buf - AUTH_CHAL_MAX, &rawlen);
            break;
        case POSTIE_SASL_CRAM_MD5:
            st = nchal == 1 ? postie_sasl_cram_md5(chal, clen, user, secret, raw,
                                                   sizeof p->sasl_buf - AUTH_CHAL_MAX, &rawlen)
                            : POSTIE_ERR_PROTOCOL;
            break;
        case POSTIE_SASL_XOAUTH2:
            /* an error challenge (JSON): answer empty, the server then says -ERR */
            st = nchal == 1 ? POSTIE_OK : POSTIE_ERR_PROTOCOL;
            break;
        case POSTIE_SASL_OAUTHBEARER:
            st = nchal == 1 ? POSTIE_OK : POSTIE_ERR_PROTOCOL;
            raw[0] = POSTIE_SASL_OAUTHBEARER_ABORT[0];
            rawlen = 1;
            break;
        case POSTIE_SASL_SCRAM_SHA256:
            if (scram_stage == 0) {
                st = postie_scram_client_final(&sc, secret, chal, clen, raw,
                                               sizeof p->sasl_buf - AUTH_CHAL_MAX, &rawlen);
            } else if (scram_stage == 1) {
                st = postie_scram_server_final(&sc, chal, clen);
                verified = st == POSTIE_OK;
                rawlen = 0; /* the empty response that asks for +OK */
            } else {
                st = POSTIE_ERR_PROTOCOL;
            }
            scram_stage++;
            break;
        default: /* PLAIN went with its initial response: no challenge expected */
            st = POSTIE_ERR_PROTOCOL;
            break;
        }
        if (st != POSTIE_OK) {
            return auth_end(p, &sc, auth_cancel(p, st == POSTIE_ERR_BUFFER ? POSTIE_ERR_BUFFER
                                                                             : POSTIE_ERR_AUTH));
        }
        st = auth_send(p, raw, rawlen);
        if (st == POSTIE_ERR_BUFFER) {
            return auth_end(p, &sc, auth_cancel(p, st));
        }
        if (st != POSTIE_OK) {
            return auth_end(p, &sc, st);
        }
    }
}

postie_status postie_pop3_stat(postie_pop3 *p, unsigned long *count, unsigned long *octets)
{
    postie_status st = guard(p, POSTIE_POP3_STATE_TRANSACTION);

    if (st != POSTIE_OK) {
        return st;
    }
    return do_stat(p, count, octets);
}

postie_status postie_pop3_list(postie_pop3 *p, unsigned long msg, unsigned long *octets)
{
    unsigned long n = 0, o = 0;
    postie_status st = guard_msg(p, msg);

    if (st != POSTIE_OK) {
        return st;
    }
    st = simple_cmd(p, "LIST", 1, msg);
    if (st != POSTIE_OK) {
        return st;
    }
    if (postie_pop3_parse_num_pair(p->reply, &n, &o) != POSTIE_OK || n != msg) {
        return fatal(p, POSTIE_ERR_PROTOCOL);
    }
    if (octets != NULL) {
        *octets = o;
    }
    return POSTIE_OK;
}

/* The leading number of a text ("+OK 120 octets", a LIST or UIDL line), or 0. */
static unsigned long leading_number(const char *text)
{
    unsigned long v = 0;
    const char *s = text;

    while (*s >= '0' && *s <= '9') {
        unsigned d = (unsigned)(*s - '0');
        if (v > (ULONG_MAX - d) / 10) {
            return 0;
        }
        v = v * 10 + d;
        s++;
    }
    if (s == text || (*s != '\0' && *s != ' ')) {
        return 0;
    }
    return v;
}

/* Starts a multi-line listing (LIST or UIDL without argument). */
static postie_status listing_begin(postie_pop3 *p, const char *kw, unsigned char kind)
{
    postie_status st = guard(p, POSTIE_POP3_STATE_TRANSACTION);

    if (st != POSTIE_OK) {
        return st;
    }
    st = simple_cmd(p, kw, 0, 0);
    if (st != POSTIE_OK) {
        return st;
    }
    if (p->count < 0) {
        p->count = 0; /* no DELE yet: the listing names every message */
    }
    p->busy = 1;
    p->busy_kind = kind;
    return POSTIE_OK;
}

/* Next line of a listing: POSTIE_OK (p->line holds it), POSTIE_DONE, or fatal. */
static postie_status listing_next(postie_pop3 *p, unsigned char kind)
{
    postie_status st;

    if (p == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (is_dead(p) || p->state != POSTIE_POP3_STATE_TRANSACTION || !p->busy) {
        return POSTIE_ERR_STATE;
    }
    if (p->busy_kind != kind) {
        return POSTIE_ERR_BUSY;
    }
    st = read_line(p);
    if (st != POSTIE_OK) {
        return st;
    }
    if (postie_pop3_listing_line(p->line.buf, &p->line.len)) {
        p->busy = 0;
        p->busy_kind = BUSY_NONE;
        return POSTIE_DONE;
    }
    /* LIST and UIDL lines both start with a message number: learn the count
     * from every line, the ones drain() skips too, so a listing cut short
     * still names every message. */
    learn_count(p, leading_number(p->line.buf));
    return POSTIE_OK;
}

postie_status postie_pop3_list_begin(postie_pop3 *p)
{
    return listing_begin(p, "LIST", BUSY_LIST);
}

postie_status postie_pop3_list_next(postie_pop3 *p, unsigned long *msg, unsigned long *octets)
{
    unsigned long n = 0, o = 0;
    postie_status st = listing_next(p, BUSY_LIST);

    if (st != POSTIE_OK) {
        return st;
    }
    if (postie_pop3_parse_num_pair(p->line.buf, &n, &o) != POSTIE_OK || n == 0 ||
        n > (unsigned long)LONG_MAX) {
        return fatal(p, POSTIE_ERR_PROTOCOL);
    }
    if (msg != NULL) {
        *msg = n;
    }
    if (octets != NULL) {
        *octets = o;
    }
    return POSTIE_OK;
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
    unsigned long n = 0;
    postie_status st;

    if (p == NULL || uid == NULL || cap == 0) {
        return POSTIE_ERR_PARAM;
    }
    st = guard_msg(p, msg);
    if (st != POSTIE_OK) {
        return st;
    }
    st = simple_cmd(p, "UIDL", 1, msg);
    if (st != POSTIE_OK) {
        return st;
    }
    uid[0] = '\0';
    st = postie_pop3_parse_uidl(p->reply, &n, uid, cap);
    if (st == POSTIE_ERR_BUFFER && n == msg) {
        /* well formed (parse_uidl checks the syntax before the size) */
        return POSTIE_ERR_BUFFER;
    }
    if (st != POSTIE_OK || n != msg) {
        return fatal(p, POSTIE_ERR_PROTOCOL);
    }
    return POSTIE_OK;
}

postie_status postie_pop3_uidl_begin(postie_pop3 *p)
{
    return listing_begin(p, "UIDL", BUSY_UIDL);
}

postie_status postie_pop3_uidl_next(postie_pop3 *p, unsigned long *msg, char *uid, size_t cap)
{
    unsigned long n = 0;
    char tmp[POSTIE_POP3_UID_MAX];
    size_t len;
    postie_status st;

    if (p == NULL || uid == NULL || cap == 0) {
        return POSTIE_ERR_PARAM;
    }
    st = listing_next(p, BUSY_UIDL);
    if (st != POSTIE_OK) {
        return st;
    }
    if (postie_pop3_parse_uidl(p->line.buf, &n, tmp, sizeof tmp) != POSTIE_OK || n == 0 ||
        n > (unsigned long)LONG_MAX) {
        return fatal(p, POSTIE_ERR_PROTOCOL);
    }
    if (msg != NULL) {
        *msg = n;
    }
    len = strlen(tmp);
    if (len + 1 > cap) {
        uid[0] = '\0';
        return POSTIE_ERR_BUFFER; /* this entry is lost; the listing goes on */
    }
    memcpy(uid, tmp, len + 1);
    return POSTIE_OK;
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


static postie_status body_begin(postie_pop3 *p, const char *kw, unsigned long msg,
                                int with_lines, unsigned long lines)
{
    cmdbuf c;
    postie_status st;

    cmd_start(p, &c);
    cmd_str(&c, kw);
    cmd_str(&c, " ");
    cmd_num(&c, msg);
    if (with_lines) {
        cmd_str(&c, " ");
        cmd_num(&c, lines);
    }
    st = cmd_send(p, &c);
    if (st == POSTIE_OK) {
        st = read_status(p);
    }
    if (st != POSTIE_OK) {
        return st;
    }
    postie_pop3_body_init(&p->body);
    p->busy = 1;
    p->busy_kind = BUSY_BODY;
    return POSTIE_OK;
}

postie_status postie_pop3_retr_begin(postie_pop3 *p, unsigned long msg, unsigned long *octets)
{
    postie_status st = guard_msg(p, msg);

    if (octets != NULL) {
        *octets = 0;
    }
    if (st != POSTIE_OK) {
        return st;
    }
    st = body_begin(p, "RETR", msg, 0, 0);
    if (st == POSTIE_OK && octets != NULL) {
        *octets = leading_number(p->reply);
    }
    return st;
}

postie_status postie_pop3_top_begin(postie_pop3 *p, unsigned long msg, unsigned long lines)
{
    postie_status st = guard_msg(p, msg);

    if (st != POSTIE_OK) {
        return st;
    }
    return body_begin(p, "TOP", msg, 1, lines);
}

postie_status postie_pop3_read(postie_pop3 *p, void *buf, size_t cap, size_t *n)
{
    if (n != NULL) {
        *n = 0;
    }
    if (p == NULL || buf == NULL || cap == 0 || n == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (is_dead(p) || p->state != POSTIE_POP3_STATE_TRANSACTION || !p->busy) {
        return POSTIE_ERR_STATE;
    }
    if (p->busy_kind != BUSY_BODY) {
        return POSTIE_ERR_BUSY;
    }
    for (;;) {
        size_t used = 0, made = 0;
        postie_status st = postie_pop3_body_feed(&p->body, p->rbuf + p->rpos, p->rlen - p->rpos,
                                                 &used, (char *)buf, cap, &made);
        p->rpos += used;
        if (made > 0) {
            *n = made; /* even when the end was seen: the next call says DONE */
            return POSTIE_OK;
        }
        if (st == POSTIE_DONE) {
            p->busy = 0;
            p->busy_kind = BUSY_NONE;
            return POSTIE_DONE;
        }
        if (st != POSTIE_OK) {
            return fatal(p, POSTIE_ERR_INTERNAL);
        }
        st = fill(p);
        if (st != POSTIE_OK) {
            return fatal(p, st);
        }
    }
}

postie_status postie_pop3_drain(postie_pop3 *p)
{
    postie_status st;

    if (p == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (is_dead(p)) {
        return POSTIE_ERR_STATE;
    }
    if (!p->busy) {
        return POSTIE_OK;
    }
    if (p->busy_kind == BUSY_BODY) {
        size_t n;
        /* not p->cmd: queued commands may be waiting there */
        char scratch[128];
        while ((st = postie_pop3_read(p, scratch, sizeof scratch, &n)) == POSTIE_OK) {
        }
        return st == POSTIE_DONE ? POSTIE_OK : st;
    }
    while ((st = listing_next(p, p->busy_kind)) == POSTIE_OK) {
    }
    return st == POSTIE_DONE ? POSTIE_OK : st;
}

postie_status postie_pop3_dele(postie_pop3 *p, unsigned long msg)
{
    postie_status st = guard_msg(p, msg);

    if (st != POSTIE_OK) {
        return st;
    }
    return simple_cmd(p, "DELE", 1, msg);
}

postie_status postie_pop3_rset(postie_pop3 *p)
{
    postie_status st = guard(p, POSTIE_POP3_STATE_TRANSACTION);

    if (st != POSTIE_OK) {
        return st;
    }
    return simple_cmd(p, "RSET", 0, 0);
}

postie_status postie_pop3_noop(postie_pop3 *p)
{
    postie_status st = guard(p, POSTIE_POP3_STATE_TRANSACTION);

    if (st != POSTIE_OK) {
        return st;
    }
    return simple_cmd(p, "NOOP", 0, 0);
}

/* ---- pipelining (RFC 2449 sec. 6.6) --------------------------------------- */

static int pipelining_on(const postie_pop3 *p)
{
    return (p->caps & POSTIE_POP3_CAP_PIPELINING) != 0 && !p->no_pipelining;
}

void postie_pop3_set_pipelining(postie_pop3 *p, int allow)
{
    if (p != NULL) {
        p->no_pipelining = allow == 0;
    }
}

int postie_pop3_pipelining(const postie_pop3 *p)
{
    return p != NULL && pipelining_on(p);
}

unsigned postie_pop3_queued(const postie_pop3 *p)
{
    return p != NULL ? p->pipe_n : 0u;
}

/* Appends one command to the queue, after those waiting in p->cmd. */
static postie_status queue_cmd(postie_pop3 *p, unsigned char kind, const char *kw, int has_msg,
                               unsigned long msg, int has_lines, unsigned long lines)
{
    cmdbuf c;
    size_t idx;
    postie_status st;

    if (p == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (is_dead(p) || p->state == POSTIE_POP3_STATE_CLOSED) {
        return POSTIE_ERR_STATE;
    }
    if (p->busy) {
        return POSTIE_ERR_BUSY;
    }
    if (p->state != POSTIE_POP3_STATE_TRANSACTION) {
        return POSTIE_ERR_STATE;
    }
    if (has_msg) {
        if (msg == 0) {
            return POSTIE_ERR_NO_SUCH_MESSAGE;
        }
        if (p->count < 0) {
            if (p->pipe_n > 0) {
                return POSTIE_ERR_BUSY; /* STAT's reply would come after theirs */
            }
            st = do_stat(p, NULL, NULL);
            if (st != POSTIE_OK) {
                return st;
            }
        }
        if (msg > (unsigned long)p->count) {
            return POSTIE_ERR_NO_SUCH_MESSAGE;
        }
    }
    if (p->pipe_n >= POSTIE_POP3_PIPELINE_MAX) {
        return POSTIE_ERR_BUFFER;
    }
    c.buf = p->cmd + p->pipe_len;
    c.len = 0;
    c.cap = sizeof p->cmd - p->pipe_len;
    c.overflow = 0;
    cmd_str(&c, kw);
    if (has_msg) {
        cmd_str(&c, " ");
        cmd_num(&c, msg);
    }
    if (has_lines) {
        cmd_str(&c, " ");
        cmd_num(&c, lines);
    }
    cmd_str(&c, "\r\n");
    if (c.overflow || c.len > 255) {
        return POSTIE_ERR_BUFFER;
    }
    idx = ((size_t)p->pipe_head + p->pipe_n) % POSTIE_POP3_PIPELINE_MAX;
    p->pipe_kind[idx] = kind;
    p->pipe_msg[idx] = has_msg ? msg : 0;
    p->pipe_clen[idx] = (unsigned char)c.len;
    p->pipe_n++;
    p->pipe_len += c.len;
    return POSTIE_OK;
}

postie_status postie_pop3_queue_retr(postie_pop3 *p, unsigned long msg)
{
    return queue_cmd(p, POSTIE_POP3_CMD_RETR, "RETR", 1, msg, 0, 0);
}

postie_status postie_pop3_queue_top(postie_pop3 *p, unsigned long msg, unsigned long lines)
{
    return queue_cmd(p, POSTIE_POP3_CMD_TOP, "TOP", 1, msg, 1, lines);
}

postie_status postie_pop3_queue_dele(postie_pop3 *p, unsigned long msg)
{
    return queue_cmd(p, POSTIE_POP3_CMD_DELE, "DELE", 1, msg, 0, 0);
}

postie_status postie_pop3_queue_noop(postie_pop3 *p)
{
    return queue_cmd(p, POSTIE_POP3_CMD_NOOP, "NOOP", 0, 0, 0, 0);
}

/* Sends what may go out now: every unsent command when pipelining; else the
 * oldest unsent one, and only when no reply is outstanding. */
static postie_status pipe_send(postie_pop3 *p)
{
    size_t len, k;
    postie_status st;

    if (p->pipe_sent >= p->pipe_n) {
        return POSTIE_OK;
    }
    if (pipelining_on(p)) {
        len = p->pipe_len;
        k = (size_t)p->pipe_n - p->pipe_sent;
    } else {
        if (p->pipe_sent > 0 || p->busy) {
            return POSTIE_OK; /* next() sends it once the reply before is consumed */
        }
        len = p->pipe_clen[p->pipe_head];
        k = 1;
    }
    st = postie_transport_send_all(&p->tr, p->cmd, len, p->timeout_ms);
    if (st != POSTIE_OK) {
        return fatal(p, transport_status(st));
    }
    memmove(p->cmd, p->cmd + len, p->pipe_len - len);
    p->pipe_len -= len;
    p->pipe_sent = (unsigned char)(p->pipe_sent + k);
    return POSTIE_OK;
}

postie_status postie_pop3_flush(postie_pop3 *p)
{
    if (p == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (is_dead(p) || p->state != POSTIE_POP3_STATE_TRANSACTION) {
        return POSTIE_ERR_STATE;
    }
    return pipe_send(p);
}

postie_status postie_pop3_next(postie_pop3 *p, postie_pop3_cmd_kind *kind, unsigned long *msg,
                               unsigned long *octets)
{
    unsigned char k;
    postie_status st;

    if (kind != NULL) {
        *kind = POSTIE_POP3_CMD_NONE;
    }
    if (msg != NULL) {
        *msg = 0;
    }
    if (octets != NULL) {
        *octets = 0;
    }
    if (p == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (is_dead(p) || p->state == POSTIE_POP3_STATE_CLOSED) {
        return POSTIE_ERR_STATE;
    }
    if (p->busy) {
        return POSTIE_ERR_BUSY;
    }
    if (p->state != POSTIE_POP3_STATE_TRANSACTION) {
        return POSTIE_ERR_STATE;
    }
    if (p->pipe_n == 0) {
        return POSTIE_DONE;
    }
    k = p->pipe_kind[p->pipe_head];
    if (kind != NULL) {
        *kind = (postie_pop3_cmd_kind)k;
    }
    if (msg != NULL) {
        *msg = p->pipe_msg[p->pipe_head];
    }
    if (p->pipe_sent == 0) {
        st = pipe_send(p);
        if (st != POSTIE_OK) {
            return st;
        }
    }
    st = read_status(p);
    if (st != POSTIE_OK && st != POSTIE_ERR_SERVER) {
        return st; /* fatal: shut() forgot the queue */
    }
    p->pipe_head = (unsigned char)((p->pipe_head + 1u) % POSTIE_POP3_PIPELINE_MAX);
    p->pipe_n--;
    p->pipe_sent--;
    if (st == POSTIE_OK && (k == POSTIE_POP3_CMD_RETR || k == POSTIE_POP3_CMD_TOP)) {
        postie_pop3_body_init(&p->body);
        p->busy = 1;
        p->busy_kind = BUSY_BODY;
        if (k == POSTIE_POP3_CMD_RETR && octets != NULL) {
            *octets = leading_number(p->reply);
        }
    }
    return st;
}

postie_status postie_pop3_quit(postie_pop3 *p, int *committed)
{
    postie_status st;
    int in_transaction;

    if (committed != NULL) {
        *committed = 0;
    }
    if (p == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (is_dead(p) || p->state == POSTIE_POP3_STATE_CLOSED) {
        return POSTIE_ERR_STATE;
    }
    if (p->busy || p->pipe_n > 0) {
        return POSTIE_ERR_BUSY;
    }
    in_transaction = p->state == POSTIE_POP3_STATE_TRANSACTION;
    st = simple_cmd(p, "QUIT", 0, 0);
    if (st == POSTIE_OK && committed != NULL) {
        *committed = in_transaction;
    }
    shut(p); /* no-op when a fatal error already closed it */
    return st;
}

void postie_pop3_close(postie_pop3 *p)
{
    if (p != NULL) {
        shut(p);
    }
}
