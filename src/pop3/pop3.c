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
    if (p->busy) {
        return POSTIE_ERR_BUSY;
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

postie_status postie_pop3_open_ex(postie_pop3 *p, unsigned flags)
{
    postie_status st;

    if (p == NULL || (flags & ~POSTIE_POP3_OPEN_NO_CAPA) != 0) {
        return POSTIE_ERR_PARAM;
    }
    if (is_dead(p) || p->state != POSTIE_POP3_STATE_CLOSED) {
        return POSTIE_ERR_STATE;
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
    return st == POSTIE_ERR_SERVER ? POSTIE_OK : st;
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
    int apop;

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
    apop = p->timestamp[0] != '\0';
    if (mode == POSTIE_POP3_LOGIN_APOP && !apop) {
        return POSTIE_ERR_UNSUPPORTED;
    }
    if (mode == POSTIE_POP3_LOGIN_USER) {
        apop = 0;
    }
    st = POSTIE_ERR_AUTH;
    if (apop) {
        st = login_apop(p, user, pass);
        /* AUTO: APOP refused (not for a transient reason) -> USER/PASS */
        if (st == POSTIE_ERR_AUTH && mode == POSTIE_POP3_LOGIN_AUTO) {
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
    learn_count(p, n);
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
    learn_count(p, n);
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

/* RETR's "+OK 120 octets": the leading number, or 0. */
static unsigned long announced_octets(const char *text)
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
        *octets = announced_octets(p->reply);
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
        /* p->cmd is free while a reply is read: use it as scratch */
        while ((st = postie_pop3_read(p, p->cmd, sizeof p->cmd, &n)) == POSTIE_OK) {
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
    if (p->busy) {
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
