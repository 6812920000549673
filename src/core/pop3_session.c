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
#include "conn_input.h"
#include "wipe.h"

#include <limits.h>
#include <string.h>

/*
 * Operations (p->op). Each is also the tag of the commands it queues, and
 * from OP_CAPA on it has a keyword (KW). The pipelining queue's kinds
 * (postie_pop3_cmd_kind RETR, TOP, DELE, NOOP, LIST, UIDL) are the ops
 * OP_RETR ... OP_UIDLALL in that order (OP_KIND); the ops that take a
 * message number are OP_LIST1 ... OP_DELE (TAKES_MSG).
 */
enum {
    OP_NONE = 0, OP_OPEN, OP_LOGIN, OP_AUTH, OP_NEXT,
    OP_CAPA, OP_STLS, OP_USER, OP_PASS, OP_APOP, OP_STAT, OP_RSET,
    OP_LIST1, OP_UIDL1,
    OP_RETR, OP_TOP, OP_DELE, OP_NOOP, OP_LISTALL, OP_UIDLALL,
    OP_QUIT
};

#define OP_KIND(kind) ((unsigned)(kind) + OP_RETR - POSTIE_POP3_CMD_RETR)
#define TAKES_MSG(op) ((op) >= OP_LIST1 && (op) <= OP_DELE)
/* the ops whose +OK starts a multi-line reply */
#define MULTI_LINE(op) \
    (((1ul << OP_RETR | 1ul << OP_TOP | 1ul << OP_LISTALL | 1ul << OP_UIDLALL) >> (op)) & 1u)

typedef char postie_pop3_kinds_in_order[(POSTIE_POP3_CMD_TOP == POSTIE_POP3_CMD_RETR + 1 &&
                                         POSTIE_POP3_CMD_DELE == POSTIE_POP3_CMD_RETR + 2 &&
                                         POSTIE_POP3_CMD_NOOP == POSTIE_POP3_CMD_RETR + 3 &&
                                         POSTIE_POP3_CMD_LIST == POSTIE_POP3_CMD_RETR + 4 &&
                                         POSTIE_POP3_CMD_UIDL == POSTIE_POP3_CMD_RETR + 5) ? 1 : -1];

/* the keywords of the ops from OP_CAPA on, four letters each ("TOP" and a
 * space): one string, read-only even in PIC */
static const char KW[] = "CAPASTLSUSERPASSAPOPSTATRSETLISTUIDLRETRTOP DELENOOPLISTUIDLQUIT";

/* p->busy: the multi-line reply being read, or 0 */
enum {
    BUSY_NONE = 0,
    BUSY_BODY, /* RETR or TOP: postie_pop3_read() */
    BUSY_LIST, /* LIST: postie_pop3_list_next() */
    BUSY_UIDL  /* UIDL: postie_pop3_uidl_next() */
};

/* busy flag: the body or listing being read came from the pipelining queue */
#define BUSY_FROM_QUEUE 0x80u
#define BUSY_KIND(p) ((p)->busy & ~BUSY_FROM_QUEUE)

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

/* ---- plumbing ------------------------------------------------------------- */

/* the status that ended the connection, POSTIE_OK while it is alive */
#define DEAD(p) ((postie_status)(p)->conn.dead)

int postie_pop3s_dead(const postie_pop3 *p)
{
    return DEAD(p) != POSTIE_OK;
}

/* A fatal status: the connection is out of step or gone. */
postie_status postie_pop3s_fatal(postie_pop3 *p, postie_status st)
{
    (void)postie_conn_kill(&p->conn, st);
    p->op = OP_NONE;
    p->phase = 0;
    p->state = POSTIE_POP3_STATE_CLOSED;
    p->busy = BUSY_NONE;
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
    postie_status dead = DEAD(p);

    if (p->op == op) {
        if (dead != POSTIE_OK) {
            /* it died between two calls (the caller's transport, a failed
             * handshake): the repeated call says why */
            p->op = OP_NONE;
            return dead;
        }
        return POSTIE_AGAIN;
    }
    if (dead != POSTIE_OK) {
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
    if (p->conn.n > 0) {
        return POSTIE_ERR_BUSY; /* queued replies are outstanding */
    }
    if (p->state != need) {
        return POSTIE_ERR_STATE;
    }
    return POSTIE_OK;
}

/* Starts op's command: its keyword. */
static void keyword(postie_pop3 *p, unsigned op)
{
    postie_conn_begin(&p->conn);
    postie_conn_add_mem(&p->conn, KW + 4 * (op - OP_CAPA), op == OP_TOP ? 3 : 4);
}

/* Ends the command started by keyword(), with tag op and datum arg. */
static postie_status put_end(postie_pop3 *p, unsigned op, unsigned long arg)
{
    postie_status st = postie_conn_end(&p->conn, op, arg);

    return st == POSTIE_ERR_BUFFER ? POSTIE_ERR_PARAM : st;
}

/* Queues op's keyword, then a space and s1, a space and s2 (each when not
 * NULL), with tag op and datum 0. */
static postie_status put(postie_pop3 *p, unsigned op, const char *s1, const char *s2)
{
    keyword(p, op);
    if (s1 != NULL) {
        postie_conn_add(&p->conn, " ");
        postie_conn_add(&p->conn, s1);
    }
    if (s2 != NULL) {
        postie_conn_add(&p->conn, " ");
        postie_conn_add(&p->conn, s2);
    }
    return put_end(p, op, 0);
}

/* Queues op's command: KEYWORD, then msg when op takes one, and lines for
 * TOP, with datum msg. */
static postie_status queue(postie_pop3 *p, unsigned op, unsigned long msg, unsigned long lines)
{
    keyword(p, op);
    if (TAKES_MSG(op)) {
        postie_conn_add(&p->conn, " ");
        postie_conn_add_num(&p->conn, msg);
    }
    if (op == OP_TOP) {
        postie_conn_add(&p->conn, " ");
        postie_conn_add_num(&p->conn, lines);
    }
    return put_end(p, op, msg);
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

static void keep_text(postie_pop3 *p, const char *text)
{
    size_t i;

    for (i = 0; i < sizeof p->reply - 1 && text[i] != '\0'; i++) {
        p->reply[i] = text[i];
    }
    p->reply[i] = '\0';
}

/* The status line of the oldest command: POSTIE_OK (+OK), POSTIE_ERR_SERVER
 * (-ERR), POSTIE_AGAIN, or fatal. The command stays at the head. */
static postie_status status_line(postie_pop3 *p)
{
    const char *text; /* classify() sets it */
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

    (void)postie_pop3_number(text, &v);
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

/* The "n m" of STAT's or LIST n's +OK (p->reply): for LIST, msg (n must be
 * it; it is at most the count, so the count does not change), 0 for STAT.
 * *count, *octets may be NULL. POSTIE_OK, or fatal. */
static postie_status pair_text(postie_pop3 *p, unsigned long msg, unsigned long *count,
                               unsigned long *octets)
{
    unsigned long n, o; /* set when it says POSTIE_OK */

    if (postie_pop3_parse_num_pair(p->reply, &n, &o) != POSTIE_OK || n > (unsigned long)LONG_MAX ||
        (msg != 0 && n != msg)) {
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

/* A multi-line reply of op (RETR, TOP, LIST or UIDL of all) follows. */
static void start_multi(postie_pop3 *p, unsigned op)
{
    if (op >= OP_LISTALL) {
        if (p->count < 0) {
            p->count = 0; /* no DELE yet: the listing names every message */
        }
        p->busy = (unsigned char)(op - OP_LISTALL + BUSY_LIST);
    } else {
        p->body.state = 0; /* postie_pop3_body_init(): a zeroed decoder is at the start */
        p->busy = BUSY_BODY;
    }
}

/*
 * Every command of the TRANSACTION state, and QUIT: starts op or resumes it.
 * Phase 0 checks the state and, for a command on a message (TAKES_MSG), the
 * number: 0 is no message, and when the maildrop count is unknown a STAT is
 * queued first (phase 1 reads it). Then the command is queued (phase 2
 * reads its status line). Returns AGAIN, or the operation's status once it
 * is over: POSTIE_OK (p->reply holds the +OK text; for RETR, TOP and the
 * listings the multi-line reply is now busy), POSTIE_ERR_SERVER, or the
 * status that ended it.
 */
static postie_status transact(postie_pop3 *p, unsigned char op, unsigned long msg,
                              unsigned long lines)
{
    postie_status st = enter(p, op);

    if (st == POSTIE_OK) {
        p->op = op;
        /* QUIT is allowed in either state, the others in TRANSACTION */
        if (p->state == POSTIE_POP3_STATE_CLOSED) {
            st = POSTIE_ERR_STATE;
        } else if (p->conn.n > 0) {
            st = POSTIE_ERR_BUSY; /* queued replies are outstanding */
        } else if (op != OP_QUIT && p->state != POSTIE_POP3_STATE_TRANSACTION) {
            st = POSTIE_ERR_STATE;
        } else if (TAKES_MSG(op)) {
            if (msg == 0) {
                st = POSTIE_ERR_NO_SUCH_MESSAGE;
            } else if (p->count < 0) {
                st = queue(p, OP_STAT, 0, 0);
                p->phase = 1;
            }
        }
        if (st != POSTIE_OK) {
            return finish(p, st);
        }
    } else if (st != POSTIE_AGAIN) {
        return st;
    }
    if (p->phase == 1) {
        st = reply(p);
        if (st == POSTIE_OK) {
            st = pair_text(p, 0, NULL, NULL);
        }
        if (st != POSTIE_OK) {
            return st == POSTIE_AGAIN ? st : finish(p, st);
        }
    }
    if (p->phase < 2) {
        /* (the others pass msg 0, never above the count, known or -1) */
        if (msg > (unsigned long)p->count) {
            return finish(p, POSTIE_ERR_NO_SUCH_MESSAGE);
        }
        st = queue(p, op, msg, lines);
        if (st != POSTIE_OK) {
            return finish(p, st);
        }
        p->phase = 2;
    }
    st = status_line(p);
    if (st == POSTIE_AGAIN) {
        return st;
    }
    finish(p, st);
    if (st == POSTIE_OK && MULTI_LINE(op)) {
        start_multi(p, op); /* its command stays at the head until the end */
    } else if (st == POSTIE_OK || st == POSTIE_ERR_SERVER) {
        postie_conn_pop(&p->conn);
    }
    return st;
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
    return queue(p, OP_CAPA, 0, 0);
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
    if (queue(p, OP_QUIT, 0, 0) != POSTIE_OK) {
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
        /* caps, the timestamp and the SASL list are still as init left
         * them: a context is opened once (open ends CLOSED only with the
         * connection dead, and then enter() refuses) */
        p->op = OP_OPEN;
        st = postie_conn_expect(&p->conn, OP_OPEN, 0);
        if (st != POSTIE_OK) {
            return finish(p, st);
        }
        p->phase = 1;
    } else if (st != POSTIE_AGAIN) {
        return st;
    }
    if (!POSTIE_WITH_POP3_CAPA || p->phase == 1) { /* (without CAPA there is no other) */
        st = reply(p);
        if (st == POSTIE_AGAIN) {
            return st;
        }
        if (st == POSTIE_ERR_SERVER) {
            st = fatal(p, st); /* the server refuses us and will hang up */
        }
        if (st != POSTIE_OK) {
            return finish(p, st);
        }
#if POSTIE_WITH_APOP
        /* from the whole line (p->reply may be truncated): "+OK " holds no '<' */
        if (postie_pop3_parse_timestamp(p->conn.line.buf, p->timestamp, sizeof p->timestamp)) {
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
            st = queue(p, OP_STLS, 0, 0);
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
        st = queue(p, OP_STLS, 0, 0);
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

/* Maps -ERR to a login failure status: POSTIE_ERR_TRANSIENT for a response
 * code at the start of the text (RFC 2449 sec. 8, hierarchical, any case)
 * that says to try later, else POSTIE_ERR_AUTH. */
static postie_status login_refused(const postie_pop3 *p)
{
    static const char codes[] = "SYS/TEMP\0IN-USE\0LOGIN-DELAY\0";
    const char *code = codes, *t = p->reply + 1;

    if (p->reply[0] != '[') {
        return POSTIE_ERR_AUTH;
    }
    while (*code != '\0') {
        size_t i;
        for (i = 0; code[i] != '\0'; i++) {
            int c = (unsigned char)t[i];
            if (c >= 'a' && c <= 'z') {
                c = c - 'a' + 'A';
            }
            if (c != code[i]) {
                break;
            }
        }
        if (code[i] == '\0' && (t[i] == ']' || t[i] == '/')) {
            return POSTIE_ERR_TRANSIENT;
        }
        while (*code++ != '\0') { /* the next code */
        }
    }
    return POSTIE_ERR_AUTH;
}

/* Policy REQUIRED on a plain connection (POSTIE_ERR_TLS_REQUIRED), for a
 * call that needs state AUTHORIZATION. Without STLS open() refuses REQUIRED
 * on a plain connection, so no such session ever gets there. */
#define TLS_MISSING(p)                                                                     \
    (POSTIE_WITH_POP3_CAPA && !(p)->tls_active && (p)->tls_policy == POSTIE_TLS_REQUIRED)

/* 1 when s holds no CR or LF and is at most max bytes long. */
static int wire_ok(const char *s, size_t max)
{
    size_t n;

    for (n = 0; s[n] != '\0'; n++) {
        if (s[n] == '\r' || s[n] == '\n') {
            return 0;
        }
    }
    return n <= max;
}

#define wire_safe(s) wire_ok((s), (size_t)-1)

static postie_status logged_in(postie_pop3 *p)
{
    p->state = POSTIE_POP3_STATE_TRANSACTION;
    p->count = -1;
    return finish(p, POSTIE_OK);
}

/*
 * Phases: 1 APOP's reply, 2 USER's, 3 PASS's. The commands must fit
 * POSTIE_CMD_MAX: "PASS " pass CRLF, "APOP " user " " and 32 digits CRLF.
 */
postie_status postie_pop3s_login(postie_pop3 *p, const char *user, const char *pass,
                                 postie_pop3_login_mode mode)
{
    postie_status st;
    int apop, user_ok;

    if (user == NULL || pass == NULL || (unsigned)mode > (unsigned)POSTIE_POP3_LOGIN_APOP) {
        return POSTIE_ERR_PARAM;
    }
    st = enter(p, OP_LOGIN);
    user_ok = p->tls_active || p->allow_plain;
    if (st == POSTIE_OK) {
        st = guard(p, POSTIE_POP3_STATE_AUTHORIZATION);
        if (st != POSTIE_OK) {
            return st;
        }
        if (user[0] == '\0' || !wire_ok(user, POSTIE_CMD_MAX - 40) ||
            !wire_ok(pass, POSTIE_CMD_MAX - 7)) {
            return POSTIE_ERR_PARAM;
        }
        if (TLS_MISSING(p)) {
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
        p->op = OP_LOGIN;
#if POSTIE_WITH_APOP
        if (apop) {
            char hex[33];
            postie_pop3_apop_digest(p->timestamp, pass, hex);
            st = put(p, OP_APOP, user, hex);
            postie_wipe(hex, sizeof hex); /* a memset() here is a dead store */
            p->phase = 1;
        } else
#endif
        {
            st = put(p, OP_USER, user, NULL);
            p->phase = 2;
        }
        if (st != POSTIE_OK) {
            return finish(p, st);
        }
    } else if (st != POSTIE_AGAIN) {
        return st;
    }
    for (;;) {
        st = reply(p);
        if (st == POSTIE_AGAIN) {
            return st;
        }
        if (st == POSTIE_ERR_SERVER) {
            st = login_refused(p);
            /* AUTO: APOP refused (not for a transient reason) -> USER/PASS */
            if (!POSTIE_WITH_APOP || p->phase != 1 || st != POSTIE_ERR_AUTH ||
                mode != POSTIE_POP3_LOGIN_AUTO || !user_ok) {
                return finish(p, st);
            }
            st = put(p, OP_USER, user, NULL);
            p->phase = 2;
        } else if (st != POSTIE_OK) {
            return finish(p, st);
        } else if (p->phase != 2) {
            return logged_in(p); /* APOP or PASS accepted */
        } else {
            st = put(p, OP_PASS, pass, NULL);
            p->phase = 3;
        }
        if (st != POSTIE_OK) {
            return finish(p, st);
        }
    }
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
        if (TLS_MISSING(p)) {
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
                                 p->random_ctx, &p->conn, OP_AUTH);
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
                                OP_AUTH);
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

postie_status postie_pop3s_stat(postie_pop3 *p, unsigned long *count, unsigned long *octets)
{
    postie_status st = transact(p, OP_STAT, 0, 0);

    return st == POSTIE_OK ? pair_text(p, 0, count, octets) : st;
}

/* A reply naming another message is POSTIE_ERR_PROTOCOL. */
postie_status postie_pop3s_list(postie_pop3 *p, unsigned long msg, unsigned long *octets)
{
    postie_status st = transact(p, OP_LIST1, msg, 0);

    return st == POSTIE_OK ? pair_text(p, msg, NULL, octets) : st;
}

postie_status postie_pop3s_uidl(postie_pop3 *p, unsigned long msg, char *uid, size_t cap)
{
    unsigned long n = 0;
    postie_status st;

    if (uid == NULL || cap == 0) {
        return POSTIE_ERR_PARAM;
    }
    st = transact(p, OP_UIDL1, msg, 0);
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

postie_status postie_pop3s_list_begin(postie_pop3 *p)
{
    return transact(p, OP_LISTALL, 0, 0);
}

postie_status postie_pop3s_uidl_begin(postie_pop3 *p)
{
    return transact(p, OP_UIDLALL, 0, 0);
}

/* The multi-line reply is over: its command is done with. */
static postie_status multi_done(postie_pop3 *p)
{
    p->busy = BUSY_NONE;
    postie_conn_pop(&p->conn);
    return POSTIE_DONE;
}

/* Next line of a listing: POSTIE_OK (p->conn.line holds it), POSTIE_DONE,
 * AGAIN, or fatal. */
static postie_status listing_next(postie_pop3 *p, unsigned char kind)
{
    postie_status st;

    if (!p->busy) { /* (a multi-line reply is read only in TRANSACTION) */
        return POSTIE_ERR_STATE;
    }
    if (BUSY_KIND(p) != kind) {
        return POSTIE_ERR_BUSY;
    }
    st = line(p);
    if (st != POSTIE_DONE) {
        return st;
    }
    if (postie_pop3_listing_line(p->conn.line.buf, &p->conn.line.len)) {
        return multi_done(p);
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

/* *octets: the driver sets it to 0 first. */
postie_status postie_pop3s_retr_begin(postie_pop3 *p, unsigned long msg, unsigned long *octets)
{
    postie_status st = transact(p, OP_RETR, msg, 0);

    if (octets != NULL && st == POSTIE_OK) {
        (void)postie_pop3_number(p->reply, octets); /* "+OK 120 octets"; else it stays 0 */
    }
    return st;
}

postie_status postie_pop3s_top_begin(postie_pop3 *p, unsigned long msg, unsigned long lines)
{
    return transact(p, OP_TOP, msg, lines);
}

/* *n: the driver sets it to 0 first (and drain() does not read it). */
postie_status postie_pop3s_read(postie_pop3 *p, void *buf, size_t cap, size_t *n)
{
    if (buf == NULL || cap == 0 || n == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (!p->busy) { /* (a multi-line reply is read only in TRANSACTION) */
        return POSTIE_ERR_STATE;
    }
    if (BUSY_KIND(p) != BUSY_BODY) {
        return POSTIE_ERR_BUSY;
    }
    for (;;) {
        postie_conn *c = &p->conn; /* its input read and taken in place */
        size_t used = 0, made = 0;
        postie_status st = postie_pop3_body_run(&p->body, c->in + c->in_pos, c->in_len - c->in_pos,
                                                &used, (char *)buf, cap, &made);
        c->in_pos += used;
        if (made > 0) {
            *n = made; /* even when the end was seen: the next call says DONE */
            return POSTIE_OK;
        }
        if (st == POSTIE_DONE) {
            return multi_done(p);
        }
        if (st != POSTIE_OK) {
            return fatal(p, POSTIE_ERR_INTERNAL);
        }
        st = postie_conn_input_state(c);
        if (st != POSTIE_OK) {
            return st == POSTIE_AGAIN ? st : fatal(p, st);
        }
    }
}

postie_status postie_pop3s_drain(postie_pop3 *p)
{
    postie_status st;

    if (DEAD(p) != POSTIE_OK) {
        return POSTIE_ERR_STATE;
    }
    if (!p->busy) {
        return POSTIE_OK;
    }
    if (BUSY_KIND(p) == BUSY_BODY) {
        size_t n;
        char scratch[128];
        while ((st = postie_pop3s_read(p, scratch, sizeof scratch, &n)) == POSTIE_OK) {
        }
        return st == POSTIE_DONE ? POSTIE_OK : st;
    }
    while ((st = listing_next(p, (unsigned char)BUSY_KIND(p))) == POSTIE_OK) {
    }
    return st == POSTIE_DONE ? POSTIE_OK : st;
}

postie_status postie_pop3s_dele(postie_pop3 *p, unsigned long msg)
{
    return transact(p, OP_DELE, msg, 0);
}

postie_status postie_pop3s_rset(postie_pop3 *p)
{
    return transact(p, OP_RSET, 0, 0);
}

postie_status postie_pop3s_noop(postie_pop3 *p)
{
    return transact(p, OP_NOOP, 0, 0);
}

/* ---- pipelining (RFC 2449 sec. 6.6) --------------------------------------------- */

postie_status postie_pop3s_queue(postie_pop3 *p, postie_pop3_cmd_kind kind, unsigned long msg,
                                 unsigned long lines)
{
    unsigned op = OP_KIND(kind);
    postie_status st;

    if (DEAD(p) != POSTIE_OK || p->state == POSTIE_POP3_STATE_CLOSED) {
        return POSTIE_ERR_STATE;
    }
    if (p->busy || p->tls_wanted || (p->op != OP_NONE && p->op != OP_STAT)) {
        return POSTIE_ERR_BUSY;
    }
    if (p->state != POSTIE_POP3_STATE_TRANSACTION) {
        return POSTIE_ERR_STATE;
    }
    /* NOOP and the listings of every message take no number */
    if (TAKES_MSG(op)) {
        if (msg == 0) {
            return POSTIE_ERR_NO_SUCH_MESSAGE;
        }
        if (p->count < 0) {
            /* STAT first, alone: its reply would come after the queue's */
            if (p->op == OP_NONE && p->conn.n > 0) {
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
    } else {
        msg = 0;
    }
    if (p->conn.n >= POSTIE_POP3_PIPELINE_MAX) {
        return POSTIE_ERR_BUFFER;
    }
    st = queue(p, op, msg, lines);
    if (st == POSTIE_ERR_PARAM || st == POSTIE_ERR_BUSY) {
        st = POSTIE_ERR_BUFFER; /* no room left in the output queue */
    }
    return st;
}

postie_status postie_pop3s_flush(postie_pop3 *p)
{
    if (DEAD(p) != POSTIE_OK || p->state != POSTIE_POP3_STATE_TRANSACTION) {
        return POSTIE_ERR_STATE;
    }
    return POSTIE_OK;
}

postie_status postie_pop3s_next(postie_pop3 *p, postie_pop3_cmd_kind *kind, unsigned long *msg,
                                unsigned long *octets)
{
    const postie_conn_cmd *head;
    unsigned char op;
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
    if (DEAD(p) != POSTIE_OK || p->state == POSTIE_POP3_STATE_CLOSED) {
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
    op = head->tag; /* a queued command: OP_KIND(its kind) */
    if (kind != NULL) {
        *kind = (postie_pop3_cmd_kind)(op - OP_KIND(0));
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
    if (st == POSTIE_OK && MULTI_LINE(op)) {
        /* the entry stays at the head until the body's end or the "." */
        start_multi(p, op);
        p->busy |= BUSY_FROM_QUEUE;
        if (op == OP_RETR && octets != NULL) {
            *octets = leading_number(p->reply);
        }
    } else {
        postie_conn_pop(&p->conn);
    }
    return st;
}

/* *committed: the driver sets it to 0 first. */
postie_status postie_pop3s_quit(postie_pop3 *p, int *committed)
{
    postie_status st = transact(p, OP_QUIT, 0, 0);

    /* +OK or -ERR: the reply came (nothing before it says either); the state
     * is still the one QUIT was sent in */
    if (st == POSTIE_OK || st == POSTIE_ERR_SERVER) {
        if (st == POSTIE_OK && committed != NULL) {
            *committed = p->state == POSTIE_POP3_STATE_TRANSACTION;
        }
        (void)fatal(p, POSTIE_ERR_CLOSED); /* the session is over, whatever the reply */
    }
    return st;
}
