/*
 * The connection engine (conn.h): output queue, reply framing, the ring of
 * commands awaiting a reply, transport status mapping. No I/O here but
 * postie_conn_pump(), which calls a transport through its function pointers.
 */
#include "postie/conn.h"
#include "postie/base64.h"
#include "base64_trusted.h"
#include "conn_input.h"
#include "decimal.h"
#include "line_frame.h"

#include <string.h>

typedef char postie_conn_ok_is_zero[POSTIE_OK == 0 ? 1 : -1]; /* postie_conn_init()'s memset */

void postie_conn_init(postie_conn *c)
{
    memset(c, 0, sizeof *c); /* alive (POSTIE_OK is 0), an empty line (postie_line_init()) */
    c->lockstep = 1;
}

/* ---- output ----------------------------------------------------------------- */

/* Moves unsent bytes to the front (never while a command is being built). */
static void compact_out(postie_conn *c)
{
    if (c->out_pos > 0 && c->build == c->out_len) {
        memmove(c->out, c->out + c->out_pos, c->out_len - c->out_pos);
        memset(c->out + c->out_len - c->out_pos, 0, c->out_pos);
        c->out_len -= c->out_pos;
        c->out_pos = 0;
        c->build = c->out_len;
    }
}

/* How many bytes of c (alive) may go now: never a command still being
 * built, and in lockstep only up to the end of the oldest awaiting one. */
static size_t sendable(const postie_conn *c)
{
    size_t n = c->build - c->out_pos;

    if (c->lockstep && c->n > 0) {
        unsigned long limit = c->cmds[c->head].end;
        if (limit <= c->sent) {
            n = 0;
        } else if (limit - c->sent < n) {
            n = (size_t)(limit - c->sent);
        }
    }
    return n;
}

/* n bytes (at most what was sendable) went to the transport. */
static void sent_out(postie_conn *c, size_t n)
{
    c->out_pos += n;
    c->sent += n;
    if (c->out_pos == c->out_len) {
        /* what went out (a password) does not linger */
        memset(c->out, 0, c->out_len);
        c->out_pos = c->out_len = c->build = 0;
    }
}

const char *postie_conn_out(const postie_conn *c, size_t *len)
{
    size_t n;

    *len = 0;
    if (c == NULL || c->dead != POSTIE_OK) {
        return NULL;
    }
    n = sendable(c);
    *len = n;
    return n > 0 ? c->out + c->out_pos : NULL;
}

void postie_conn_out_done(postie_conn *c, size_t n)
{
    if (c == NULL || n > c->build - c->out_pos) {
        return;
    }
    sent_out(c, n);
}

size_t postie_conn_out_room(postie_conn *c)
{
    compact_out(c);
    return sizeof c->out - c->out_len;
}

void postie_conn_begin(postie_conn *c)
{
    compact_out(c);
    c->build = c->out_len;
    c->over = 0;
}

void postie_conn_add_mem(postie_conn *c, const void *s, size_t n)
{
    if (c->over || n > sizeof c->out - c->out_len) {
        c->over = 1;
        return;
    }
    memcpy(c->out + c->out_len, s, n);
    c->out_len += n;
}

void postie_conn_add(postie_conn *c, const char *s)
{
    postie_conn_add_mem(c, s, strlen(s));
}

void postie_conn_add_num(postie_conn *c, unsigned long long v)
{
    char tmp[POSTIE_DECIMAL_MAX];
    size_t n = postie_decimal(tmp, v);
    postie_conn_add_mem(c, tmp + sizeof tmp - n, n);
}

void postie_conn_add_b64(postie_conn *c, const void *raw, size_t n)
{
    size_t room = sizeof c->out - c->out_len;

    if (c->over || n == 0) {
        return;
    }
    /* what does not fit with a NUL after it (as the public encoder
     * refuses) is refused, writing nothing; n < room keeps the length from
     * wrapping */
    if (n >= room || postie_base64_encoded_len(n) >= room) {
        c->over = 1;
        return;
    }
    c->out_len += postie_base64_encode_trusted(raw, n, c->out + c->out_len);
}

void postie_conn_abandon(postie_conn *c)
{
    memset(c->out + c->build, 0, c->out_len - c->build);
    c->out_len = c->build;
    c->over = 0;
}

/* Records a command awaiting its reply (the caller checked there is room). */
static void push(postie_conn *c, unsigned tag, unsigned long arg)
{
    postie_conn_cmd *e = &c->cmds[(c->head + c->n) % POSTIE_PIPELINE_MAX];

    e->tag = (unsigned char)tag;
    e->arg = arg;
    e->end = c->queued;
    c->n++;
}

postie_status postie_conn_end(postie_conn *c, unsigned tag, unsigned long arg)
{
    postie_status st = POSTIE_ERR_STATE;

    if (c->dead == POSTIE_OK) {
        postie_conn_add_mem(c, "\r\n", 2);
        st = c->over ? POSTIE_ERR_BUFFER
                     : c->n >= POSTIE_PIPELINE_MAX ? POSTIE_ERR_BUSY : POSTIE_OK;
    }
    if (st != POSTIE_OK) {
        postie_conn_abandon(c);
        return st;
    }
    c->queued += (unsigned long)(c->out_len - c->build);
    c->build = c->out_len;
    return postie_conn_expect(c, tag, arg); /* (alive, with room: checked above) */
}

postie_status postie_conn_put(postie_conn *c, const void *data, size_t n)
{
    if (c->dead != POSTIE_OK) {
        return POSTIE_ERR_STATE;
    }
    if (n > postie_conn_out_room(c)) {
        return POSTIE_ERR_BUFFER;
    }
    memcpy(c->out + c->out_len, data, n);
    c->out_len += n;
    c->build = c->out_len;
    c->queued += (unsigned long)n;
    return POSTIE_OK;
}

char *postie_conn_out_tail(postie_conn *c, size_t *cap)
{
    *cap = postie_conn_out_room(c);
    return c->out + c->out_len;
}

void postie_conn_commit(postie_conn *c, size_t n)
{
    if (n > sizeof c->out - c->out_len) {
        n = sizeof c->out - c->out_len;
    }
    c->out_len += n;
    c->build = c->out_len;
    c->queued += (unsigned long)n;
}

postie_status postie_conn_expect(postie_conn *c, unsigned tag, unsigned long arg)
{
    if (c->dead != POSTIE_OK) {
        return POSTIE_ERR_STATE;
    }
    if (c->n >= POSTIE_PIPELINE_MAX) {
        return POSTIE_ERR_BUSY;
    }
    push(c, tag, arg);
    return POSTIE_OK;
}

/* ---- input ------------------------------------------------------------------ */

char *postie_conn_in(postie_conn *c, size_t *cap)
{
    *cap = 0;
    if (c == NULL || c->dead != POSTIE_OK || c->eof) {
        return NULL;
    }
    if (c->in_pos == c->in_len) {
        c->in_pos = c->in_len = 0;
    } else if (c->in_pos > 0) {
        memmove(c->in, c->in + c->in_pos, c->in_len - c->in_pos);
        c->in_len -= c->in_pos;
        c->in_pos = 0;
    }
    *cap = sizeof c->in - c->in_len;
    return *cap > 0 ? c->in + c->in_len : NULL;
}

void postie_conn_in_done(postie_conn *c, size_t n)
{
    if (c == NULL || c->dead != POSTIE_OK) {
        return;
    }
    c->starved = 0;
    if (n == 0) {
        c->eof = 1;
        return;
    }
    if (n > sizeof c->in - c->in_len) {
        (void)postie_conn_kill(c, POSTIE_ERR_IO);
        return;
    }
    c->in_len += n;
#if POSTIE_WITH_DEADLINE
    c->received += (unsigned long)n;
#endif
}

postie_status postie_conn_map(long r)
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

/* Drops everything queued and buffered: nothing queued (a password
 * included) outlives the connection. */
static void drop(postie_conn *c)
{
    memset(c->out, 0, sizeof c->out);
    c->out_pos = c->out_len = c->build = 0;
    c->in_pos = c->in_len = 0;
    c->n = 0;
}

postie_status postie_conn_kill(postie_conn *c, postie_status st)
{
    if (c->dead == POSTIE_OK) {
        c->dead = st;
    }
    drop(c);
    return st;
}

postie_status postie_conn_fail(postie_conn *c, long r)
{
    return postie_conn_kill(c, postie_conn_map(r));
}

postie_status postie_conn_status(const postie_conn *c)
{
    return (postie_status)c->dead;
}

unsigned postie_conn_want(const postie_conn *c)
{
    unsigned w = 0;
    size_t n = 0;

    if (c == NULL || c->dead != POSTIE_OK) {
        return 0;
    }
    (void)postie_conn_out(c, &n);
    if (n > 0) {
        w |= POSTIE_WANT_WRITE;
    }
    if (c->n > 0 && c->in_pos == c->in_len && !c->eof) {
        w |= POSTIE_WANT_READ;
    }
    return w;
}

postie_status postie_conn_line(postie_conn *c)
{
    if (c->dead != POSTIE_OK) {
        return (postie_status)c->dead;
    }
    if (c->n > 0 && c->sent < c->cmds[c->head].end) {
        return POSTIE_AGAIN; /* a reply answers a command only once it went out */
    }
    if (c->in_pos < c->in_len) {
        size_t used = 0;
        postie_status st =
            postie_line_frame(&c->line, c->in + c->in_pos, c->in_len - c->in_pos, &used);
        c->in_pos += used;
        if (st == POSTIE_DONE) {
            return POSTIE_DONE;
        }
        if (st != POSTIE_OK) {
            return postie_conn_kill(c, st);
        }
        /* (every buffered byte is taken now) */
    }
    if (c->eof) {
        return postie_conn_kill(c, POSTIE_ERR_CLOSED);
    }
    c->starved = 1;
    return POSTIE_AGAIN;
}

const char *postie_conn_input(const postie_conn *c, size_t *n)
{
    *n = c->in_len - c->in_pos;
    return c->in + c->in_pos;
}

void postie_conn_consume(postie_conn *c, size_t n)
{
    if (n > c->in_len - c->in_pos) {
        n = c->in_len - c->in_pos;
    }
    c->in_pos += n;
}

postie_status postie_conn_input_status(postie_conn *c)
{
    return postie_conn_input_state(c);
}

/* ---- commands awaiting replies ---------------------------------------------- */

const postie_conn_cmd *postie_conn_head(const postie_conn *c)
{
    return c->n > 0 ? &c->cmds[c->head] : NULL;
}

unsigned postie_conn_awaiting(const postie_conn *c)
{
    return c != NULL ? c->n : 0u;
}

void postie_conn_pop(postie_conn *c)
{
    if (c->n > 0) {
        c->head = (unsigned char)((c->head + 1) % POSTIE_PIPELINE_MAX);
        c->n--;
    }
}

int postie_conn_head_sent(const postie_conn *c)
{
    return c->n > 0 && c->sent >= c->cmds[c->head].end;
}

void postie_conn_reset(postie_conn *c)
{
    drop(c);
    c->head = 0;
    c->eof = 0;
    c->starved = 0;
    postie_line_init(&c->line);
}

/* ---- blocking driver -------------------------------------------------------- */

#if POSTIE_WITH_DEADLINE
postie_status postie_conn_set_deadline(postie_conn *c, unsigned long deadline_ms,
                                       unsigned long min_rate, postie_clock_fn clock,
                                       void *clock_ctx)
{
    c->deadline_ms = deadline_ms;
    c->min_rate = min_rate;
    c->clock = clock;
    c->clock_ctx = clock_ctx;
    postie_conn_window(c);
    return POSTIE_OK;
}

void postie_conn_window(postie_conn *c)
{
    if (c->clock != NULL && c->deadline_ms > 0) {
        c->win_start = c->clock(c->clock_ctx);
        c->win_moved = c->sent + c->received;
    }
}

/* Milliseconds left before the current call's deadline (ULONG_MAX when
 * there is none; 0 when it has passed). */
static unsigned long time_left(const postie_conn *c)
{
    unsigned long elapsed, allowed, moved;

    if (c->clock == NULL || c->deadline_ms == 0) {
        return (unsigned long)-1;
    }
    elapsed = c->clock(c->clock_ctx) - c->win_start;
    moved = c->sent + c->received - c->win_moved;
    allowed = c->deadline_ms;
    if (c->min_rate > 0) {
        unsigned long earned = moved / c->min_rate * 1000UL +
                               (moved % c->min_rate) * 1000UL / c->min_rate;
        allowed = earned > (unsigned long)-1 - allowed ? (unsigned long)-1 : allowed + earned;
    }
    return elapsed >= allowed ? 0 : allowed - elapsed;
}

/* The timeout of the next transport call: timeout_ms, or less when the
 * call's deadline is nearer (never 0 then: time_left() said > 0). */
static unsigned budget(unsigned long left, unsigned timeout_ms)
{
    return left < timeout_ms ? (unsigned)left : timeout_ms;
}
#else /* POSTIE_WITH_DEADLINE 0: the per-step timeout alone bounds each wait */
postie_status postie_conn_set_deadline(postie_conn *c, unsigned long deadline_ms,
                                       unsigned long min_rate, postie_clock_fn clock,
                                       void *clock_ctx)
{
    (void)c;
    (void)deadline_ms;
    (void)min_rate;
    (void)clock;
    (void)clock_ctx;
    return POSTIE_ERR_UNSUPPORTED;
}

void postie_conn_window(postie_conn *c)
{
    (void)c;
}

#define time_left(c) ((unsigned long)-1)
#define budget(left, timeout_ms) ((void)(left), (timeout_ms))
#endif

/* Sends what postie_conn_out() offers: POSTIE_OK when all of it went,
 * POSTIE_AGAIN (would block), or the status that ended c. What went is
 * counted in c->sent. */
static postie_status send_out(postie_conn *c, const postie_transport *t, unsigned timeout_ms)
{
    for (;;) { /* (c is alive: the callers checked, and a failure returns) */
        size_t n = sendable(c);
        unsigned long left;
        long r;

        if (n == 0) {
            return POSTIE_OK;
        }
        left = time_left(c);
        if (left == 0) {
            return postie_conn_fail(c, POSTIE_ERR_TIMEOUT);
        }
        r = t->send(t->ctx, c->out + c->out_pos, n, budget(left, timeout_ms));
        if (r == POSTIE_ERR_WOULD_BLOCK) {
            return POSTIE_AGAIN;
        }
        if (r <= 0 || (size_t)r > n) {
            return postie_conn_fail(c, r == 0 ? POSTIE_ERR_IO : r);
        }
        sent_out(c, (size_t)r);
    }
}

postie_status postie_conn_flush(postie_conn *c, const postie_transport *t, unsigned timeout_ms)
{
    if (c->dead != POSTIE_OK) {
        return (postie_status)c->dead;
    }
    if (t == NULL || t->send == NULL) {
        return POSTIE_AGAIN;
    }
    return send_out(c, t, timeout_ms);
}

postie_status postie_conn_pump(postie_conn *c, const postie_transport *t, unsigned timeout_ms)
{
    unsigned long before = c->sent; /* something moved: c->sent grew, or a receive */
    postie_status st;

    if (c->dead != POSTIE_OK) {
        return (postie_status)c->dead;
    }
    if (t == NULL || t->send == NULL || t->recv == NULL) {
        return POSTIE_AGAIN; /* the caller moves the bytes */
    }
    st = send_out(c, t, timeout_ms);
    if (st != POSTIE_OK && st != POSTIE_AGAIN) {
        return st;
    }
    if (st == POSTIE_OK && c->n > 0 && c->in_pos == c->in_len && !c->eof && c->starved) {
        /* postie_conn_in() and _in_done() for an alive, open, empty buffer */
        unsigned long left = time_left(c);
        long r;

        c->in_pos = c->in_len = 0;
        if (left == 0) {
            return postie_conn_fail(c, POSTIE_ERR_TIMEOUT);
        }
        r = t->recv(t->ctx, c->in, sizeof c->in, budget(left, timeout_ms));
        if (r != POSTIE_ERR_WOULD_BLOCK) {
            if (r < 0 || (size_t)r > sizeof c->in) {
                return postie_conn_fail(c, r < 0 ? r : POSTIE_ERR_IO);
            }
            c->starved = 0;
            if (r == 0) {
                c->eof = 1;
            }
            c->in_len = (size_t)r;
#if POSTIE_WITH_DEADLINE
            c->received += (unsigned long)r;
#endif
            return POSTIE_OK;
        }
    }
    return c->sent != before ? POSTIE_OK : POSTIE_AGAIN;
}
