/*
 * POP3 session engine (RFC 1939, RFC 2449 CAPA and PIPELINING, RFC 2595
 * STLS, RFC 5034 AUTH) over the connection engine. No I/O: each step
 * returns POSTIE_AGAIN until the bytes it needs have moved (pop3_session.h).
 *
 * Every command is queued on p->conn with a tag and is matched to its reply
 * there; a multi-line reply's command stays at the head of the ring until
 * its terminator has been read, so that without PIPELINING nothing else is
 * sent before it ends. A session whose connection died (a fatal status,
 * QUIT, close) answers POSTIE_ERR_STATE from then on.
 */
#include "pop3_session.h"

#include <limits.h>
#include <string.h>

/* Tags of commands; the queue's own are the postie_pop3_cmd_kind values. */
enum {
    T_GREETING = 16, T_CAPA, T_STLS, T_USER, T_PASS, T_APOP, T_AUTH, T_STAT, T_LIST, T_UIDL,
    T_RETR, T_TOP, T_DELE, T_RSET, T_NOOP, T_QUIT
};

enum { OP_NONE = 0, OP_OPEN, OP_STLS, OP_CAPA, OP_LOGIN, OP_AUTH, OP_STAT, OP_LIST1, OP_UIDL1,
       OP_LISTALL, OP_UIDLALL, OP_RETR, OP_TOP, OP_DELE, OP_RSET, OP_NOOP, OP_NEXT, OP_QUIT };

enum {
    BUSY_NONE = 0,
    BUSY_BODY, /* RETR or TOP: postie_pop3_read() */
    BUSY_LIST, /* LIST: postie_pop3_list_next() */
    BUSY_UIDL  /* UIDL: postie_pop3_uidl_next() */
};

/* busy flag: the body or listing being read came from the pipelining queue */
#define BUSY_FROM_QUEUE 0x80u

#if POSTIE_WITH_POP3_SASL
/* RFC 2449 sec. 4: a command is at most 255 octets with its CRLF. XOAUTH2's
 * token always goes after the "+ " challenge: Microsoft's POP3 refuses it as
 * an initial response (its documented exchange is "AUTH XOAUTH2", "+ ", then
 * the token), and every other server accepts it there too. */
static const postie_sasl_proto sasl_proto = {255, 6, (unsigned)POSTIE_SASL_XOAUTH2};
#define SASL_CLEAR(p) ((p)->sasl[0] = '\0')
#define SASL_ROOM(p) (p)->sasl, sizeof (p)->sasl
#else /* POSTIE_WITH_POP3_SASL 0: the CAPA SASL list is not kept */
#define SASL_CLEAR(p) ((void)(p))
#define SASL_ROOM(p) NULL, 0
#endif
#if POSTIE_WITH_APOP
#define TIMESTAMP_CLEAR(p) ((p)->timestamp[0] = '\0')
#else /* POSTIE_WITH_APOP 0: the greeting's timestamp is not kept */
#define TIMESTAMP_CLEAR(p) ((void)(p))
#endif

/* ---- plumbing ------------------------------------------------------------- */

int postie_pop3s_dead(const postie_pop3 *p)
{
    return postie_conn_status(&p->conn) != POSTIE_OK;
}

/* A fatal status: the connection is out of step or gone. */
postie_status postie_pop3s_fatal(postie_pop3 *p, postie_status st)
{
    (void)postie_conn_kill(&p->conn, st);
    p->state = POSTIE_POP3_STATE_CLOSED;
    p->busy = 0;
    p->busy_kind = BUSY_NONE;
    p->op = OP_NONE;
    p->tls_wanted = 0;
    return st;
}

#define fatal postie_pop3s_fatal

/* The operation is over with st. */
static postie_status finish(postie_pop3 *p, postie_status st)
{
    p->op = OP_NONE;
    p->phase = 0;
    return st;
}

/* Starts or resumes op: POSTIE_OK to start (phase 0), POSTIE_AGAIN to go on
 * where it was, else the status to return. */
static postie_status enter(postie_pop3 *p, unsigned char op)
{
    if (p->op == op) {
        if (postie_pop3s_dead(p)) {
            /* it died between two calls (the caller's transport, a failed
             * handshake): the repeated call says why */
            p->op = OP_NONE;
            return postie_conn_status(&p->conn);
        }
        return POSTIE_AGAIN;
    }
    if (postie_pop3s_dead(p)) {
        return POSTIE_ERR_STATE;
    }
    if (p->op != OP_NONE || p->busy || p->tls_wanted) {
        return POSTIE_ERR_BUSY;
    }
    p->phase = 0;
    return POSTIE_OK;
}

/* Checks of a command that goes out alone: right state, nothing queued. */
static postie_status guard(postie_pop3 *p, postie_pop3_state need)
{
    if (p->state == POSTIE_POP3_STATE_CLOSED) {
        return POSTIE_ERR_STATE;
    }
    if (postie_conn_awaiting(&p->conn) > 0) {
        return POSTIE_ERR_BUSY; /* queued replies are outstanding */
    }
    if (p->state != need) {
        return POSTIE_ERR_STATE;
    }
    return POSTIE_OK;
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

/* Queues KEYWORD [number [number]] with tag. */
static postie_status queue(postie_pop3 *p, unsigned tag, unsigned long arg, const char *kw,
                           int nums, unsigned long a, unsigned long b)
{
    postie_status st;

    postie_conn_begin(&p->conn);
    postie_conn_add(&p->conn, kw);
    if (nums > 0) {
        postie_conn_add(&p->conn, " ");
        postie_conn_add_num(&p->conn, a);
    }
    if (nums > 1) {
        postie_conn_add(&p->conn, " ");
        postie_conn_add_num(&p->conn, b);
    }
    st = postie_conn_end(&p->conn, tag, arg);
    return st == POSTIE_ERR_BUFFER ? POSTIE_ERR_PARAM : st;
}

/* A framed line, or AGAIN, or the fatal status. */
static postie_status line(postie_pop3 *p)
{
    postie_status st = postie_conn_line(&p->conn);

    if (st == POSTIE_DONE || st == POSTIE_AGAIN) {
        return st;
    }
    return fatal(p, st);
}

/* The status line of the oldest command: POSTIE_OK (+OK), POSTIE_ERR_SERVER
 * (-ERR), POSTIE_AGAIN, or fatal. The command stays at the head. */
static postie_status status_line(postie_pop3 *p)
{
    const char *text = NULL;
    postie_pop3_reply_kind kind;
    postie_status st = line(p);

    if (st != POSTIE_DONE) {
        return st;
    }
    kind = postie_pop3_classify(p->conn.line.buf, p->conn.line.len, &text);
    if (kind == POSTIE_POP3_REPLY_OK || kind == POSTIE_POP3_REPLY_ERR) {
        keep_text(p, text);
        return kind == POSTIE_POP3_REPLY_OK ? POSTIE_OK : POSTIE_ERR_SERVER;
    }
    /* no SASL exchange is in progress: a continuation is out of place too */
    p->reply[0] = '\0';
    return fatal(p, POSTIE_ERR_PROTOCOL);
}

/* status_line() of a single-line reply: the command is done with. */
static postie_status reply(postie_pop3 *p)
{
    postie_status st = status_line(p);

    if (st == POSTIE_OK || st == POSTIE_ERR_SERVER) {
        postie_conn_pop(&p->conn);
    }
    return st;
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

static int pipelining_on(const postie_pop3 *p)
{
#if !POSTIE_WITH_POP3_PIPELINING
    (void)p;
    return 0; /* not compiled in: every command waits for the previous reply */
#endif
    return (p->caps & POSTIE_POP3_CAP_PIPELINING) != 0 && !p->no_pipelining;
}

static void set_caps(postie_pop3 *p, unsigned caps)
{
    p->caps = caps;
    p->conn.lockstep = !pipelining_on(p);
}

/* STAT's reply text into the count. */
static postie_status stat_reply(postie_pop3 *p, unsigned long *count, unsigned long *octets)
{
    unsigned long n = 0, o = 0;
    postie_status st = reply(p);

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

/*
 * The message-number check of an operation taking msg, as its first phases:
 * phase 0 checks and, when the count is unknown, queues STAT (phase 1 waits
 * for it). POSTIE_OK when the command may be queued now (phase 2), AGAIN,
 * or the status that ends the operation.
 */
static postie_status msg_ready(postie_pop3 *p, unsigned long msg)
{
    postie_status st;

    if (p->phase == 0) {
        st = guard(p, POSTIE_POP3_STATE_TRANSACTION);
        if (st != POSTIE_OK) {
            return st;
        }
        if (msg == 0) {
            return POSTIE_ERR_NO_SUCH_MESSAGE;
        }
        if (p->count < 0) {
            st = queue(p, T_STAT, 0, "STAT", 0, 0, 0);
            if (st != POSTIE_OK) {
                return st;
            }
        }
        p->phase = 1;
    }
    if (p->phase == 1) {
        if (postie_conn_awaiting(&p->conn) > 0) {
            st = stat_reply(p, NULL, NULL);
            if (st != POSTIE_OK) {
                return st;
            }
        }
        if (msg > (unsigned long)p->count) {
            return POSTIE_ERR_NO_SUCH_MESSAGE;
        }
        p->phase = 2;
    }
    return POSTIE_OK;
}

/* ---- greeting, CAPA, STLS ------------------------------------------------- */

#if POSTIE_WITH_POP3_CAPA
/* CAPA's reply: status line (op_arg 0), then its lines (op_arg 1).
 * POSTIE_OK, POSTIE_ERR_SERVER (no CAPA: RFC 1939 server), AGAIN, fatal. */
static postie_status capa_step(postie_pop3 *p)
{
    postie_status st;

    if (p->op_arg == 0) {
        st = status_line(p);
        if (st == POSTIE_AGAIN) {
            return st;
        }
        SASL_CLEAR(p);
        if (st == POSTIE_ERR_SERVER) {
            postie_conn_pop(&p->conn);
            set_caps(p, p->caps & POSTIE_POP3_CAP_APOP); /* a server without CAPA */
            return st;
        }
        if (st != POSTIE_OK) {
            return st;
        }
        set_caps(p, (p->caps & POSTIE_POP3_CAP_APOP) | POSTIE_POP3_CAP_CAPA);
        p->op_arg = 1;
    }
    for (;;) {
        st = line(p);
        if (st != POSTIE_DONE) {
            return st;
        }
        if (postie_pop3_listing_line(p->conn.line.buf, &p->conn.line.len)) {
            break;
        }
        p->caps |= postie_pop3_parse_capa_line(p->conn.line.buf, SASL_ROOM(p));
    }
    postie_conn_pop(&p->conn);
    set_caps(p, p->caps);
    p->op_arg = 0;
    return POSTIE_OK;
}

static postie_status queue_capa(postie_pop3 *p)
{
    p->op_arg = 0;
    return queue(p, T_CAPA, 0, "CAPA", 0, 0, 0);
}

/* STLS's +OK came: the transport must start TLS now. */
static postie_status want_tls(postie_pop3 *p)
{
    size_t left = 0;

    /* Bytes already received after the +OK came in the clear and would be
     * read as if they came over TLS (CVE-2011-0411 class): refuse them. */
    (void)postie_conn_input(&p->conn, &left);
    if (left > 0) {
        return fatal(p, POSTIE_ERR_PROTOCOL);
    }
    p->tls_wanted = 1;
    return POSTIE_START_TLS;
}
#endif

postie_status postie_pop3s_tls_started(postie_pop3 *p, postie_status st)
{
    if (!p->tls_wanted) {
        return POSTIE_ERR_STATE;
    }
    p->tls_wanted = 0;
    if (st != POSTIE_OK) {
        unsigned char op = p->op;
        st = fatal(p, st < 0 ? st : POSTIE_ERR_TLS);
        p->op = op; /* repeating the call that asked for TLS returns st */
        return st;
    }
    p->tls_active = 1;
    postie_conn_reset(&p->conn);
    /* RFC 2595 sec. 4: forget what was learnt in plain text, ask again */
    set_caps(p, p->caps & POSTIE_POP3_CAP_APOP);
    SASL_CLEAR(p);
    return POSTIE_OK;
}

#if POSTIE_WITH_POP3_CAPA
/* Phases shared by open() and stls() from the STLS command on. */
enum { PH_STLS_REPLY = 20, PH_STLS_TLS, PH_STLS_CAPA, PH_REFUSE };

/* Queues QUIT and goes to PH_REFUSE: the session ends with st. */
static postie_status refuse(postie_pop3 *p, postie_status st)
{
    p->fail = (unsigned char)(-st);
    if (queue(p, T_QUIT, 0, "QUIT", 0, 0, 0) != POSTIE_OK) {
        return fatal(p, st);
    }
    p->phase = PH_REFUSE;
    return POSTIE_AGAIN;
}

/* The STLS phases; required: refuse the session when the server says no. */
static postie_status stls_steps(postie_pop3 *p, int required)
{
    postie_status st;

    if (p->phase == PH_REFUSE) {
        /* QUIT's answer is not kept: p->reply says why we refused */
        st = (postie_status)(-(int)p->fail);
        if (line(p) == POSTIE_AGAIN) {
            return POSTIE_AGAIN;
        }
        p->fail = 0;
        (void)fatal(p, POSTIE_ERR_CLOSED);
        return finish(p, st);
    }
    if (p->phase == PH_STLS_REPLY) {
        st = reply(p);
        if (st == POSTIE_AGAIN) {
            return st;
        }
        if (st == POSTIE_ERR_SERVER) {
            /* still plain and usable */
            return required ? refuse(p, st) : finish(p, st);
        }
        if (st != POSTIE_OK) {
            return st;
        }
        p->phase = PH_STLS_TLS;
        return want_tls(p);
    }
    if (p->phase == PH_STLS_TLS) {
        if (p->tls_wanted) {
            return POSTIE_START_TLS; /* not reported done yet */
        }
        /* resumed after tls_started() */
        st = queue_capa(p);
        if (st != POSTIE_OK) {
            return fatal(p, st);
        }
        p->phase = PH_STLS_CAPA;
    }
    st = capa_step(p);
    if (st == POSTIE_AGAIN) {
        return st;
    }
    return finish(p, st == POSTIE_ERR_SERVER ? POSTIE_OK : st);
}

static int can_start_tls(const postie_pop3 *p)
{
    /* a blocking session needs its transport's start_tls; an event-loop
     * caller starts TLS itself when told to */
    return p->tr.start_tls != NULL || p->tr.recv == NULL;
}
#endif

postie_status postie_pop3s_open(postie_pop3 *p, unsigned flags)
{
    postie_status st = enter(p, OP_OPEN);

    if (st == POSTIE_OK) {
        if ((flags & ~POSTIE_POP3_OPEN_NO_CAPA) != 0) {
            return POSTIE_ERR_PARAM;
        }
        if (p->state != POSTIE_POP3_STATE_CLOSED) {
            return POSTIE_ERR_STATE;
        }
#if !POSTIE_WITH_POP3_CAPA
        /* no STLS is compiled in: a policy that asks for it cannot be kept */
        if (!p->tls_active &&
            (p->tls_policy == POSTIE_TLS_REQUIRED || p->tls_policy == POSTIE_TLS_OPPORTUNISTIC)) {
            return POSTIE_ERR_UNSUPPORTED;
        }
#else
        if (!(flags & POSTIE_POP3_OPEN_NO_CAPA) && !p->tls_active &&
            (p->tls_policy == POSTIE_TLS_REQUIRED || p->tls_policy == POSTIE_TLS_OPPORTUNISTIC) &&
            p->server_name[0] == '\0') {
            return POSTIE_ERR_PARAM; /* no name to check a certificate against */
        }
#endif
        p->caps = 0;
        TIMESTAMP_CLEAR(p);
        SASL_CLEAR(p);
        p->op = OP_OPEN;
        p->op_arg = 0;
        st = postie_conn_expect(&p->conn, T_GREETING, 0);
        if (st != POSTIE_OK) {
            return finish(p, st);
        }
        p->phase = 1;
    } else if (st != POSTIE_AGAIN) {
        return st;
    }
    if (p->phase == 1) {
#if POSTIE_WITH_APOP
        const char *text = NULL;
#endif
        st = reply(p);
        if (st == POSTIE_ERR_SERVER) {
            return finish(p, fatal(p, st)); /* the server refuses us and will hang up */
        }
        if (st != POSTIE_OK) {
            return st == POSTIE_AGAIN ? st : finish(p, st);
        }
#if POSTIE_WITH_APOP
        /* from the whole line: p->reply may be truncated */
        (void)postie_pop3_classify(p->conn.line.buf, p->conn.line.len, &text);
        if (text != NULL &&
            postie_pop3_parse_timestamp(text, p->timestamp, sizeof p->timestamp)) {
            p->caps |= POSTIE_POP3_CAP_APOP;
        }
#endif
        p->state = POSTIE_POP3_STATE_AUTHORIZATION;
#if !POSTIE_WITH_POP3_CAPA
        (void)flags;
        return finish(p, POSTIE_OK); /* as POSTIE_POP3_OPEN_NO_CAPA: no CAPA, no STLS */
    }
    return st;
}
#else
        if (flags & POSTIE_POP3_OPEN_NO_CAPA) {
            return finish(p, POSTIE_OK);
        }
        st = queue_capa(p);
        if (st != POSTIE_OK) {
            return finish(p, fatal(p, st));
        }
        p->phase = 2;
    }
    if (p->phase == 2) {
        st = capa_step(p);
        if (st == POSTIE_AGAIN) {
            return st;
        }
        if (st != POSTIE_OK && st != POSTIE_ERR_SERVER) {
            return finish(p, st);
        }
        /* open()'s part of the TLS policy */
        if (p->tls_active || p->tls_policy == POSTIE_TLS_OFF) {
            return finish(p, POSTIE_OK);
        }
        if ((p->caps & POSTIE_POP3_CAP_STLS) && can_start_tls(p)) {
            st = queue(p, T_STLS, 0, "STLS", 0, 0, 0);
            if (st != POSTIE_OK) {
                return finish(p, fatal(p, st));
            }
            p->phase = PH_STLS_REPLY;
        } else if (p->tls_policy == POSTIE_TLS_REQUIRED) {
            st = refuse(p, POSTIE_ERR_TLS_REQUIRED);
            if (st != POSTIE_AGAIN) {
                return finish(p, st);
            }
        } else {
            return finish(p, POSTIE_OK);
        }
    }
    st = stls_steps(p, p->tls_policy == POSTIE_TLS_REQUIRED);
    if (p->op == OP_OPEN && st != POSTIE_AGAIN && st != POSTIE_START_TLS) {
        return finish(p, st);
    }
    return st;
}
#endif

#if POSTIE_WITH_POP3_CAPA
postie_status postie_pop3s_stls(postie_pop3 *p, const char *server_name)
{
    postie_status st = enter(p, OP_STLS);

    if (st == POSTIE_OK) {
        if (!postie_server_name_ok(server_name)) {
            return POSTIE_ERR_PARAM;
        }
        st = guard(p, POSTIE_POP3_STATE_AUTHORIZATION);
        if (st != POSTIE_OK) {
            return st;
        }
        if (p->tls_active) {
            return POSTIE_ERR_STATE;
        }
        if (!(p->caps & POSTIE_POP3_CAP_STLS) || !can_start_tls(p)) {
            return POSTIE_ERR_UNSUPPORTED;
        }
        st = queue(p, T_STLS, 0, "STLS", 0, 0, 0);
        if (st != POSTIE_OK) {
            return st;
        }
        p->op = OP_STLS;
        p->phase = PH_STLS_REPLY;
    } else if (st != POSTIE_AGAIN) {
        return st;
    }
    return stls_steps(p, 0);
}

postie_status postie_pop3s_capa(postie_pop3 *p)
{
    postie_status st = enter(p, OP_CAPA);

    if (st == POSTIE_OK) {
        st = guard(p, p->state);
        if (st != POSTIE_OK) {
            return st;
        }
        st = queue_capa(p);
        if (st != POSTIE_OK) {
            return st;
        }
        p->op = OP_CAPA;
    } else if (st != POSTIE_AGAIN) {
        return st;
    }
    st = capa_step(p);
    return st == POSTIE_AGAIN ? st : finish(p, st);
}
#else
postie_status postie_pop3s_stls(postie_pop3 *p, const char *server_name)
{
    (void)p;
    (void)server_name;
    return POSTIE_ERR_UNSUPPORTED; /* POSTIE_WITH_POP3_CAPA 0: no CAPA, no STLS */
}

postie_status postie_pop3s_capa(postie_pop3 *p)
{
    (void)p;
    return POSTIE_ERR_UNSUPPORTED;
}
#endif

/* ---- login ------------------------------------------------------------------ */

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

static postie_status logged_in(postie_pop3 *p)
{
    p->state = POSTIE_POP3_STATE_TRANSACTION;
    p->count = -1;
    return finish(p, POSTIE_OK);
}

static postie_status queue_user(postie_pop3 *p, const char *user)
{
    postie_conn_begin(&p->conn);
    postie_conn_add(&p->conn, "USER ");
    postie_conn_add(&p->conn, user);
    return postie_conn_end(&p->conn, T_USER, 0);
}

postie_status postie_pop3s_login(postie_pop3 *p, const char *user, const char *pass,
                                 postie_pop3_login_mode mode)
{
    postie_status st;
    int apop, user_ok;

    if (user == NULL || pass == NULL ||
        (mode != POSTIE_POP3_LOGIN_AUTO && mode != POSTIE_POP3_LOGIN_USER &&
         mode != POSTIE_POP3_LOGIN_APOP)) {
        return POSTIE_ERR_PARAM;
    }
    st = enter(p, OP_LOGIN);
    user_ok = p->tls_active || p->allow_plain;
    if (st == POSTIE_OK) {
        st = guard(p, POSTIE_POP3_STATE_AUTHORIZATION);
        if (st != POSTIE_OK) {
            return st;
        }
        if (user[0] == '\0' || !wire_safe(user) || !wire_safe(pass)) {
            return POSTIE_ERR_PARAM;
        }
        /* every command must fit: "PASS " + pass + CRLF, "APOP " + user + " " + 32 + CRLF */
        if (strlen(pass) + 7 > POSTIE_CMD_MAX || strlen(user) + 40 > POSTIE_CMD_MAX) {
            return POSTIE_ERR_PARAM;
        }
        if (!p->tls_active && p->tls_policy == POSTIE_TLS_REQUIRED) {
            return POSTIE_ERR_TLS_REQUIRED;
        }
#if POSTIE_WITH_APOP
        apop = p->timestamp[0] != '\0';
#else
        apop = 0; /* not compiled in: LOGIN_APOP is ERR_UNSUPPORTED, AUTO is USER/PASS */
#endif
        if (mode == POSTIE_POP3_LOGIN_APOP && !apop) {
            return POSTIE_ERR_UNSUPPORTED;
        }
        if (mode == POSTIE_POP3_LOGIN_USER) {
            apop = 0;
        }
        /* USER/PASS shows the password to anyone on the path */
        if (!apop && !user_ok) {
            return POSTIE_ERR_INSECURE;
        }
#if POSTIE_WITH_APOP
        if (apop) {
            char hex[33];
            postie_pop3_apop_digest(p->timestamp, pass, hex);
            postie_conn_begin(&p->conn);
            postie_conn_add(&p->conn, "APOP ");
            postie_conn_add(&p->conn, user);
            postie_conn_add(&p->conn, " ");
            postie_conn_add(&p->conn, hex);
            memset(hex, 0, sizeof hex);
            st = postie_conn_end(&p->conn, T_APOP, 0);
            p->phase = 1;
        } else
#endif
        {
            st = queue_user(p, user);
            p->phase = 2;
        }
        if (st != POSTIE_OK) {
            return st;
        }
        p->op = OP_LOGIN;
    } else if (st != POSTIE_AGAIN) {
        return st;
    }
    if (p->phase == 1) {
        st = reply(p);
        if (st == POSTIE_AGAIN) {
            return st;
        }
        if (st == POSTIE_OK) {
            return logged_in(p);
        }
        if (st != POSTIE_ERR_SERVER) {
            return finish(p, st);
        }
        st = login_refused(p);
        /* AUTO: APOP refused (not for a transient reason) -> USER/PASS */
        if (st != POSTIE_ERR_AUTH || mode != POSTIE_POP3_LOGIN_AUTO || !user_ok) {
            return finish(p, st);
        }
        st = queue_user(p, user);
        if (st != POSTIE_OK) {
            return finish(p, st);
        }
        p->phase = 2;
    }
    if (p->phase == 2) {
        st = reply(p);
        if (st == POSTIE_AGAIN) {
            return st;
        }
        if (st != POSTIE_OK) {
            return finish(p, st == POSTIE_ERR_SERVER ? login_refused(p) : st);
        }
        postie_conn_begin(&p->conn);
        postie_conn_add(&p->conn, "PASS ");
        postie_conn_add(&p->conn, pass);
        st = postie_conn_end(&p->conn, T_PASS, 0);
        if (st != POSTIE_OK) {
            return finish(p, st);
        }
        p->phase = 3;
    }
    st = reply(p);
    if (st == POSTIE_AGAIN) {
        return st;
    }
    if (st == POSTIE_OK) {
        return logged_in(p);
    }
    return finish(p, st == POSTIE_ERR_SERVER ? login_refused(p) : st);
}

/* ---- AUTH (RFC 5034) ---------------------------------------------------------- */

#if POSTIE_WITH_POP3_SASL
static postie_status auth_end(postie_pop3 *p, postie_status st)
{
    postie_sasl_x_wipe(&p->sx);
    p->fail = 0;
    return finish(p, st);
}

postie_status postie_pop3s_auth(postie_pop3 *p, unsigned mechs, const char *user,
                                const char *secret)
{
    postie_sasl_mech mech = POSTIE_SASL_NONE;
    postie_pop3_reply_kind kind;
    const char *text = NULL;
    postie_status st;

    if (user == NULL || secret == NULL || user[0] == '\0' || !wire_safe(user) ||
        !wire_safe(secret)) {
        return POSTIE_ERR_PARAM;
    }
    st = enter(p, OP_AUTH);
    if (st == POSTIE_OK) {
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
        st = postie_sasl_x_select(postie_sasl_parse_mechs(p->sasl), mechs, p->tls_active,
                                  p->allow_plain, p->random != NULL, &mech);
        if (st != POSTIE_OK) {
            return st;
        }
        st = postie_sasl_x_start(&p->sx, &sasl_proto, mech, user, secret, p->random,
                                 p->random_ctx, &p->conn, T_AUTH);
        if (st != POSTIE_OK) {
            return st;
        }
        p->fail = 0;
        p->op = OP_AUTH;
    } else if (st != POSTIE_AGAIN) {
        return st;
    }
    for (;;) {
        st = line(p);
        if (st == POSTIE_AGAIN) {
            return st;
        }
        if (st != POSTIE_DONE) {
            return auth_end(p, st);
        }
        kind = postie_pop3_classify(p->conn.line.buf, p->conn.line.len, &text);
        if (kind == POSTIE_POP3_REPLY_INVALID) {
            p->reply[0] = '\0';
            return auth_end(p, fatal(p, POSTIE_ERR_PROTOCOL));
        }
        keep_text(p, text);
        postie_conn_pop(&p->conn);
        if (p->fail != 0) {
            /* the answer to our "*": -ERR, as RFC 5034 says */
            st = (postie_status)(-(int)p->fail);
            return auth_end(p, kind == POSTIE_POP3_REPLY_ERR ? st
                                                             : fatal(p, POSTIE_ERR_PROTOCOL));
        }
        if (kind == POSTIE_POP3_REPLY_OK) {
            st = postie_sasl_x_done(&p->sx);
            if (st != POSTIE_OK) {
                return auth_end(p, fatal(p, st));
            }
            postie_sasl_x_wipe(&p->sx);
            return logged_in(p);
        }
        if (kind == POSTIE_POP3_REPLY_ERR) {
            return auth_end(p, login_refused(p));
        }
        /* a "+ " challenge */
        st = postie_sasl_x_step(&p->sx, &sasl_proto, user, secret, text, strlen(text), &p->conn,
                                T_AUTH);
        if (st != POSTIE_OK) {
            if (postie_conn_awaiting(&p->conn) == 0) {
                return auth_end(p, fatal(p, st)); /* not even "*" could be queued */
            }
            p->fail = (unsigned char)(-st);
        }
    }
}
#else
postie_status postie_pop3s_auth(postie_pop3 *p, unsigned mechs, const char *user,
                                const char *secret)
{
    (void)p;
    (void)mechs;
    (void)user;
    (void)secret;
    return POSTIE_ERR_UNSUPPORTED; /* POSTIE_WITH_POP3_SASL 0 */
}
#endif

/* ---- transaction ---------------------------------------------------------------- */

/* Starts op with a single command in the TRANSACTION state, or resumes it:
 * POSTIE_AGAIN to go on to its reply, else the status to return. */
static postie_status start_cmd(postie_pop3 *p, unsigned char op, unsigned tag, const char *kw)
{
    postie_status st = enter(p, op);

    if (st != POSTIE_OK) {
        return st; /* AGAIN: resumed */
    }
    st = guard(p, POSTIE_POP3_STATE_TRANSACTION);
    if (st == POSTIE_OK) {
        st = queue(p, tag, 0, kw, 0, 0, 0);
    }
    if (st != POSTIE_OK) {
        return st;
    }
    p->op = op;
    return POSTIE_AGAIN;
}

/* A single-line command with no argument check: op, tag, keyword. */
static postie_status simple(postie_pop3 *p, unsigned char op, unsigned tag, const char *kw)
{
    postie_status st = start_cmd(p, op, tag, kw);

    if (st != POSTIE_AGAIN) {
        return st;
    }
    st = reply(p);
    return st == POSTIE_AGAIN ? st : finish(p, st);
}

postie_status postie_pop3s_stat(postie_pop3 *p, unsigned long *count, unsigned long *octets)
{
    postie_status st = start_cmd(p, OP_STAT, T_STAT, "STAT");

    if (st != POSTIE_AGAIN) {
        return st;
    }
    st = stat_reply(p, count, octets);
    return st == POSTIE_AGAIN ? st : finish(p, st);
}

/* A command on one message with a single-line reply: phases of msg_ready,
 * then the command (phase 2 queues it, phase 3 waits). */
static postie_status msg_cmd(postie_pop3 *p, unsigned char op, unsigned tag, const char *kw,
                             unsigned long msg)
{
    postie_status st = enter(p, op);

    if (st == POSTIE_OK) {
        p->op = op;
    } else if (st != POSTIE_AGAIN) {
        return st;
    }
    if (p->phase < 3) {
        st = msg_ready(p, msg);
        if (st != POSTIE_OK) {
            return st == POSTIE_AGAIN ? st : finish(p, st);
        }
        st = queue(p, tag, msg, kw, 1, msg, 0);
        if (st != POSTIE_OK) {
            return finish(p, st);
        }
        p->phase = 3;
    }
    st = reply(p);
    return st == POSTIE_AGAIN ? st : finish(p, st);
}

postie_status postie_pop3s_list(postie_pop3 *p, unsigned long msg, unsigned long *octets)
{
    unsigned long n = 0, o = 0;
    postie_status st = msg_cmd(p, OP_LIST1, T_LIST, "LIST", msg);

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

postie_status postie_pop3s_uidl(postie_pop3 *p, unsigned long msg, char *uid, size_t cap)
{
    unsigned long n = 0;
    postie_status st;

    if (uid == NULL || cap == 0) {
        return POSTIE_ERR_PARAM;
    }
    st = msg_cmd(p, OP_UIDL1, T_UIDL, "UIDL", msg);
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

/* Starts a multi-line listing (LIST or UIDL without argument). */
static postie_status listing_begin(postie_pop3 *p, unsigned char op, unsigned tag,
                                   const char *kw, unsigned char kind)
{
    postie_status st = start_cmd(p, op, tag, kw);

    if (st != POSTIE_AGAIN) {
        return st;
    }
    st = status_line(p);
    if (st == POSTIE_AGAIN) {
        return st;
    }
    finish(p, st);
    if (st == POSTIE_ERR_SERVER) {
        postie_conn_pop(&p->conn);
    }
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

postie_status postie_pop3s_list_begin(postie_pop3 *p)
{
    return listing_begin(p, OP_LISTALL, T_LIST, "LIST", BUSY_LIST);
}

postie_status postie_pop3s_uidl_begin(postie_pop3 *p)
{
    return listing_begin(p, OP_UIDLALL, T_UIDL, "UIDL", BUSY_UIDL);
}

/* Next line of a listing: POSTIE_OK (p->conn.line holds it), POSTIE_DONE,
 * AGAIN, or fatal. */
static postie_status listing_next(postie_pop3 *p, unsigned char kind)
{
    postie_status st;

    if (p->state != POSTIE_POP3_STATE_TRANSACTION || !p->busy) {
        return POSTIE_ERR_STATE;
    }
    if ((p->busy_kind & ~BUSY_FROM_QUEUE) != kind) {
        return POSTIE_ERR_BUSY;
    }
    st = line(p);
    if (st != POSTIE_DONE) {
        return st;
    }
    if (postie_pop3_listing_line(p->conn.line.buf, &p->conn.line.len)) {
        p->busy = 0;
        p->busy_kind = BUSY_NONE;
        postie_conn_pop(&p->conn);
        return POSTIE_DONE;
    }
    /* LIST and UIDL lines both start with a message number: learn the count
     * from every line, the ones drain() skips too, so a listing cut short
     * still names every message. */
    learn_count(p, leading_number(p->conn.line.buf));
    return POSTIE_OK;
}

postie_status postie_pop3s_list_next(postie_pop3 *p, unsigned long *msg, unsigned long *octets)
{
    unsigned long n = 0, o = 0;
    postie_status st = listing_next(p, BUSY_LIST);

    if (st != POSTIE_OK) {
        return st;
    }
    if (postie_pop3_parse_num_pair(p->conn.line.buf, &n, &o) != POSTIE_OK || n == 0 ||
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

postie_status postie_pop3s_uidl_next(postie_pop3 *p, unsigned long *msg, char *uid, size_t cap)
{
    unsigned long n = 0;
    char tmp[POSTIE_POP3_UID_MAX];
    size_t len;
    postie_status st;

    if (uid == NULL || cap == 0) {
        return POSTIE_ERR_PARAM;
    }
    st = listing_next(p, BUSY_UIDL);
    if (st != POSTIE_OK) {
        return st;
    }
    if (postie_pop3_parse_uidl(p->conn.line.buf, &n, tmp, sizeof tmp) != POSTIE_OK || n == 0 ||
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

/* RETR msg or TOP msg lines: the status line, then the body is busy. */
static postie_status body_begin(postie_pop3 *p, unsigned char op, unsigned long msg,
                                int top, unsigned long lines)
{
    postie_status st = enter(p, op);

    if (st == POSTIE_OK) {
        p->op = op;
    } else if (st != POSTIE_AGAIN) {
        return st;
    }
    if (p->phase < 3) {
        st = msg_ready(p, msg);
        if (st != POSTIE_OK) {
            return st == POSTIE_AGAIN ? st : finish(p, st);
        }
        st = top ? queue(p, T_TOP, msg, "TOP", 2, msg, lines)
                 : queue(p, T_RETR, msg, "RETR", 1, msg, 0);
        if (st != POSTIE_OK) {
            return finish(p, st);
        }
        p->phase = 3;
    }
    st = status_line(p);
    if (st == POSTIE_AGAIN) {
        return st;
    }
    finish(p, st);
    if (st == POSTIE_ERR_SERVER) {
        postie_conn_pop(&p->conn);
    }
    if (st != POSTIE_OK) {
        return st;
    }
    postie_pop3_body_init(&p->body);
    p->busy = 1;
    p->busy_kind = BUSY_BODY;
    return POSTIE_OK;
}

postie_status postie_pop3s_retr_begin(postie_pop3 *p, unsigned long msg, unsigned long *octets)
{
    postie_status st = body_begin(p, OP_RETR, msg, 0, 0);

    if (octets != NULL) {
        *octets = st == POSTIE_OK ? leading_number(p->reply) : 0;
    }
    return st;
}

postie_status postie_pop3s_top_begin(postie_pop3 *p, unsigned long msg, unsigned long lines)
{
    return body_begin(p, OP_TOP, msg, 1, lines);
}

postie_status postie_pop3s_read(postie_pop3 *p, void *buf, size_t cap, size_t *n)
{
    if (n != NULL) {
        *n = 0;
    }
    if (buf == NULL || cap == 0 || n == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (p->state != POSTIE_POP3_STATE_TRANSACTION || !p->busy) {
        return POSTIE_ERR_STATE;
    }
    if ((p->busy_kind & ~BUSY_FROM_QUEUE) != BUSY_BODY) {
        return POSTIE_ERR_BUSY;
    }
    for (;;) {
        size_t used = 0, made = 0, avail = 0;
        const char *in = postie_conn_input(&p->conn, &avail);
        postie_status st = postie_pop3_body_feed(&p->body, in, avail, &used, (char *)buf, cap,
                                                 &made);
        postie_conn_consume(&p->conn, used);
        if (made > 0) {
            *n = made; /* even when the end was seen: the next call says DONE */
            return POSTIE_OK;
        }
        if (st == POSTIE_DONE) {
            p->busy = 0;
            p->busy_kind = BUSY_NONE;
            postie_conn_pop(&p->conn);
            return POSTIE_DONE;
        }
        if (st != POSTIE_OK) {
            return fatal(p, POSTIE_ERR_INTERNAL);
        }
        st = postie_conn_input_status(&p->conn);
        if (st == POSTIE_AGAIN) {
            return st;
        }
        if (st != POSTIE_OK) {
            return fatal(p, st);
        }
    }
}

postie_status postie_pop3s_drain(postie_pop3 *p)
{
    postie_status st;

    if (postie_pop3s_dead(p)) {
        return POSTIE_ERR_STATE;
    }
    if (!p->busy) {
        return POSTIE_OK;
    }
    if ((p->busy_kind & ~BUSY_FROM_QUEUE) == BUSY_BODY) {
        size_t n;
        char scratch[128];
        while ((st = postie_pop3s_read(p, scratch, sizeof scratch, &n)) == POSTIE_OK) {
        }
        return st == POSTIE_DONE ? POSTIE_OK : st;
    }
    while ((st = listing_next(p, (unsigned char)(p->busy_kind & ~BUSY_FROM_QUEUE))) ==
           POSTIE_OK) {
    }
    return st == POSTIE_DONE ? POSTIE_OK : st;
}

postie_status postie_pop3s_dele(postie_pop3 *p, unsigned long msg)
{
    return msg_cmd(p, OP_DELE, T_DELE, "DELE", msg);
}

postie_status postie_pop3s_rset(postie_pop3 *p)
{
    return simple(p, OP_RSET, T_RSET, "RSET");
}

postie_status postie_pop3s_noop(postie_pop3 *p)
{
    return simple(p, OP_NOOP, T_NOOP, "NOOP");
}

/* ---- pipelining (RFC 2449 sec. 6.6) --------------------------------------------- */

postie_status postie_pop3s_queue(postie_pop3 *p, postie_pop3_cmd_kind kind, unsigned long msg,
                                 unsigned long lines)
{
    static const char kw[][5] = {"", "RETR", "TOP", "DELE", "NOOP", "LIST", "UIDL"}; /* arrays: read-only even in PIC */
    postie_status st;
    int nums;

    if (postie_pop3s_dead(p) || p->state == POSTIE_POP3_STATE_CLOSED) {
        return POSTIE_ERR_STATE;
    }
    if (p->busy || p->tls_wanted || (p->op != OP_NONE && p->op != OP_STAT)) {
        return POSTIE_ERR_BUSY;
    }
    if (p->state != POSTIE_POP3_STATE_TRANSACTION) {
        return POSTIE_ERR_STATE;
    }
    /* NOOP and the listings of every message take no number */
    nums = kind == POSTIE_POP3_CMD_TOP ? 2
           : kind == POSTIE_POP3_CMD_RETR || kind == POSTIE_POP3_CMD_DELE ? 1 : 0;
    if (nums > 0) {
        if (msg == 0) {
            return POSTIE_ERR_NO_SUCH_MESSAGE;
        }
        if (p->count < 0) {
            /* STAT first, alone: its reply would come after the queue's */
            if (p->op == OP_NONE && postie_conn_awaiting(&p->conn) > 0) {
                return POSTIE_ERR_BUSY;
            }
            st = postie_pop3s_stat(p, NULL, NULL);
            if (st != POSTIE_OK) {
                return st;
            }
        }
        if (msg > (unsigned long)p->count) {
            return POSTIE_ERR_NO_SUCH_MESSAGE;
        }
    }
    if (postie_conn_awaiting(&p->conn) >= POSTIE_POP3_PIPELINE_MAX) {
        return POSTIE_ERR_BUFFER;
    }
    st = queue(p, kind, nums > 0 ? msg : 0, kw[kind], nums, msg, lines);
    if (st == POSTIE_ERR_PARAM || st == POSTIE_ERR_BUSY) {
        st = POSTIE_ERR_BUFFER; /* no room left in the output queue */
    }
    return st;
}

postie_status postie_pop3s_flush(postie_pop3 *p)
{
    if (postie_pop3s_dead(p) || p->state != POSTIE_POP3_STATE_TRANSACTION) {
        return POSTIE_ERR_STATE;
    }
    return POSTIE_OK;
}

postie_status postie_pop3s_next(postie_pop3 *p, postie_pop3_cmd_kind *kind, unsigned long *msg,
                                unsigned long *octets)
{
    const postie_conn_cmd *head;
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
    if (postie_pop3s_dead(p) || p->state == POSTIE_POP3_STATE_CLOSED) {
        return POSTIE_ERR_STATE;
    }
    if (p->busy || (p->op != OP_NONE && p->op != OP_NEXT)) {
        return POSTIE_ERR_BUSY;
    }
    if (p->state != POSTIE_POP3_STATE_TRANSACTION) {
        return POSTIE_ERR_STATE;
    }
    head = postie_conn_head(&p->conn);
    if (head == NULL) {
        return POSTIE_DONE;
    }
    k = head->tag;
    if (kind != NULL) {
        *kind = (postie_pop3_cmd_kind)k;
    }
    if (msg != NULL) {
        *msg = head->arg;
    }
    p->op = OP_NEXT;
    st = status_line(p);
    if (st == POSTIE_AGAIN) {
        return st;
    }
    finish(p, st);
    if (st != POSTIE_OK && st != POSTIE_ERR_SERVER) {
        return st; /* fatal: the queue died with the connection */
    }
    if (st == POSTIE_OK && (k == POSTIE_POP3_CMD_RETR || k == POSTIE_POP3_CMD_TOP)) {
        /* the entry stays at the head until the body's end */
        postie_pop3_body_init(&p->body);
        p->busy = 1;
        p->busy_kind = BUSY_BODY | BUSY_FROM_QUEUE;
        if (k == POSTIE_POP3_CMD_RETR && octets != NULL) {
            *octets = leading_number(p->reply);
        }
    } else if (st == POSTIE_OK && (k == POSTIE_POP3_CMD_LIST || k == POSTIE_POP3_CMD_UIDL)) {
        /* the entries follow; the entry stays at the head until the "." */
        if (p->count < 0) {
            p->count = 0; /* as listing_begin: the lines raise it */
        }
        p->busy = 1;
        p->busy_kind = (unsigned char)((k == POSTIE_POP3_CMD_LIST ? BUSY_LIST : BUSY_UIDL) |
                                       BUSY_FROM_QUEUE);
    } else {
        postie_conn_pop(&p->conn);
    }
    return st;
}

postie_status postie_pop3s_quit(postie_pop3 *p, int *committed)
{
    postie_status st;

    if (committed != NULL) {
        *committed = 0;
    }
    st = enter(p, OP_QUIT);
    if (st == POSTIE_OK) {
        if (p->state == POSTIE_POP3_STATE_CLOSED) {
            return POSTIE_ERR_STATE;
        }
        if (postie_conn_awaiting(&p->conn) > 0) {
            return POSTIE_ERR_BUSY;
        }
        st = queue(p, T_QUIT, 0, "QUIT", 0, 0, 0);
        if (st != POSTIE_OK) {
            return st;
        }
        p->op = OP_QUIT;
        p->op_arg = p->state == POSTIE_POP3_STATE_TRANSACTION;
    } else if (st != POSTIE_AGAIN) {
        return st;
    }
    st = reply(p);
    if (st == POSTIE_AGAIN) {
        return st;
    }
    if (st == POSTIE_OK && committed != NULL) {
        *committed = p->op_arg;
    }
    if (!postie_pop3s_dead(p)) {
        (void)fatal(p, POSTIE_ERR_CLOSED);
    }
    return finish(p, st);
}
