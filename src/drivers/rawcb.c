/*
 * The callback driver (rawcb.h): a session's connection engine driven by a
 * TCP stack's receive / sent / error / poll callbacks. No I/O of its own:
 * bytes leave through io.write, arrive through postie_rawcb_recv().
 */
#include "postie/rawcb.h"

#include <string.h>

postie_status postie_rawcb_init(postie_rawcb *d, postie_conn *conn, const postie_rawcb_io *io,
                                const postie_rawcb_app *app, size_t window, unsigned timeout_ms)
{
    if (d == NULL || conn == NULL || io == NULL || app == NULL || io->write == NULL ||
        app->step == NULL || app->tls_started == NULL) {
        return POSTIE_ERR_PARAM;
    }
    memset(d, 0, sizeof *d);
    d->conn = conn;
    d->io = *io;
    d->app = *app;
    d->window = window;
    d->timeout_ms = timeout_ms;
    d->result = POSTIE_AGAIN;
    return POSTIE_OK;
}

/* Writes what the engine offers into the window. 1 when something moved
 * (or the connection ended). */
static int push_out(postie_rawcb *d)
{
    int moved = 0, wrote = 0;

    while (!d->gone && d->window > 0) {
        size_t n = 0;
        const char *out = postie_conn_out(d->conn, &n);
        long r;

        if (n == 0) {
            break;
        }
        if (n > d->window) {
            n = d->window;
        }
        r = d->io.write(d->io.ctx, out, n);
        if (r < 0 || (size_t)r > n) {
            (void)postie_conn_fail(d->conn, r < 0 ? r : POSTIE_ERR_IO);
            moved = 1;
            break;
        }
        if (r == 0) {
            break; /* the stack has no room after all: retried at the next event */
        }
        postie_conn_out_done(d->conn, (size_t)r);
        d->window -= (size_t)r;
        wrote = moved = 1;
    }
    if (wrote && d->io.output != NULL) {
        d->io.output(d->io.ctx);
    }
    return moved;
}

/* Copies what fits of the chunk being fed into the engine. */
static int take_in(postie_rawcb *d)
{
    size_t cap = 0, n;
    char *in;

    if (d->chunk == NULL || d->chunk_off == d->chunk_len) {
        return 0;
    }
    in = postie_conn_in(d->conn, &cap);
    if (in == NULL || cap == 0) {
        return 0;
    }
    n = d->chunk_len - d->chunk_off;
    if (n > cap) {
        n = cap;
    }
    memcpy(in, d->chunk + d->chunk_off, n);
    postie_conn_in_done(d->conn, n);
    d->chunk_off += n;
    return 1;
}

/* Reports a handshake's end to the session. A failure ends the run with it
 * (as the blocking drivers return it): the session is dead, and repeating
 * its call would only say so less precisely. */
static void tls_report(postie_rawcb *d, postie_status r)
{
    postie_status st = d->app.tls_started(d->app.user, r);

    if (st != POSTIE_OK && d->result == POSTIE_AGAIN) {
        d->result = st < 0 ? st : POSTIE_ERR_TLS;
    }
}

/* Steps the application and moves bytes until neither makes progress. */
static postie_status run(postie_rawcb *d)
{
    if (d->result != POSTIE_AGAIN || d->running) {
        return d->result;
    }
    d->running = 1;
    while (!d->tls_pending && d->result == POSTIE_AGAIN) {
        postie_status st = d->app.step(d->app.user);

        if (st == POSTIE_START_TLS) {
            postie_status r = d->io.start_tls != NULL ? d->io.start_tls(d->io.ctx)
                                                      : POSTIE_ERR_UNSUPPORTED;
            if (r == POSTIE_AGAIN) {
                d->tls_pending = 1;
                break;
            }
            tls_report(d, r);
            continue;
        }
        if (st != POSTIE_AGAIN) {
            d->result = st;
            break;
        }
        if (!(push_out(d) | take_in(d))) {
            break;
        }
        d->idle_ms = 0;
    }
    d->running = 0;
    return d->result;
}

postie_status postie_rawcb_start(postie_rawcb *d)
{
    return d != NULL ? run(d) : POSTIE_ERR_PARAM;
}

postie_status postie_rawcb_recv(postie_rawcb *d, const void *chunk, size_t len, size_t *taken)
{
    postie_status st;

    if (taken != NULL) {
        *taken = 0;
    }
    if (d == NULL || (chunk == NULL && len > 0)) {
        return POSTIE_ERR_PARAM;
    }
    if (d->running) {
        return d->result; /* nothing taken: offered again later */
    }
    if (chunk == NULL || len == 0) {
        postie_conn_in_done(d->conn, 0); /* the peer closed */
        return run(d);
    }
    d->chunk = (const unsigned char *)chunk;
    d->chunk_len = len;
    d->chunk_off = 0;
    if (take_in(d)) {
        d->idle_ms = 0;
    }
    st = run(d);
    if (st != POSTIE_AGAIN) {
        /* the application is finished: what is left is not wanted */
        d->chunk_off = d->chunk_len;
    }
    if (taken != NULL) {
        *taken = d->chunk_off;
    }
    d->chunk = NULL;
    d->chunk_len = d->chunk_off = 0;
    return st;
}

postie_status postie_rawcb_sent(postie_rawcb *d, size_t len)
{
    if (d == NULL) {
        return POSTIE_ERR_PARAM;
    }
    d->window += len;
    if (len > 0) {
        d->idle_ms = 0;
    }
    if (d->running) {
        return d->result;
    }
    if (push_out(d)) {
        d->idle_ms = 0;
    }
    return run(d);
}

postie_status postie_rawcb_poll(postie_rawcb *d, unsigned elapsed_ms)
{
    if (d == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (d->result != POSTIE_AGAIN || d->running) {
        return d->result;
    }
    if (d->tls_pending || postie_conn_want(d->conn) != 0) {
        d->idle_ms = elapsed_ms > ~0u - d->idle_ms ? ~0u : d->idle_ms + elapsed_ms;
        if (d->timeout_ms > 0 && d->idle_ms >= d->timeout_ms) {
            if (d->tls_pending) {
                d->tls_pending = 0;
                tls_report(d, POSTIE_ERR_TIMEOUT);
            }
            (void)postie_conn_fail(d->conn, POSTIE_ERR_TIMEOUT);
        }
    }
    if (push_out(d)) {
        d->idle_ms = 0;
    }
    return run(d);
}

postie_status postie_rawcb_error(postie_rawcb *d, postie_status err)
{
    if (d == NULL) {
        return POSTIE_ERR_PARAM;
    }
    d->gone = 1;
    d->window = 0;
    if (d->tls_pending) {
        d->tls_pending = 0;
        tls_report(d, postie_conn_map(err));
    }
    (void)postie_conn_fail(d->conn, err);
    return run(d);
}

postie_status postie_rawcb_tls_done(postie_rawcb *d, postie_status result)
{
    if (d == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (!d->tls_pending) {
        return POSTIE_ERR_STATE;
    }
    d->tls_pending = 0;
    d->idle_ms = 0;
    tls_report(d, result);
    return run(d);
}

postie_status postie_rawcb_result(const postie_rawcb *d)
{
    return d != NULL ? d->result : POSTIE_ERR_PARAM;
}
