/*
 * SMTP session engine (RFC 5321, RFC 3207 STARTTLS, RFC 4954 AUTH,
 * RFC 2920 PIPELINING, SIZE, 8BITMIME, SMTPUTF8) over the connection
 * engine. No I/O: each step returns POSTIE_AGAIN until the bytes it needs
 * have moved (smtp_session.h).
 *
 * Every command is queued on s->conn with a tag and its reply (one or more
 * lines, smtp_proto.h's classifier) is matched to it there. A dead session
 * (a fatal status) is in state CLOSED and answers POSTIE_ERR_STATE until
 * postie_smtp_close().
 */
#include "smtp_session.h"
#include "smtp_dot.h"

#include <string.h>

enum { T_GREETING = 1, T_EHLO, T_HELO, T_STARTTLS, T_AUTH, T_MAIL, T_RCPT, T_DATA, T_DOT, T_RSET,
       T_NOOP, T_QUIT, T_BDAT };

enum { OP_NONE = 0, OP_OPEN, OP_EHLO, OP_STARTTLS, OP_AUTH, OP_MAIL, OP_DATA, OP_WRITE, OP_END,
       OP_SEND, OP_RSET, OP_NOOP, OP_QUIT, OP_BATCH };

#if POSTIE_WITH_SMTP_BATCH
static void batch_abort(postie_smtp *s, postie_status st);
#endif

/* mflags */
#define MF_PIPELINING 0x01u
#define MF_PIPE_DATA  0x02u
#define MF_DATA_OPEN  0x04u
#define MF_SIZE       0x08u
#define MF_BODY8      0x10u
#define MF_UTF8       0x20u
#define MF_BINARY     0x40u /* BODY=BINARYMIME: the message goes by BDAT as it is */

/* data_opened is only ever set by a pipelined DATA */
#define CLEAR_DATA_OPENED(s) ((void)(POSTIE_WITH_SMTP_PIPELINING && ((s)->data_opened = 0)))

/* postie_conn_status() of the session's connection, read in place. */
#define CONN_ST(s) ((postie_status)(s)->conn.dead)

/* postie_smtp_dot_init() of the session's DATA encoder: its start is all
 * zero (checked at compile time in smtp_proto.c). */
#define DOT_RESET(s) memset(&SMTP_DOT(s), 0, sizeof SMTP_DOT(s))

/* A STARTTLS waiting for the caller's handshake (only STARTTLS asks). */
#define TLS_WANTED(s) (POSTIE_WITH_SMTP_STARTTLS && (s)->tls_wanted)

/* Policy REQUIRED on a plain connection (POSTIE_ERR_TLS_REQUIRED), for a
 * call that needs state READY. Without STARTTLS open() refuses REQUIRED on
 * a plain connection, so no such session ever gets READY. */
#define TLS_MISSING(s)                                                                     \
    (POSTIE_WITH_SMTP_STARTTLS && !(s)->tls_active && (s)->tls_policy == POSTIE_TLS_REQUIRED)

/* A pipelined DATA (PIPELINING and POSTIE_SMTP_REFUSED_CONTINUE) answered
 * within mail(): 354 received, or its refusal's status. Without
 * POSTIE_WITH_SMTP_PIPELINING no DATA goes with the envelope, and the
 * constants let the compiler drop what would handle its reply. */
#if POSTIE_WITH_SMTP_PIPELINING
#define DATA_OPEN(s) (((s)->mflags & MF_DATA_OPEN) != 0)
#define DATA_ST(s) ((postie_status)(s)->data_st)
#else
#define DATA_OPEN(s) 0
#define DATA_ST(s) POSTIE_OK
#endif

/* The recipients of env: without POSTIE_WITH_SMTP_MULTI_RCPT mail_check()
 * refuses an envelope of several (send_batch() then skips its message), and
 * the constant lets the compiler drop what only several need. */
#if POSTIE_WITH_SMTP_MULTI_RCPT
#define NRCPTS(env) ((env)->nrcpts)
#define RCPT(env, k) (&(env)->rcpts[k])
#else
#define NRCPTS(env) ((void)(env), (size_t)1)
#define RCPT(env, k) ((void)(k), (env)->rcpts) /* the one */
#endif

/* RFC 4954 sec. 4: a command line of 512 octets with its CRLF. */
#if POSTIE_WITH_SASL
static const postie_sasl_proto sasl_proto = {512, 6, 0};
#endif

/* ---- plumbing --------------------------------------------------------------- */

/* Phases of open(). */
enum { PH_GREET = 1, PH_HELLO = 2, PH_TLS_CMD = 10, PH_TLS_REPLY, PH_TLS_HS, PH_TLS_HELLO,
       PH_GIVE_UP = 30 };

/* A refusal's reply kept while the command after it (QUIT, RSET, AUTH's
 * "*") is answered: keep_refusal() keeps it and its status st,
 * take_refusal() puts the reply back and returns st. At -Os gcc inlined
 * the 82-byte copy at each of seven places: ONE_COPY keeps one of each. */
#if defined(__GNUC__) && defined(__OPTIMIZE_SIZE__)
#define ONE_COPY __attribute__((noinline))
#else
#define ONE_COPY
#endif
static ONE_COPY void save_reply(postie_smtp *s)
{
    SMTP_SAVED(s) = s->reply;
}

static ONE_COPY void keep_refusal(postie_smtp *s, postie_status st)
{
    save_reply(s);
    s->fail = (unsigned char)(-st);
}

static ONE_COPY postie_status take_refusal(postie_smtp *s)
{
    postie_status st = (postie_status)(-(int)s->fail);

    s->reply = SMTP_SAVED(s);
    s->fail = 0;
    return st;
}

postie_status postie_smtps_fatal(postie_smtp *s, postie_status st)
{
#if POSTIE_WITH_SMTP_BATCH
    if (s->op == OP_BATCH) {
        batch_abort(s, st);
    }
#endif
    if (s->op == OP_OPEN && s->phase == PH_GIVE_UP) {
        /* QUIT after a refusal went unanswered: the refusal is what counts */
        st = take_refusal(s);
    }
    (void)postie_conn_kill(&s->conn, st);
    s->state = POSTIE_SMTP_STATE_CLOSED;
    CLEAR_DATA_OPENED(s);
    s->op = OP_NONE;
    s->phase = 0;
    s->reply_open = 0;
    s->tls_wanted = 0;
    return st;
}

#define fatal postie_smtps_fatal /* it also ends the operation, as finish() does */

/* A 4xx or 5xx reply code's status (the only codes it is given). */
static postie_status refusal(int code)
{
    return code >= 500 ? POSTIE_ERR_SERVER : POSTIE_ERR_TRANSIENT;
}

static postie_status finish(postie_smtp *s, postie_status st)
{
    s->op = OP_NONE;
    s->phase = 0;
    return st;
}

/* The states an operation may start in (enter()'s states). */
#define IN(x) (1u << POSTIE_SMTP_STATE_##x)
#define IN_ANY 0xfu /* the operation checks the state itself */

/* POSTIE_OK to start op, POSTIE_AGAIN to resume it, else ERR_BUSY, or
 * ERR_STATE when the session's state is not one of states (IN() bits). */
static postie_status enter(postie_smtp *s, unsigned char op, unsigned states)
{
    if (s->op == op) {
        postie_status st = CONN_ST(s);
        if (st != POSTIE_OK) {
            /* it died between two calls (the caller's transport, a failed
             * handshake): the repeated call says why */
            return finish(s, st);
        }
        return POSTIE_AGAIN;
    }
    if (s->op != OP_NONE || TLS_WANTED(s)) {
        return POSTIE_ERR_BUSY;
    }
    if (!((states >> s->state) & 1u)) {
        return POSTIE_ERR_STATE;
    }
    s->phase = 0;
    return POSTIE_OK;
}

/* Queues "verb[arg]" with tag (a verb followed by an argument ends with
 * its space). POSTIE_ERR_PARAM when it cannot fit. */
static postie_status queue(postie_smtp *s, unsigned tag, const char *verb, const char *arg)
{
    postie_status st;

    postie_conn_begin(&s->conn);
    postie_conn_add(&s->conn, verb);
    if (arg != NULL) {
        postie_conn_add(&s->conn, arg);
    }
    st = postie_conn_end(&s->conn, tag, 0);
    return st == POSTIE_ERR_BUFFER ? POSTIE_ERR_PARAM : st;
}

/*
 * Assembles the reply of the oldest command into s->reply: POSTIE_OK once
 * it is complete (the command is done with), POSTIE_AGAIN, or fatal. With
 * R_EHLO, the lines after the first of a 250 reply are parsed as extensions.
 * A 421 reply kills the session (POSTIE_ERR_TRANSIENT; s->reply holds it).
 * A malformed reply is POSTIE_ERR_PROTOCOL and ends the session, unless
 * R_LENIENT (only the caller knows whether QUIT can still be said): then
 * the connection is left up. Without R_LENIENT every failure has ended the
 * operation (fatal()) when it returns: the caller just returns it.
 */
#define R_EHLO 1u    /* the lines after the first of a 250 are extensions */
#define R_LENIENT 2u /* a malformed reply leaves the session up */
static postie_status reply(postie_smtp *s, unsigned how)
{
    postie_status st;

    if (!s->reply_open) {
        postie_smtp_reply_init(&s->reply);
        s->reply_open = 1;
    }
    st = postie_smtp_reply_read(&s->reply, &s->conn, (how & R_EHLO) ? &s->ext : NULL);
    if (st == POSTIE_AGAIN) {
        return st;
    }
    s->reply_open = 0;
    if (st != POSTIE_DONE &&
        (st != POSTIE_ERR_PROTOCOL || CONN_ST(s) != POSTIE_OK)) {
        return fatal(s, st);
    }
    postie_conn_pop(&s->conn); /* its answer came (a malformed one too) */
    if (st != POSTIE_DONE) {
        /* malformed, the connection still up */
        return (how & R_LENIENT) ? st : fatal(s, st);
    }
    if (s->reply.code == 421) {
        return fatal(s, POSTIE_ERR_TRANSIENT);
    }
    return POSTIE_OK;
}

/* Status of a reply that should be 2xx: OK, TRANSIENT, SERVER; a 1xx/3xx
 * reply is a protocol error that kills the session. */
static postie_status expect2(postie_smtp *s)
{
    int c = s->reply.code; /* 200..599: reply_line() checked the first digit */
    if (c < 300) {
        return POSTIE_OK;
    }
    if (c >= 400) {
        return refusal(c);
    }
    return fatal(s, POSTIE_ERR_PROTOCOL);
}

/* Without POSTIE_WITH_SMTP_PIPELINING the connection stays in lockstep,
 * as postie_conn_init() leaves it. */
static void set_lockstep(postie_smtp *s)
{
#if POSTIE_WITH_SMTP_PIPELINING
    s->conn.lockstep = !(s->ext.flags & POSTIE_SMTP_EXT_PIPELINING);
#else
    (void)s;
#endif
}

/* ---- greeting, EHLO, STARTTLS ----------------------------------------------- */

/*
 * EHLO (or HELO when the session uses HELO), as phases from ph: ph queues
 * it, ph+1 waits for its reply; an EHLO refused with 500 or 502 is followed
 * by HELO (when allow_fallback). POSTIE_OK, AGAIN, or the status of the
 * reply.
 */
static postie_status hello_steps(postie_smtp *s, unsigned char ph, int allow_fallback)
{
    postie_status st;

    for (;;) {
        if (s->phase == ph) {
            postie_smtp_ext_init(&s->ext);
            /* EHLO, or HELO when the session uses HELO (T_HELO follows T_EHLO) */
            st = queue(s, T_EHLO + s->helo, &"EHLO \0HELO "[6 * s->helo], s->domain);
            if (st != POSTIE_OK) {
                return st;
            }
            s->phase = (unsigned char)(ph + 1);
        }
        st = reply(s, s->helo ? 0 : R_EHLO);
        if (st != POSTIE_OK) {
            return st;
        }
        if (s->helo) {
            break;
        }
        if (s->reply.code < 300) { /* 2xx */
            s->ext.flags |= POSTIE_SMTP_EXT_EHLO;
            set_lockstep(s);
            return POSTIE_OK;
        }
        /* a refusal: reply_line() parsed no extension (only a 250's lines) */
        if (!allow_fallback || (s->reply.code != 500 && s->reply.code != 502)) {
            return expect2(s);
        }
        s->helo = 1;
        s->phase = ph; /* HELO instead */
    }
    set_lockstep(s);
    return expect2(s);
}

/* Polite end of a session that cannot go on (RFC 5321 sec. 3.8): QUIT,
 * reply ignored, then st; on a dead connection st at once. */
static postie_status give_up(postie_smtp *s, postie_status st)
{
    if (queue(s, T_QUIT, "QUIT", NULL) != POSTIE_OK) { /* also on a dead connection */
        return fatal(s, st);
    }
    keep_refusal(s, st);
    s->phase = PH_GIVE_UP;
    return POSTIE_AGAIN;
}

static postie_status give_up_step(postie_smtp *s)
{
    postie_status st = (postie_status)(-(int)s->fail);

    if (CONN_ST(s) == POSTIE_OK && reply(s, R_LENIENT) == POSTIE_AGAIN) {
        return POSTIE_AGAIN;
    }
    return fatal(s, st); /* restores the reply and the status of the refusal */
}

#if POSTIE_WITH_SMTP_STARTTLS
static int can_start_tls(const postie_smtp *s)
{
    return s->tr.start_tls != NULL || s->tr.recv == NULL;
}

/* STARTTLS from phase PH_TLS_CMD: command, 220, the handshake, EHLO. */
static postie_status starttls_steps(postie_smtp *s)
{
    postie_status st;

    if (s->phase == PH_TLS_CMD) {
        st = queue(s, T_STARTTLS, "STARTTLS", NULL);
        if (st != POSTIE_OK) {
            return st;
        }
        s->phase = PH_TLS_REPLY;
    }
    if (s->phase == PH_TLS_REPLY) {
        size_t left = 0;
        st = reply(s, 0);
        if (st != POSTIE_OK) {
            return st;
        }
        if (s->reply.code != 220) {
            st = expect2(s);
            return st == POSTIE_OK ? fatal(s, POSTIE_ERR_PROTOCOL) : st;
        }
        /* Anything already received after the 220 was sent in the clear and
         * would be read as if it came over TLS: refuse it (CVE-2011-0411 class). */
        (void)postie_conn_input(&s->conn, &left);
        if (left > 0) {
            return fatal(s, POSTIE_ERR_PROTOCOL);
        }
        s->phase = PH_TLS_HS;
        s->tls_wanted = 1;
        return POSTIE_START_TLS;
    }
    if (s->phase == PH_TLS_HS) {
        if (s->tls_wanted) {
            return POSTIE_START_TLS;
        }
        s->phase = PH_TLS_HELLO;
    }
    /* hello() forgets the plain-text extensions before parsing the new ones */
    return hello_steps(s, PH_TLS_HELLO, 0);
}
#endif

postie_status postie_smtps_tls_started(postie_smtp *s, postie_status st)
{
    if (!s->tls_wanted) {
        return POSTIE_ERR_STATE;
    }
    s->tls_wanted = 0;
    if (st != POSTIE_OK) {
        unsigned char op = s->op;
        st = fatal(s, st < 0 ? st : POSTIE_ERR_TLS);
        s->op = op; /* repeating the call that asked for TLS returns st */
        return st;
    }
    s->tls_active = 1;
    s->helo = 0;
    postie_conn_reset(&s->conn);
    return POSTIE_OK;
}

postie_status postie_smtps_open(postie_smtp *s)
{
    postie_status st = enter(s, OP_OPEN, IN(CLOSED));

    if (st == POSTIE_OK) {
        if (!s->connected || s->greeted ||
            CONN_ST(s) != POSTIE_OK) {
            return POSTIE_ERR_STATE;
        }
#if !POSTIE_WITH_SMTP_STARTTLS
        /* no STARTTLS compiled in: a policy that asks for it cannot be kept */
        if (!s->tls_active &&
            (s->tls_policy == POSTIE_TLS_REQUIRED || s->tls_policy == POSTIE_TLS_OPPORTUNISTIC)) {
            return POSTIE_ERR_UNSUPPORTED;
        }
#else
        if (!s->tls_active && s->server_name[0] == '\0' &&
            (s->tls_policy == POSTIE_TLS_REQUIRED || s->tls_policy == POSTIE_TLS_OPPORTUNISTIC)) {
            return POSTIE_ERR_PARAM; /* no name to check a certificate against */
        }
#endif
        s->greeted = 1;
        st = postie_conn_expect(&s->conn, T_GREETING, 0);
        if (st != POSTIE_OK) {
            return st;
        }
        s->op = OP_OPEN;
        s->phase = PH_GREET;
    } else if (st != POSTIE_AGAIN) {
        return st;
    }
    if (s->phase == PH_GIVE_UP) {
        return give_up_step(s);
    }
    /* A refusal or a malformed reply ends open() with QUIT while the
     * connection is up (give_up()), at once when it is not (a 421, a
     * malformed EHLO reply, the transport's failure: fatal() ended it). */
    if (s->phase == PH_GREET) {
        st = reply(s, R_LENIENT); /* a malformed greeting leaves it up */
        if (st == POSTIE_AGAIN) {
            return st;
        }
        if (st == POSTIE_OK && s->reply.code != 220) {
            st = s->reply.code >= 400 ? refusal(s->reply.code) : POSTIE_ERR_PROTOCOL;
        }
        if (st != POSTIE_OK) {
            return give_up(s, st);
        }
        s->state = POSTIE_SMTP_STATE_READY;
        s->phase = PH_HELLO;
    }
    if (s->phase >= PH_HELLO && s->phase < PH_TLS_CMD) {
        st = hello_steps(s, PH_HELLO, 1);
        if (st == POSTIE_AGAIN) {
            return st;
        }
        if (st != POSTIE_OK) {
            return give_up(s, st);
        }
        if (s->tls_active || s->tls_policy == POSTIE_TLS_OFF || !POSTIE_WITH_SMTP_STARTTLS) {
            return finish(s, st);
        }
#if POSTIE_WITH_SMTP_STARTTLS
        /* the TLS policy: upgrade when offered; REQUIRED refuses a server without it */
        if ((s->ext.flags & POSTIE_SMTP_EXT_STARTTLS) && can_start_tls(s)) {
            s->phase = PH_TLS_CMD;
        } else if (s->tls_policy == POSTIE_TLS_REQUIRED) {
            return give_up(s, POSTIE_ERR_TLS_REQUIRED);
        } else {
            return finish(s, POSTIE_OK);
        }
#endif
    }
#if POSTIE_WITH_SMTP_STARTTLS
    st = starttls_steps(s);
    if (st == POSTIE_AGAIN || st == POSTIE_START_TLS) {
        return st;
    }
    if ((st == POSTIE_ERR_TRANSIENT || st == POSTIE_ERR_SERVER) &&
        s->state != POSTIE_SMTP_STATE_CLOSED && !s->tls_active) {
        /* STARTTLS refused, session usable and still plain */
        return s->tls_policy == POSTIE_TLS_REQUIRED ? give_up(s, st) : finish(s, POSTIE_OK);
    }
#endif
    return finish(s, st);
}

postie_status postie_smtps_ehlo(postie_smtp *s)
{
    postie_status st = enter(s, OP_EHLO, IN(READY));

    if (st == POSTIE_OK) {
        s->op = OP_EHLO;
        s->phase = PH_HELLO; /* open()'s phases: hello_steps() sees one ph */
    } else if (st != POSTIE_AGAIN) {
        return st;
    }
    st = hello_steps(s, PH_HELLO, 0);
    return st == POSTIE_AGAIN ? st : finish(s, st);
}

#if POSTIE_WITH_SMTP_STARTTLS
postie_status postie_smtps_starttls(postie_smtp *s, const char *server_name)
{
    postie_status st;
    const char *p;

    if (server_name == NULL || server_name[0] == '\0') {
        return POSTIE_ERR_PARAM;
    }
    for (p = server_name; *p; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f) {
            return POSTIE_ERR_PARAM;
        }
    }
    st = enter(s, OP_STARTTLS, IN(READY));
    if (st == POSTIE_OK) {
        if (s->tls_active) {
            return POSTIE_ERR_STATE;
        }
        if (!(s->ext.flags & POSTIE_SMTP_EXT_STARTTLS) || !can_start_tls(s)) {
            return POSTIE_ERR_UNSUPPORTED;
        }
        s->op = OP_STARTTLS;
        s->phase = PH_TLS_CMD;
    } else if (st != POSTIE_AGAIN) {
        return st;
    }
    st = starttls_steps(s);
    if (st == POSTIE_AGAIN || st == POSTIE_START_TLS) {
        return st;
    }
    return finish(s, st);
}
#else
postie_status postie_smtps_starttls(postie_smtp *s, const char *server_name)
{
    (void)s;
    (void)server_name;
    return POSTIE_ERR_UNSUPPORTED; /* POSTIE_WITH_SMTP_STARTTLS 0 */
}
#endif

/* ---- AUTH -------------------------------------------------------------------- */

#if POSTIE_WITH_SASL
/* 1 when s holds a CR or LF (it would end the command line). */
static int has_crlf(const char *p)
{
    for (; *p; p++) {
        if (*p == '\r' || *p == '\n') {
            return 1;
        }
    }
    return 0;
}

postie_status postie_smtps_auth(postie_smtp *s, unsigned mechs, const char *user,
                                const char *secret)
{
    postie_sasl_mech mech = POSTIE_SASL_NONE;
    postie_status st;

    if (user == NULL || secret == NULL || user[0] == '\0' || has_crlf(user) || has_crlf(secret)) {
        return POSTIE_ERR_PARAM;
    }
    st = enter(s, OP_AUTH, IN(READY));
    if (st == POSTIE_OK) {
        if (TLS_MISSING(s)) {
            return POSTIE_ERR_TLS_REQUIRED;
        }
        if (!(s->ext.flags & POSTIE_SMTP_EXT_AUTH)) {
            return POSTIE_ERR_UNSUPPORTED;
        }
        st = postie_sasl_x_select(s->ext.auth, mechs, s->tls_active, s->allow_plain,
                                  s->random != NULL, &mech);
        if (st != POSTIE_OK) {
            return st;
        }
        st = postie_sasl_x_start(&SMTP_SX(s), &sasl_proto, mech, user, secret, s->random,
                                 s->random_ctx, &s->conn, T_AUTH);
        if (st != POSTIE_OK) {
            return st;
        }
        s->fail = 0;
        s->op = OP_AUTH;
    } else if (st != POSTIE_AGAIN) {
        return st;
    }
    for (;;) {
        int c;
        st = reply(s, 0);
        if (st == POSTIE_AGAIN) {
            return st;
        }
        if (st != POSTIE_OK) {
            break;
        }
        if (s->fail != 0) {
            /* the answer to our "*": the reply before it is the one to show */
            st = take_refusal(s);
            break;
        }
        c = s->reply.code; /* 200..599 (reply_line checks the first digit) */
        if (c == 235) {
            st = postie_sasl_x_done(&SMTP_SX(s));
        } else if (c >= 400) {
            st = c >= 500 ? POSTIE_ERR_AUTH : POSTIE_ERR_TRANSIENT;
            break;
        } else if (c != 334) {
            st = POSTIE_ERR_PROTOCOL;
        } else {
            st = postie_sasl_x_step(&SMTP_SX(s), &sasl_proto, user, secret, s->reply.text,
                                    s->reply.text_len, &s->conn, T_AUTH);
            if (st == POSTIE_OK) {
                continue;
            }
            if (postie_conn_awaiting(&s->conn) != 0) {
                /* "*" went out: its answer ends the exchange with st */
                keep_refusal(s, st);
                continue;
            }
        }
        if (st != POSTIE_OK) {
            st = fatal(s, st);
        }
        break;
    }
    postie_sasl_x_wipe(&SMTP_SX(s));
    s->fail = 0;
    return finish(s, st);
}
#else
postie_status postie_smtps_auth(postie_smtp *s, unsigned mechs, const char *user,
                                const char *secret)
{
    (void)s;
    (void)mechs;
    (void)user;
    (void)secret;
    return POSTIE_ERR_UNSUPPORTED; /* no SASL mechanism compiled in */
}
#endif

/* ---- mail transaction ------------------------------------------------------ */

/* postie_smtp_arg_ok() of an address and its parameters (either may be
 * NULL: absent) and postie_smtp_has_8bit() of the address, in one pass:
 * 0 when one of them may not go in a command; else 1, or 3 when the
 * address holds a byte >= 0x80. */
static unsigned args_scan(const char *addr, const char *params)
{
    unsigned r = 1, k;

    for (k = 0; k < 2; k++, addr = params) {
        for (; addr != NULL && *addr; addr++) {
            unsigned char c = (unsigned char)*addr;
            if (c == '<' || c == '>' || c == 0x7f || (c < 0x20 && c != '\t')) {
                return 0;
            }
            if (c >= 0x80 && k == 0) {
                r = 3;
            }
        }
    }
    return r;
}

/* Command i of the sequence MAIL, RCPT 0..n-1, DATA, built on s->conn. */
static void build_nth(postie_smtp *s, const postie_smtp_envelope *env, size_t i)
{
    postie_conn *c = &s->conn;

    if (i == 0) {
        postie_conn_add(c, "MAIL FROM:<");
        if (env->from != NULL) {
            postie_conn_add(c, env->from);
        }
        postie_conn_add(c, ">");
        if (s->mflags & MF_SIZE) {
            postie_conn_add(c, " SIZE=");
            postie_conn_add_num(c, env->size);
        }
        /* MF_BINARY and MF_UTF8 are never set without their switches */
        if (POSTIE_WITH_CHUNKING && (s->mflags & MF_BINARY)) {
            postie_conn_add(c, " BODY=BINARYMIME");
        } else if (s->mflags & MF_BODY8) {
            postie_conn_add(c, " BODY=8BITMIME");
        }
        if (POSTIE_WITH_SMTPUTF8 && (s->mflags & MF_UTF8)) {
            postie_conn_add(c, " SMTPUTF8");
        }
        if (env->mail_params != NULL && env->mail_params[0] != '\0') {
            postie_conn_add(c, " ");
            postie_conn_add(c, env->mail_params);
        }
    } else if (i <= NRCPTS(env)) {
        const postie_smtp_rcpt *r = RCPT(env, i - 1);
        postie_conn_add(c, "RCPT TO:<");
        postie_conn_add(c, r->addr);
        postie_conn_add(c, ">");
        if (r->params != NULL && r->params[0] != '\0') {
            postie_conn_add(c, " ");
            postie_conn_add(c, r->params);
        }
    } else {
        postie_conn_add(c, "DATA");
    }
}

static unsigned tag_of(const postie_smtp_envelope *env, size_t i)
{
    return i == 0 ? T_MAIL : i <= NRCPTS(env) ? T_RCPT : T_DATA;
}

#if POSTIE_WITH_SMTP_PIPELINING
/* Keeps the reply that decides mail() unless a weightier one is kept:
 * rank 3 MAIL's refusal, 2 a pipelined DATA's, 1 a recipient's. */
static void keep_reply(postie_smtp *s, unsigned char rank)
{
    if (s->saved_rank <= rank) {
        save_reply(s);
        s->saved_rank = rank;
    }
}
#endif

/* A recipient's outcome: the reply's code and enhanced status, and st. */
static void record(postie_smtp_rcpt *r, const postie_smtp_reply *rep, postie_status st)
{
    r->code = rep->code;
    memcpy(r->enhanced, rep->enhanced, sizeof r->enhanced);
    r->status = st;
}

/* The reply to the RSET after a refusal: the refusal's reply (kept in
 * SMTP_SAVED) and status (s->fail) are then the call's. */
static postie_status rset_reply(postie_smtp *s)
{
    postie_status st = reply(s, 0);

    if (st == POSTIE_AGAIN) {
        return st;
    }
    if (st == POSTIE_OK) {
        s->state = POSTIE_SMTP_STATE_READY;
        st = take_refusal(s);
    }
    s->fail = 0;
    return finish(s, st);
}

/* RSET after a refusal whose reply is in SMTP_SAVED (phase ph waits for
 * its reply); st is what the call then returns. */
static postie_status rset_after(postie_smtp *s, postie_status st, unsigned char ph)
{
    s->fail = (unsigned char)(-st);
    st = queue(s, T_RSET, "RSET", NULL);
    if (st != POSTIE_OK) {
        return fatal(s, st);
    }
    s->phase = ph;
    return rset_reply(s);
}

static void enter_data(postie_smtp *s)
{
    s->state = POSTIE_SMTP_STATE_DATA;
    DOT_RESET(s);
}

/* The checks before anything is sent; fills s->mflags (and s->m_total). */
static postie_status mail_check(postie_smtp *s, postie_smtp_envelope *env)
{
    size_t i;
    unsigned f, need_utf8 = (env->flags & POSTIE_SMTP_MSG_UTF8) != 0;

    if (env->rcpts == NULL || env->nrcpts == 0) {
        return POSTIE_ERR_PARAM;
    }
    if (!POSTIE_WITH_SMTP_MULTI_RCPT && env->nrcpts != 1) {
        return POSTIE_ERR_UNSUPPORTED; /* nothing written into env */
    }
    /* 0: MAIL's reverse-path (may be NULL or "") and parameters; i: recipient i-1's */
    for (i = 0; i <= NRCPTS(env); i++) {
        const char *addr = i > 0 ? RCPT(env, i - 1)->addr : env->from;
        unsigned a = args_scan(addr, i > 0 ? RCPT(env, i - 1)->params : env->mail_params);
        if (a == 0 || (i > 0 && (addr == NULL || addr[0] == '\0'))) {
            return POSTIE_ERR_PARAM;
        }
        need_utf8 |= a >> 1; /* a non-ASCII address */
    }
    /* From here on every recipient reads as not answered until its reply,
     * also when the call fails before anything is sent. */
    for (i = 0; i < NRCPTS(env); i++) {
        env->rcpts[i].code = 0;
        env->rcpts[i].enhanced[0] = '\0';
        env->rcpts[i].status = POSTIE_ERR_STATE;
    }
    env->accepted = 0;
    if (s->state != POSTIE_SMTP_STATE_READY) {
        return POSTIE_ERR_STATE;
    }
    if (TLS_MISSING(s)) {
        return POSTIE_ERR_TLS_REQUIRED;
    }
    /* without POSTIE_WITH_SMTPUTF8 as with a server that lacks it */
    if (need_utf8 && (!POSTIE_WITH_SMTPUTF8 || !(s->ext.flags & POSTIE_SMTP_EXT_SMTPUTF8))) {
        return POSTIE_ERR_UNSUPPORTED;
    }
    f = need_utf8 ? MF_UTF8 : 0;
    if (s->ext.flags & POSTIE_SMTP_EXT_SIZE) {
        if (s->ext.size_max > 0 && env->size > s->ext.size_max) {
            return POSTIE_ERR_TOO_BIG;
        }
        if (env->size > 0) {
            f |= MF_SIZE;
        }
    }
    if ((env->flags & POSTIE_SMTP_MSG_8BIT) && (s->ext.flags & POSTIE_SMTP_EXT_8BITMIME)) {
        f |= MF_BODY8;
    }
    if ((env->flags & POSTIE_SMTP_MSG_BINARY) && (s->ext.flags & POSTIE_SMTP_EXT_BINARYMIME) &&
        POSTIE_WITH_CHUNKING && (s->ext.flags & POSTIE_SMTP_EXT_CHUNKING) && s->op == OP_BATCH) {
        f |= MF_BINARY; /* RFC 3030 sec. 3: only with BDAT */
    }
    if (POSTIE_WITH_SMTP_PIPELINING && (s->ext.flags & POSTIE_SMTP_EXT_PIPELINING)) {
        f |= MF_PIPELINING;
        if (env->on_refused == POSTIE_SMTP_REFUSED_CONTINUE) {
            f |= MF_PIPE_DATA;
        }
    }
    s->mflags = (unsigned char)f;
    s->m_total = 1 + NRCPTS(env) + (POSTIE_WITH_SMTP_PIPELINING && (s->mflags & MF_PIPE_DATA));
    /* Every command must fit the output queue on its own: checked before sending. */
    for (i = 0; i < s->m_total; i++) {
        postie_conn_begin(&s->conn);
        build_nth(s, env, i);
        postie_conn_add(&s->conn, "\r\n");
        /* the output queue holds POSTIE_CMD_MAX octets: what fits is short enough */
        if (s->conn.over) {
            postie_conn_abandon(&s->conn);
            return POSTIE_ERR_PARAM;
        }
        postie_conn_abandon(&s->conn);
    }
    return POSTIE_OK;
}

#if POSTIE_WITH_SMTP_PIPELINING
/* One reply of the MAIL/RCPT/DATA sequence: s->m_replied says whose. */
static postie_status mail_reply(postie_smtp *s, postie_smtp_envelope *env)
{
    size_t i = s->m_replied;
    postie_status st = reply(s, 0);
    int c;

    if (st == POSTIE_AGAIN) {
        return st;
    }
    /* a RCPT answered with 421 (POSTIE_ERR_TRANSIENT, the session ended) is
     * recorded like any 4xx */
    if (st != POSTIE_OK && !(s->reply.done && s->reply.code == 421 && i >= 1 && i <= NRCPTS(env))) {
        return st;
    }
    c = s->reply.code;
    if (i == 0) { /* MAIL */
        st = expect2(s);
        if (st != POSTIE_OK) {
            if (s->state == POSTIE_SMTP_STATE_CLOSED) {
                return st;
            }
            s->mail_st = (signed char)(c == 552 ? POSTIE_ERR_TOO_BIG : st);
            keep_reply(s, 3);
        }
    } else if (i <= NRCPTS(env)) { /* RCPT */
        if (st == POSTIE_OK) {
            st = expect2(s);
            if (s->state == POSTIE_SMTP_STATE_CLOSED) {
                return st;
            }
        }
        record(&env->rcpts[i - 1], &s->reply, st);
        if (s->state == POSTIE_SMTP_STATE_CLOSED) {
            return st; /* the 421 */
        }
        if (st == POSTIE_OK) {
            env->accepted++;
        } else {
            keep_reply(s, 1);
        }
#if POSTIE_WITH_SMTP_PIPELINING
    } else { /* pipelined DATA */
        if (c == 354) {
            s->mflags |= MF_DATA_OPEN;
        } else {
            st = expect2(s);
            if (st == POSTIE_OK) {
                return fatal(s, POSTIE_ERR_PROTOCOL);
            }
            if (s->state == POSTIE_SMTP_STATE_CLOSED) {
                return st;
            }
            s->data_st = (signed char)st;
            keep_reply(s, 2);
        }
#endif
    }
    s->m_replied++;
    return POSTIE_OK;
}

/* Phases of mail(). */
enum { PH_M_FILL = 1, PH_M_REPLIES, PH_M_RSET };

postie_status postie_smtps_mail(postie_smtp *s, postie_smtp_envelope *env)
{
    postie_status st;

    if (env == NULL) {
        return POSTIE_ERR_PARAM;
    }
    st = enter(s, OP_MAIL, IN_ANY); /* mail_check(): the arguments first */
    if (st == POSTIE_OK) {
        st = mail_check(s, env);
        if (st != POSTIE_OK) {
            return st;
        }
        /* A connection that died since the last call (the event loop's
         * transport) takes no command: say why, as data_write() does
         * (before, the command could not be queued and mail() never returned). */
        st = CONN_ST(s);
        if (st != POSTIE_OK) {
            return fatal(s, st);
        }
        /* SMTP_SAVED is written by the first refusal before it is read */
        s->m_sent = s->m_replied = 0;
        s->mail_st = s->data_st = POSTIE_OK;
        s->saved_rank = 0;
        s->op = OP_MAIL;
        s->phase = PH_M_FILL;
    } else if (st != POSTIE_AGAIN) {
        return st;
    }
    while (s->phase == PH_M_FILL || s->phase == PH_M_REPLIES) {
        if (s->phase == PH_M_FILL) {
            if (s->m_replied >= s->m_total) {
                break;
            }
            /* Fill one flight: with PIPELINING as many commands as fit, else one. */
            while (s->m_sent < s->m_total) {
                postie_conn_begin(&s->conn);
                build_nth(s, env, s->m_sent);
                if (postie_conn_end(&s->conn, tag_of(env, s->m_sent), s->m_sent) != POSTIE_OK) {
                    break; /* the queue is full: the rest goes in the next flight */
                }
                s->m_sent++;
                if (!POSTIE_WITH_SMTP_PIPELINING || !(s->mflags & MF_PIPELINING)) {
                    break;
                }
            }
            s->phase = PH_M_REPLIES;
        }
        while (s->m_replied < s->m_sent) {
            st = mail_reply(s, env);
            if (st == POSTIE_AGAIN) {
                return st;
            }
            if (st != POSTIE_OK) {
                return finish(s, st);
            }
        }
        if (s->mail_st != POSTIE_OK) {
            s->m_total = s->m_sent; /* MAIL refused: send nothing more */
        }
        s->phase = PH_M_FILL;
        if (s->m_replied >= s->m_total) {
            break;
        }
    }
    if (s->phase == PH_M_RSET) {
        return rset_reply(s);
    }
    if (DATA_OPEN(s) && (s->mail_st != POSTIE_OK || env->accepted == 0)) {
        /* 354 with no transaction or no recipient: the server is broken and
         * the DATA phase cannot be left cleanly. */
        return fatal(s, POSTIE_ERR_PROTOCOL);
    }
    if (s->mail_st != POSTIE_OK) {
        s->reply = SMTP_SAVED(s);
        return finish(s, (postie_status)s->mail_st); /* no transaction was opened */
    }
    /* MAIL was accepted, so every RCPT got its reply: those not accepted
     * were refused */
    if (env->accepted == 0 ||
        (env->accepted < NRCPTS(env) && env->on_refused != POSTIE_SMTP_REFUSED_CONTINUE) ||
        DATA_ST(s) != POSTIE_OK) {
        /* RSET after a failed transaction; only transport/reply failures matter */
        return rset_after(s, DATA_ST(s) != POSTIE_OK && env->accepted > 0 ? DATA_ST(s)
                                                                         : POSTIE_ERR_RECIPIENTS,
                          PH_M_RSET);
    }
    if (DATA_OPEN(s)) {
        enter_data(s);
        s->data_opened = 1;
    } else {
        s->state = POSTIE_SMTP_STATE_MAIL;
    }
    return finish(s, POSTIE_OK);
}
#else /* !POSTIE_WITH_SMTP_PIPELINING */

/* Phases of mail(). */
enum { PH_M_SEND = 1, PH_M_REPLY, PH_M_RSET };

/*
 * Without pipelining every command waits for the reply to the one before
 * it: MAIL, then each RCPT in turn (s->m_sent is the command's index, 0 for
 * MAIL). The same commands, statuses, replies and recipient records as the
 * pipelined machine above gives a server without PIPELINING: a refused MAIL
 * ends the call (no RSET: no transaction was opened), a refused recipient
 * is kept as the reply to show and the next one is still tried, and the
 * last refusal is the one shown after the RSET.
 */
postie_status postie_smtps_mail(postie_smtp *s, postie_smtp_envelope *env)
{
    postie_status st;
    size_t i;

    if (env == NULL) {
        return POSTIE_ERR_PARAM;
    }
    st = enter(s, OP_MAIL, IN_ANY); /* mail_check(): the arguments first */
    if (st == POSTIE_OK) {
        st = mail_check(s, env);
        if (st != POSTIE_OK) {
            return st;
        }
        /* A connection that died since the last call (the event loop's
         * transport) takes no command: say why, as data_write() does. */
        st = CONN_ST(s);
        if (st != POSTIE_OK) {
            return fatal(s, st);
        }
        s->m_sent = 0;
        s->op = OP_MAIL;
        s->phase = PH_M_SEND;
    } else if (st != POSTIE_AGAIN) {
        return st;
    }
    if (s->phase == PH_M_RSET) {
        return rset_reply(s);
    }
    for (;;) {
        i = s->m_sent;
        if (s->phase == PH_M_SEND) {
            /* the queue is empty (the last reply came after its command
             * went) and every command was checked to fit */
            postie_conn_begin(&s->conn);
            build_nth(s, env, i);
            st = postie_conn_end(&s->conn, tag_of(env, i), i);
            if (st != POSTIE_OK) {
                return fatal(s, st);
            }
            s->phase = PH_M_REPLY;
        }
        st = reply(s, 0);
        if (st == POSTIE_AGAIN) {
            return st;
        }
        if (i == 0) { /* MAIL */
            if (st == POSTIE_OK) {
                st = expect2(s);
                if (s->reply.code == 552) {
                    st = POSTIE_ERR_TOO_BIG; /* RFC 1870 */
                }
            }
            if (st != POSTIE_OK) {
                return finish(s, st);
            }
        } else { /* RCPT: a 421 (the session ended) is recorded like any 4xx */
            if (st == POSTIE_OK) {
                st = expect2(s);
                if (s->state == POSTIE_SMTP_STATE_CLOSED) {
                    return st; /* a 3xx */
                }
            } else if (!(s->reply.done && s->reply.code == 421)) {
                return finish(s, st);
            }
            record(RCPT(env, i - 1), &s->reply, st);
            if (s->state == POSTIE_SMTP_STATE_CLOSED) {
                return st; /* the 421 */
            }
            if (st == POSTIE_OK) {
                env->accepted++;
            } else {
                save_reply(s);
            }
            if (i == NRCPTS(env)) {
                break;
            }
        }
        s->m_sent = i + 1;
        s->phase = PH_M_SEND;
    }
    if (env->accepted == 0 ||
        (env->accepted < NRCPTS(env) && env->on_refused != POSTIE_SMTP_REFUSED_CONTINUE)) {
        /* RSET after a failed transaction; only transport/reply failures matter */
        return rset_after(s, POSTIE_ERR_RECIPIENTS, PH_M_RSET);
    }
    s->state = POSTIE_SMTP_STATE_MAIL;
    return finish(s, POSTIE_OK);
}
#endif /* POSTIE_WITH_SMTP_PIPELINING */

postie_status postie_smtps_data_begin(postie_smtp *s)
{
    postie_status st =
        enter(s, OP_DATA, POSTIE_WITH_SMTP_PIPELINING ? IN(MAIL) | IN(DATA) : IN(MAIL));

    if (st == POSTIE_OK) {
        if (POSTIE_WITH_SMTP_PIPELINING && s->state == POSTIE_SMTP_STATE_DATA) {
            if (!s->data_opened) {
                return POSTIE_ERR_STATE;
            }
            s->data_opened = 0;
            return POSTIE_OK;
        }
        st = queue(s, T_DATA, "DATA", NULL);
        if (st != POSTIE_OK) {
            return st;
        }
        s->op = OP_DATA;
        s->phase = 1;
    } else if (st != POSTIE_AGAIN) {
        return st;
    }
    if (s->phase == 1) {
        st = reply(s, 0);
        if (st != POSTIE_OK) {
            return st; /* AGAIN, or fatal() ended it */
        }
        if (s->reply.code == 354) {
            enter_data(s);
            return finish(s, POSTIE_OK);
        }
        st = expect2(s);
        if (st == POSTIE_OK) {
            return fatal(s, POSTIE_ERR_PROTOCOL);
        }
        if (s->state == POSTIE_SMTP_STATE_CLOSED) {
            return st; /* fatal() ended it */
        }
        save_reply(s);
        return rset_after(s, st, 2);
    }
    return rset_reply(s);
}

postie_status postie_smtps_data_write(postie_smtp *s, const void *buf, size_t n)
{
    const char *in = (const char *)buf;
    postie_status st = enter(s, OP_WRITE, IN(DATA));

    if (buf == NULL && n > 0) {
        return POSTIE_ERR_PARAM;
    }
    if (st == POSTIE_OK) {
        CLEAR_DATA_OPENED(s);
        s->wr_done = 0;
        s->op = OP_WRITE;
    } else if (st != POSTIE_AGAIN) {
        return st;
    }
    st = CONN_ST(s);
    if (st != POSTIE_OK) {
        return fatal(s, st);
    }
    while (s->wr_done < n) {
        size_t used, made, cap; /* set by the calls (their arguments are valid) */
        char *out = postie_conn_out_tail(&s->conn, &cap);
        if (cap < 2) {
            return POSTIE_AGAIN; /* the queue is full: let it drain */
        }
        postie_smtp_dot_run(&SMTP_DOT(s), in + s->wr_done, n - s->wr_done, &used, out, cap, &made);
        postie_conn_commit(&s->conn, made);
        s->wr_done += used;
    }
    s->wr_done = 0;
    return finish(s, POSTIE_OK);
}

postie_status postie_smtps_data_end(postie_smtp *s)
{
    postie_status st = enter(s, OP_END, IN(DATA));

    if (st == POSTIE_OK) {
        CLEAR_DATA_OPENED(s);
        s->op = OP_END;
        s->phase = 1;
    } else if (st != POSTIE_AGAIN) {
        return st;
    }
    if (s->phase == 1) {
        size_t cap; /* set by the call */
        char *out;
        st = CONN_ST(s);
        if (st != POSTIE_OK) {
            return fatal(s, st);
        }
        out = postie_conn_out_tail(&s->conn, &cap);
        if (cap < POSTIE_SMTP_DOT_FINISH_MAX) {
            return POSTIE_AGAIN;
        }
        postie_conn_commit(&s->conn, postie_smtp_dot_end(&SMTP_DOT(s), out));
        st = postie_conn_expect(&s->conn, T_DOT, 0);
        if (st != POSTIE_OK) {
            return fatal(s, st);
        }
        s->phase = 2;
    }
    st = reply(s, 0);
    if (st != POSTIE_OK) {
        return st; /* AGAIN, or fatal() ended it */
    }
    if (s->reply.code == 250) {
        s->messages_sent++;
        s->state = POSTIE_SMTP_STATE_READY;
        return finish(s, POSTIE_OK);
    }
    st = expect2(s); /* another 2xx (fatal below) or a 3xx is a protocol error */
    if (st == POSTIE_OK) {
        return fatal(s, POSTIE_ERR_PROTOCOL);
    }
    if (s->state == POSTIE_SMTP_STATE_CLOSED) {
        return st; /* fatal() ended it */
    }
    s->state = POSTIE_SMTP_STATE_READY; /* 4xx or 5xx: the transaction is over */
    return finish(s, s->reply.code == 552 ? POSTIE_ERR_TOO_BIG : st);
}

/* The buffer send() reads the message into: the SASL exchange's, or with
 * POSTIE_SHARED_BUFFERS the line buffer, idle while the body goes out (no
 * reply is framed between the 354 and the final dot). */
#if POSTIE_SHARED_BUFFERS
#define CHUNK_BUF(s) ((s)->conn.line.buf)
#define CHUNK_CAP sizeof(((postie_smtp *)0)->conn.line.buf)
#else
#define CHUNK_BUF(s) ((s)->sx.buf)
#define CHUNK_CAP sizeof(((postie_smtp *)0)->sx.buf)
#endif

/* Phases of send(). */
enum { PH_S_MAIL = 1, PH_S_DATA, PH_S_READ, PH_S_WRITE, PH_S_END };

/* One part of send() (MAIL..., DATA, a chunk, the final dot), run as its
 * own operation and resumed through s->sub_op and s->sub_phase. */
static postie_status send_part(postie_smtp *s, postie_smtp_envelope *env)
{
    unsigned char ph = s->phase;
    postie_status st;

    s->op = s->sub_op;
    s->phase = s->sub_phase;
    switch (ph) {
    case PH_S_MAIL:
        st = postie_smtps_mail(s, env);
        break;
    case PH_S_DATA:
        st = postie_smtps_data_begin(s);
        break;
    case PH_S_WRITE:
        st = postie_smtps_data_write(s, CHUNK_BUF(s), s->chunk_len);
        break;
    default:
        st = postie_smtps_data_end(s);
        break;
    }
    s->sub_op = s->op;
    s->sub_phase = s->phase;
    s->op = OP_SEND;
    s->phase = ph;
    return st;
}

postie_status postie_smtps_send(postie_smtp *s, postie_smtp_envelope *env,
                                postie_smtp_reader read, void *user)
{
    postie_status st;

    if (env == NULL || read == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (s->op != OP_SEND) {
        if (s->op != OP_NONE || TLS_WANTED(s)) {
            return POSTIE_ERR_BUSY;
        }
        s->phase = PH_S_MAIL;
        s->sub_op = OP_NONE;
        s->chunk_len = s->chunk_off = 0;
    }
    s->op = OP_SEND;
    for (;;) {
        if (s->phase == PH_S_READ) {
            size_t n = 0;
            postie_status rs = read(user, CHUNK_BUF(s), CHUNK_CAP, &n);
            if (rs < 0 || n > CHUNK_CAP) {
                /* A message in DATA cannot be withdrawn: the connection must
                 * drop before the final dot so that nothing is delivered. */
                s->connected_abort = 1;
                st = fatal(s, rs < 0 ? rs : POSTIE_ERR_PARAM);
                s->phase = PH_S_READ; /* fatal() cleared it: the chunk is wiped below */
                break;
            }
            s->chunk_len = n;
            s->chunk_off = rs == POSTIE_DONE; /* 1: that was the last chunk */
            s->phase = PH_S_WRITE;
            continue;
        }
        st = POSTIE_OK;
        if (s->phase != PH_S_WRITE || s->chunk_len > 0) {
            st = send_part(s, env);
            if (st == POSTIE_AGAIN) {
                return st;
            }
        }
        if (st != POSTIE_OK || s->phase == PH_S_END) {
            break;
        }
        /* MAIL, DATA, then READ and WRITE until the last chunk, then END */
        s->phase = s->phase == PH_S_WRITE && !s->chunk_off ? PH_S_READ : s->phase + 1;
    }
    if (s->phase >= PH_S_READ) { /* a chunk of the message was read */
        memset(CHUNK_BUF(s), 0, CHUNK_CAP);
    }
    return finish(s, st);
}

/* ---- batches of messages ------------------------------------------------------ */

#if POSTIE_WITH_SMTP_BATCH

/* postie_smtp_msg.flags */
#define MSG_DECIDED    0x01u /* status is final */
#define MSG_IN_TXN     0x02u /* MAIL was accepted */
#define MSG_FINAL_OUT  0x04u /* its final dot or BDAT LAST is queued (wire_end set) */
#define MSG_SKIP       0x08u /* refused before anything was sent */

/* what is being queued for message b_queued */
enum { BQ_ENV = 0, BQ_WAIT354, BQ_BODY };

static void decide(postie_smtp_msg *m, postie_status st, const postie_smtp_reply *r)
{
    if (m->flags & MSG_DECIDED) {
        return;
    }
    m->flags |= MSG_DECIDED;
    m->status = st;
    if (r != NULL) {
        m->code = r->code;
        memcpy(m->enhanced, r->enhanced, sizeof m->enhanced);
    }
}

/* The connection died with st: every message not decided says whether it
 * went out whole (its reply lost: it may have been delivered) or not. */
static void batch_abort(postie_smtp *s, postie_status st)
{
    size_t i;

    if (s->b_msgs != NULL && s->m_replied > 0 && s->reply.done && s->reply.code == 421) {
        /* the reply that ended it answered this message: a refusal, not a loss */
        postie_smtp_msg *m = &s->b_msgs[s->m_replied - 1];
        decide(m, m->env->accepted == 0 ? POSTIE_ERR_RECIPIENTS : POSTIE_ERR_TRANSIENT,
               &s->reply);
    }
    for (i = 0; s->b_msgs != NULL && i < s->b_n; i++) {
        postie_smtp_msg *m = &s->b_msgs[i];
        if ((m->flags & MSG_FINAL_OUT) && s->conn.sent >= m->wire_end) {
            decide(m, POSTIE_ERR_OUTCOME_UNKNOWN, NULL);
        } else {
            decide(m, st, NULL);
        }
    }
    s->b_msgs = NULL;
}

static int chunking(const postie_smtp *s)
{
    /* POSTIE_WITH_CHUNKING 0: always DATA (the BDAT code folds away) */
    return POSTIE_WITH_CHUNKING && (s->ext.flags & POSTIE_SMTP_EXT_CHUNKING) != 0;
}

/* One reply of a batch, matched by its tag to message arg. */
static postie_status batch_reply(postie_smtp *s, unsigned tag, size_t i)
{
    postie_smtp_msg *m = &s->b_msgs[i];
    postie_smtp_envelope *env = m->env;
    int c = s->reply.code;
    postie_status st = postie_smtp_code_status(c);

    switch (tag) {
    case T_MAIL:
        s->b_rcpt = 0;
        if (c / 100 == 2) {
            m->flags |= MSG_IN_TXN;
        } else {
            decide(m, c == 552 ? POSTIE_ERR_TOO_BIG : st, &s->reply);
        }
        break;
    case T_RCPT:
        if (s->b_rcpt < NRCPTS(env)) {
            postie_smtp_rcpt *r = &env->rcpts[s->b_rcpt++];
            r->code = c;
            memcpy(r->enhanced, s->reply.enhanced, sizeof r->enhanced);
            r->status = c / 100 == 2 ? POSTIE_OK : st;
            if (c / 100 == 2) {
                env->accepted++;
            }
        }
        break;
    case T_DATA:
        if (c == 354) {
            if (!(m->flags & MSG_IN_TXN) || env->accepted == 0) {
                /* 354 with no transaction or no recipient: the server is
                 * broken and the DATA phase cannot be left cleanly */
                return fatal(s, POSTIE_ERR_PROTOCOL);
            }
            DOT_RESET(s);
            s->b_off = 0;
            s->b_phase = BQ_BODY;
            break;
        }
        if (c / 100 == 2 || c / 100 == 3) {
            return fatal(s, POSTIE_ERR_PROTOCOL);
        }
        decide(m, env->accepted == 0 ? POSTIE_ERR_RECIPIENTS : st, &s->reply);
        if ((m->flags & MSG_IN_TXN) && queue(s, T_RSET, "RSET", NULL) != POSTIE_OK) {
            return fatal(s, POSTIE_ERR_INTERNAL);
        }
        s->b_queued++;
        s->b_phase = BQ_ENV;
        s->b_off = 0;
        break;
    case T_DOT:
    case T_BDAT:
        if (c == 250) {
            if (!(m->flags & MSG_DECIDED)) {
                s->messages_sent++;
            }
            decide(m, POSTIE_OK, &s->reply);
        } else if (c / 100 == 4 || c / 100 == 5) {
            decide(m, env->accepted == 0 ? POSTIE_ERR_RECIPIENTS
                      : c == 552 ? POSTIE_ERR_TOO_BIG : st, &s->reply);
        } else {
            return fatal(s, POSTIE_ERR_PROTOCOL);
        }
        s->b_done++;
        break;
    default: /* RSET: only a 421 (handled by reply()) matters */
        break;
    }
    return POSTIE_OK;
}

/* Queues what may go now: POSTIE_OK when nothing more can be queued until a
 * reply comes (or everything is), POSTIE_AGAIN when the output queue is
 * full, else a fatal status. */
static postie_status batch_queue(postie_smtp *s)
{
    while (s->b_queued < s->b_n) {
        postie_smtp_msg *m = &s->b_msgs[s->b_queued];
        postie_smtp_envelope *env = m->env;
        postie_status st;

        if (m->flags & MSG_SKIP) {
            s->b_queued++;
            s->b_done++;
            continue;
        }
        if (s->b_phase == BQ_WAIT354) {
            return POSTIE_OK; /* the body waits for the 354 */
        }
        if (s->b_phase == BQ_ENV) {
            /* b_off: commands of the envelope queued (MAIL, RCPT..., DATA/BDAT) */
            if (s->b_off == 0) {
                (void)mail_check(s, env); /* the MAIL parameters of this message */
            }
            while (s->b_off <= NRCPTS(env)) {
                if (postie_conn_awaiting(&s->conn) >= POSTIE_PIPELINE_MAX - 1) {
                    return POSTIE_OK; /* the ring is full: wait for replies */
                }
                postie_conn_begin(&s->conn);
                build_nth(s, env, s->b_off);
                st = postie_conn_end(&s->conn, tag_of(env, s->b_off), s->b_queued);
                if (st == POSTIE_ERR_BUFFER) {
                    return POSTIE_AGAIN;
                }
                if (st != POSTIE_OK) {
                    return st == POSTIE_ERR_BUSY ? POSTIE_OK : fatal(s, st);
                }
                s->b_off++;
            }
            if (chunking(s)) {
                char head[48];
                size_t k = sizeof head, h;
                int binary = (s->mflags & MF_BINARY) != 0;
                unsigned long long v = binary ? (unsigned long long)m->len
                                              : postie_smtp_wire_size((const char *)m->data, m->len);
                memcpy(head + sizeof head - 7, " LAST\r\n", 7);
                k -= 7;
                do {
                    head[--k] = (char)('0' + (int)(v % 10));
                    v /= 10;
                } while (v > 0);
                k -= 5;
                memcpy(head + k, "BDAT ", 5);
                h = sizeof head - k;
                if (postie_conn_out_room(&s->conn) < h) {
                    return POSTIE_AGAIN;
                }
                (void)postie_conn_put(&s->conn, head + k, h);
                DOT_RESET(s);
                SMTP_DOT(s).raw = binary ? 2 : 1; /* 2: the bytes as they are */
                s->b_off = 0;
                s->b_phase = BQ_BODY;
            } else {
                if (postie_conn_awaiting(&s->conn) >= POSTIE_PIPELINE_MAX) {
                    return POSTIE_OK;
                }
                /* its reply is this message's (batch_reply() goes by the arg) */
                postie_conn_begin(&s->conn);
                postie_conn_add(&s->conn, "DATA");
                st = postie_conn_end(&s->conn, T_DATA, s->b_queued);
                if (st == POSTIE_ERR_BUFFER) {
                    return POSTIE_AGAIN;
                }
                if (st != POSTIE_OK) {
                    return st == POSTIE_ERR_BUSY ? POSTIE_OK : fatal(s, st);
                }
                s->b_phase = BQ_WAIT354;
                return POSTIE_OK;
            }
        }
        /* BQ_BODY: the message through the encoder into the output queue */
        while (s->b_off < m->len) {
            size_t used = 0, made = 0, cap = 0;
            char *out = postie_conn_out_tail(&s->conn, &cap);
            if (cap < 2) {
                return POSTIE_AGAIN;
            }
            if (SMTP_DOT(s).raw == 2) {
                used = made = m->len - s->b_off < cap ? m->len - s->b_off : cap;
                memcpy(out, (const char *)m->data + s->b_off, made);
            } else {
                postie_smtp_dot_run(&SMTP_DOT(s), (const char *)m->data + s->b_off,
                                    m->len - s->b_off, &used, out, cap, &made);
            }
            postie_conn_commit(&s->conn, made);
            s->b_off += used;
        }
        {
            size_t made = 0, cap = 0;
            char *out = postie_conn_out_tail(&s->conn, &cap);
            if (cap < POSTIE_SMTP_DOT_FINISH_MAX ||
                postie_conn_awaiting(&s->conn) >= POSTIE_PIPELINE_MAX) {
                return POSTIE_AGAIN;
            }
            if (SMTP_DOT(s).raw != 2) {
                made = postie_smtp_dot_end(&SMTP_DOT(s), out);
            }
            postie_conn_commit(&s->conn, made);
            st = postie_conn_expect(&s->conn, SMTP_DOT(s).raw ? T_BDAT : T_DOT, s->b_queued);
            if (st != POSTIE_OK) {
                return fatal(s, st);
            }
            m->wire_end = s->conn.queued;
            m->flags |= MSG_FINAL_OUT;
            SMTP_DOT(s).raw = 0;
        }
        s->b_queued++;
        s->b_phase = BQ_ENV;
        s->b_off = 0;
    }
    return POSTIE_OK;
}

postie_status postie_smtps_send_batch(postie_smtp *s, postie_smtp_msg *msgs, size_t n)
{
    postie_status st = enter(s, OP_BATCH, IN_ANY); /* the arguments first */
    size_t i;

    if (st == POSTIE_OK) {
        if (msgs == NULL && n > 0) {
            return POSTIE_ERR_PARAM;
        }
        for (i = 0; i < n; i++) {
            if (msgs[i].env == NULL || (msgs[i].data == NULL && msgs[i].len > 0) ||
                msgs[i].env->on_refused != POSTIE_SMTP_REFUSED_CONTINUE ||
                mail_check(s, msgs[i].env) == POSTIE_ERR_PARAM) {
                return POSTIE_ERR_PARAM;
            }
        }
        if (s->state != POSTIE_SMTP_STATE_READY) {
            return POSTIE_ERR_STATE;
        }
        if (TLS_MISSING(s)) {
            return POSTIE_ERR_TLS_REQUIRED;
        }
        for (i = 0; i < n; i++) {
            postie_smtp_msg *m = &msgs[i];
            m->flags = 0;
            m->status = POSTIE_ERR_STATE;
            m->code = 0;
            m->enhanced[0] = '\0';
            m->wire_end = 0;
            if (m->env->size == 0) {
                m->env->size = postie_smtp_wire_size((const char *)m->data, m->len);
            }
            if (postie_smtp_has_8bit(m->data, m->len)) {
                m->env->flags |= POSTIE_SMTP_MSG_8BIT;
            }
            if (postie_smtp_needs_binary(m->data, m->len)) {
                m->env->flags |= POSTIE_SMTP_MSG_BINARY;
            }
            st = mail_check(s, m->env);
            if (st == POSTIE_ERR_PARAM) {
                return st;
            }
            if (st != POSTIE_OK) {
                decide(m, st, NULL); /* refused here: nothing is sent for it */
                m->flags |= MSG_SKIP;
            }
        }
        s->b_msgs = msgs;
        s->b_n = n;
        s->b_queued = s->b_done = s->b_off = s->b_rcpt = 0;
        s->b_phase = BQ_ENV;
        s->op = OP_BATCH;
    } else if (st != POSTIE_AGAIN) {
        return st;
    }
    for (;;) {
        const postie_conn_cmd *head;
        st = batch_queue(s);
        if (st != POSTIE_OK && st != POSTIE_AGAIN) {
            return finish(s, st);
        }
        head = postie_conn_head(&s->conn);
        if (head == NULL) {
            if (st == POSTIE_AGAIN) {
                return st;
            }
            if (s->b_queued >= s->b_n) {
                s->b_msgs = NULL;
                return finish(s, POSTIE_OK);
            }
            continue;
        }
        if (st == POSTIE_AGAIN) {
            /* the output queue is full: keep the bytes flowing rather than
             * wait for a reply, unless one is already here (the ring of
             * awaiting commands bounds what the server has to answer) */
            size_t avail = 0;
            (void)postie_conn_input(&s->conn, &avail);
            if (avail == 0 && s->conn.eof == 0) {
                return st;
            }
        }
        {
            unsigned tag = head->tag;
            size_t idx = (size_t)head->arg;
            postie_status r;
            s->m_replied = tag == T_RSET ? 0 : idx + 1; /* whose reply this is */
            r = reply(s, 0);
            if (r == POSTIE_AGAIN) {
                return r;
            }
            if (r != POSTIE_OK) {
                return finish(s, r); /* fatal: batch_abort() marked the messages */
            }
            r = batch_reply(s, tag, idx);
            if (r != POSTIE_OK) {
                return finish(s, r);
            }
        }
    }
}

#else /* POSTIE_WITH_SMTP_BATCH 0 */
postie_status postie_smtps_send_batch(postie_smtp *s, postie_smtp_msg *msgs, size_t n)
{
    (void)s;
    (void)msgs;
    (void)n;
    return POSTIE_ERR_UNSUPPORTED; /* nothing is sent */
}
#endif

/* ---- other commands ----------------------------------------------------------- */

static postie_status simple(postie_smtp *s, unsigned char op, unsigned tag, const char *verb)
{
    postie_status st = enter(s, op, IN(READY) | IN(MAIL));

    if (st == POSTIE_OK) {
        st = queue(s, tag, verb, NULL);
        if (st != POSTIE_OK) {
            return st;
        }
        s->op = op;
    } else if (st != POSTIE_AGAIN) {
        return st;
    }
    st = reply(s, 0);
    if (st != POSTIE_OK) {
        return st; /* AGAIN, or fatal() ended it */
    }
    st = expect2(s);
    if (st == POSTIE_OK && tag == T_RSET) {
        s->state = POSTIE_SMTP_STATE_READY;
    }
    return finish(s, st);
}

postie_status postie_smtps_rset(postie_smtp *s)
{
    return simple(s, OP_RSET, T_RSET, "RSET");
}

postie_status postie_smtps_noop(postie_smtp *s)
{
    return simple(s, OP_NOOP, T_NOOP, "NOOP");
}

postie_status postie_smtps_quit(postie_smtp *s)
{
    postie_status st = enter(s, OP_QUIT, IN(READY) | IN(MAIL));

    if (st == POSTIE_OK) {
        st = queue(s, T_QUIT, "QUIT", NULL);
        if (st != POSTIE_OK) {
            return st;
        }
        s->op = OP_QUIT;
    } else if (st != POSTIE_AGAIN) {
        return st;
    }
    st = reply(s, 0);
    if (st != POSTIE_OK) {
        return st; /* AGAIN, or fatal() ended it */
    }
    return finish(s, expect2(s));
}
