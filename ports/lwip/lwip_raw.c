/*
 * ports/lwip: one Postie session over an lwIP raw-API TCP connection
 * (postie/lwip_raw.h), driven by the callback driver of rawcb.h, with the
 * mbed TLS transport over the same pcb for STLS/STARTTLS.
 */
#include "postie/lwip_raw.h"

#include <string.h>
#include "lwip/priv/tcp_priv.h" /* TCP_SLOW_INTERVAL: the tcp_poll tick */
#include "lwip/sys.h"

enum { TLS_NONE = 0, TLS_WANTED = 1, TLS_ACTIVE = 2, TLS_FAILED = 3 };

/* mbed TLS's record overhead, bounded from above (header 5, explicit IV or
 * nonce up to 16, MAC/tag up to 48, CBC padding up to 16): a record of
 * n plaintext bytes is written only when n + this fits lwIP's send buffer. */
#define TLS_RECORD_SLACK 96u

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err);
static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len);
static err_t on_poll(void *arg, struct tcp_pcb *pcb);
static void on_err(void *arg, err_t err);

void postie_lwip_init(postie_lwip *c)
{
    if (c != NULL) {
        memset(c, 0, sizeof *c);
        c->result = POSTIE_AGAIN;
    }
}

/* ---- the stream under mbed TLS (a postie_transport that never waits) ------ */

static long gone_status(const postie_lwip *c)
{
    return c->pcb_err < 0 ? c->pcb_err : POSTIE_ERR_CLOSED;
}

/* The stream never waits: what does not fit now is POSTIE_ERR_WOULD_BLOCK,
 * and mbed TLS is called again at the next event (timeout_ms is not used). */
static long stream_send(void *ctx, const void *buf, size_t len, unsigned timeout_ms)
{
    postie_lwip *c = ctx;
    size_t room;

    (void)timeout_ms;
    if (c->pcb == NULL) {
        return gone_status(c);
    }
    room = tcp_sndbuf(c->pcb);
    if (room > 0 && tcp_sndqueuelen(c->pcb) < TCP_SND_QUEUELEN) {
        u16_t n = (u16_t)(len < room ? len : room);
        err_t e = tcp_write(c->pcb, buf, n, TCP_WRITE_FLAG_COPY);
        if (e == ERR_OK) {
            (void)tcp_output(c->pcb);
            return (long)n;
        }
        if (e != ERR_MEM) {
            return POSTIE_ERR_IO;
        }
    }
    return POSTIE_ERR_WOULD_BLOCK;
}

/* Drops empty pbufs at the front of the kept chain (a chunk of length 0
 * would read as the end of the stream). */
static void rx_trim(postie_lwip *c)
{
    while (c->rx != NULL && c->rx->len == 0) {
        struct pbuf *f = c->rx;
        c->rx = f->next;
        f->next = NULL;
        pbuf_free(f);
    }
}

/* Takes n bytes off the front of the kept pbufs and opens the window. */
static void rx_consume(postie_lwip *c, u16_t n)
{
    if (n > 0) {
        c->rx = pbuf_free_header(c->rx, n);
        if (c->pcb != NULL) {
            tcp_recved(c->pcb, n);
        }
    }
    rx_trim(c);
}

static long stream_recv(void *ctx, void *buf, size_t len, unsigned timeout_ms)
{
    postie_lwip *c = ctx;

    (void)timeout_ms;
    rx_trim(c);
    if (c->rx != NULL) {
        u16_t n = (u16_t)(len < c->rx->tot_len ? len : c->rx->tot_len);
        n = pbuf_copy_partial(c->rx, buf, n, 0);
        rx_consume(c, n);
        return (long)n;
    }
    if (c->peer_closed) {
        return 0;
    }
    if (c->pcb == NULL) {
        return gone_status(c);
    }
    return POSTIE_ERR_WOULD_BLOCK;
}

/* Drops a connection that never came up: no more callbacks, then RST. */
static void pcb_abort(postie_lwip *c, struct tcp_pcb *pcb)
{
    c->pcb = NULL;
    tcp_arg(pcb, NULL);
    tcp_err(pcb, NULL);
    tcp_abort(pcb);
}

/* Ends the pcb: no more callbacks; tcp_close, or tcp_abort when lwIP has no
 * memory to send the FIN. 1 when it was aborted (a callback must then
 * return ERR_ABRT). */
static int pcb_end(postie_lwip *c)
{
    struct tcp_pcb *pcb = c->pcb;
    int aborted = 0;

    if (pcb == NULL) {
        return 0;
    }
    c->pcb = NULL;
    tcp_arg(pcb, NULL);
    tcp_recv(pcb, NULL);
    tcp_sent(pcb, NULL);
    tcp_err(pcb, NULL);
    tcp_poll(pcb, NULL, 0);
    if (tcp_close(pcb) != ERR_OK) {
        tcp_abort(pcb);
        aborted = 1;
    }
    return aborted;
}

static void stream_close(void *ctx)
{
    postie_lwip *c = ctx;
    (void)pcb_end(c);
}

void postie_lwip_stream(postie_lwip *c, postie_transport *tr)
{
    tr->ctx = c;
    tr->send = stream_send;
    tr->recv = stream_recv;
    tr->start_tls = NULL;
    tr->close = stream_close;
}

postie_status postie_lwip_use_tls(postie_lwip *c, postie_mbedtls *tls,
                                  const postie_mbedtls_options *opts, const char *server_name)
{
    postie_transport inner;
    postie_status st;

    if (c == NULL || tls == NULL || opts == NULL || server_name == NULL) {
        return POSTIE_ERR_PARAM;
    }
    postie_lwip_stream(c, &inner);
    st = postie_mbedtls_init(tls, &inner, opts);
    if (st != POSTIE_OK) {
        return st;
    }
    c->tls = tls;
    c->tls_name = server_name;
    return POSTIE_OK;
}

/* ---- the driver's io: what the session sends ----------------------------- */

static long io_write(void *ctx, const void *data, size_t len)
{
    postie_lwip *c = ctx;
    size_t room;
    long r;

    if (c->pcb == NULL) {
        return gone_status(c);
    }
    room = tcp_sndbuf(c->pcb);
    if (c->tls_state != TLS_ACTIVE) {
        u16_t n = (u16_t)(len < room ? len : room);
        err_t e;
        if (n == 0) {
            return 0;
        }
        e = tcp_write(c->pcb, data, n, TCP_WRITE_FLAG_COPY);
        if (e == ERR_MEM) {
            return 0; /* no room after all: the driver retries at the next event */
        }
        return e == ERR_OK ? (long)n : POSTIE_ERR_IO;
    }
    /* Under TLS. A record mbed TLS started must be finished with the same
     * bytes (mbedtls_ssl_write() then reports the length it is given): the
     * session's queue has not moved, so the same start and length. */
    if (c->pend_len > 0) {
        if (len < c->pend_len) {
            return 0;
        }
        len = c->pend_len;
    } else {
        if (room <= TLS_RECORD_SLACK) {
            return 0;
        }
        if (len > room - TLS_RECORD_SLACK) {
            len = room - TLS_RECORD_SLACK;
        }
    }
    r = postie_mbedtls_send(c->tls, data, len, 0);
    if (r == POSTIE_ERR_WOULD_BLOCK || r == POSTIE_ERR_TIMEOUT) {
        c->pend_len = len;
        return 0;
    }
    c->pend_len = 0;
    return r;
}

static void io_output(void *ctx)
{
    postie_lwip *c = ctx;
    if (c->pcb != NULL) {
        (void)tcp_output(c->pcb);
    }
}

static postie_status io_start_tls(void *ctx)
{
    postie_lwip *c = ctx;
    if (c->tls == NULL) {
        return POSTIE_ERR_UNSUPPORTED;
    }
    c->tls_state = TLS_WANTED; /* hs_step(), at the next event */
    c->hs_start = sys_now();
    return POSTIE_AGAIN;
}

/* One go at the handshake (never waits); at its end, the session hears of
 * it. Only outside the driver's run (it is called from feed()). */
static void hs_step(postie_lwip *c)
{
    postie_status st;

    if (c->tls_state != TLS_WANTED) {
        return;
    }
    if (!c->d.tls_pending) {
        c->tls_state = TLS_FAILED; /* the driver gave up on it (idle timeout, error) */
        return;
    }
    st = postie_mbedtls_start_nb(c->tls, c->tls_name);
    if (st == POSTIE_AGAIN) {
        return;
    }
    c->tls_state = st == POSTIE_OK ? TLS_ACTIVE : TLS_FAILED;
    c->hs_ms = sys_now() - c->hs_start;
    (void)postie_rawcb_tls_done(&c->d, st);
}

/* ---- what the session receives ------------------------------------------- */

/* Hands the session what it can take: kept pbufs (plain), or plaintext out
 * of mbed TLS (TLS). The end of the stream once everything before it went. */
static void feed(postie_lwip *c)
{
    postie_status st = postie_rawcb_result(&c->d);

    if (!c->connected) {
        return;
    }
    while (st == POSTIE_AGAIN) {
        size_t taken = 0;

        if (c->tls_state == TLS_WANTED) {
            hs_step(c);
            st = postie_rawcb_result(&c->d);
            if (c->tls_state == TLS_WANTED) {
                return; /* the handshake waits for the server */
            }
            continue;
        }
        if (c->tls_state == TLS_FAILED) {
            return;
        }
        if (c->tls_state == TLS_NONE) {
            rx_trim(c);
            if (c->rx == NULL) {
                break;
            }
            st = postie_rawcb_recv(&c->d, c->rx->payload, c->rx->len, &taken);
            if (taken == 0) {
                return; /* the session's buffer is full: after its next event */
            }
            rx_consume(c, (u16_t)taken);
            continue;
        }
        if (c->plain_off == c->plain_len) {
            long n = postie_mbedtls_recv(c->tls, c->plain, sizeof c->plain, 0);
            if (n == POSTIE_ERR_WOULD_BLOCK || n == POSTIE_ERR_TIMEOUT) {
                return;
            }
            if (n < 0) {
                (void)postie_rawcb_error(&c->d, (postie_status)n);
                return;
            }
            if (n == 0) {
                c->peer_closed = 1;
                break; /* close_notify, or the TCP stream ended */
            }
            c->plain_off = 0;
            c->plain_len = (size_t)n;
        }
        st = postie_rawcb_recv(&c->d, c->plain + c->plain_off, c->plain_len - c->plain_off, &taken);
        if (taken == 0) {
            return;
        }
        c->plain_off += taken;
    }
    if (st == POSTIE_AGAIN && c->peer_closed && !c->eof_fed && c->rx == NULL &&
        c->plain_off == c->plain_len) {
        c->eof_fed = 1;
        (void)postie_rawcb_recv(&c->d, NULL, 0, NULL);
    }
}

/* ---- lwIP's callbacks ---------------------------------------------------- */

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    postie_lwip *c = arg;

    (void)err;
    if (c == NULL) {
        if (p != NULL) {
            tcp_recved(pcb, p->tot_len);
            pbuf_free(p);
        }
        return ERR_OK;
    }
    if (p == NULL) {
        c->peer_closed = 1;
    } else if (c->rx == NULL) {
        c->rx = p;
    } else {
        pbuf_cat(c->rx, p); /* in order */
    }
    feed(c);
    return ERR_OK;
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    postie_lwip *c = arg;

    (void)pcb;
    if (c == NULL || !c->connected) {
        return ERR_OK;
    }
    /* also during a handshake: the window grows (the session, waiting for
     * the handshake, sends nothing meanwhile) */
    (void)postie_rawcb_sent(&c->d, len);
    feed(c);
    return ERR_OK;
}

static err_t on_poll(void *arg, struct tcp_pcb *pcb)
{
    postie_lwip *c = arg;
    unsigned ms = POSTIE_LWIP_POLL_TICKS * TCP_SLOW_INTERVAL;

    if (c == NULL) {
        return ERR_OK;
    }
    if (!c->connected) {
        c->connect_ms += ms;
        if (c->timeout_ms > 0 && c->connect_ms >= c->timeout_ms) {
            c->result = POSTIE_ERR_CONNECT;
            pcb_abort(c, pcb);
            return ERR_ABRT;
        }
        return ERR_OK;
    }
    (void)postie_rawcb_poll(&c->d, ms); /* counts a handshake's idle time too */
    feed(c);
    return ERR_OK;
}

static void on_err(void *arg, err_t err)
{
    postie_lwip *c = arg;
    postie_status st = err == ERR_RST ? POSTIE_ERR_CLOSED
                     : err == ERR_TIMEOUT ? POSTIE_ERR_TIMEOUT : POSTIE_ERR_IO;

    if (c == NULL) {
        return;
    }
    c->pcb = NULL; /* lwIP has freed it */
    c->pcb_err = st;
    if (c->rx != NULL) {
        pbuf_free(c->rx);
        c->rx = NULL;
    }
    if (!c->connected) {
        c->result = POSTIE_ERR_CONNECT; /* refused (RST) or no answer */
        return;
    }
    if (c->tls_state == TLS_WANTED) {
        c->tls_state = TLS_FAILED; /* the driver reports it as the handshake's end */
    }
    (void)postie_rawcb_error(&c->d, st);
}

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    postie_lwip *c = arg;
    postie_rawcb_io io;

    if (c == NULL || err != ERR_OK) {
        return ERR_OK; /* lwIP reports failures through on_err */
    }
    io.write = io_write;
    io.output = io_output;
    io.start_tls = io_start_tls;
    io.ctx = c;
    if (postie_rawcb_init(&c->d, c->conn, &io, &c->app, tcp_sndbuf(pcb), c->timeout_ms) !=
        POSTIE_OK) {
        c->result = POSTIE_ERR_PARAM;
        return ERR_OK; /* service() closes */
    }
    c->connected = 1;
    tcp_recv(pcb, on_recv);
    tcp_sent(pcb, on_sent);
    (void)postie_rawcb_start(&c->d);
    feed(c);
    return ERR_OK;
}

postie_status postie_lwip_connect(postie_lwip *c, const ip_addr_t *ip, u16_t port,
                                  postie_conn *conn, const postie_rawcb_app *app,
                                  unsigned timeout_ms)
{
    struct tcp_pcb *pcb;

    if (c == NULL || ip == NULL || conn == NULL || app == NULL || app->step == NULL ||
        app->tls_started == NULL || c->pcb != NULL || c->closed) {
        return POSTIE_ERR_PARAM;
    }
    pcb = tcp_new_ip_type(IP_GET_TYPE(ip));
    if (pcb == NULL) {
        return POSTIE_ERR_NOMEM;
    }
    c->conn = conn;
    c->app = *app;
    c->timeout_ms = timeout_ms;
    c->pcb = pcb;
    tcp_arg(pcb, c);
    tcp_err(pcb, on_err);
    tcp_poll(pcb, on_poll, POSTIE_LWIP_POLL_TICKS);
    if (tcp_connect(pcb, ip, port, on_connected) != ERR_OK) {
        pcb_abort(c, pcb);
        return POSTIE_ERR_CONNECT;
    }
    return POSTIE_AGAIN;
}

postie_status postie_lwip_result(const postie_lwip *c)
{
    if (c == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (c->result != POSTIE_AGAIN || !c->connected) {
        return c->result;
    }
    return postie_rawcb_result(&c->d);
}

postie_status postie_lwip_service(postie_lwip *c)
{
    postie_status st;

    if (c == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (c->connected && c->result == POSTIE_AGAIN) {
        feed(c); /* a handshake's first step; plaintext mbed TLS still holds */
    }
    st = postie_lwip_result(c);
    if (st != POSTIE_AGAIN) {
        postie_lwip_close(c);
    }
    return st;
}

void postie_lwip_close(postie_lwip *c)
{
    if (c == NULL || c->closed) {
        return;
    }
    c->closed = 1;
    if (c->tls != NULL) {
        postie_mbedtls_close(c->tls); /* close_notify when active, then stream_close */
    }
    (void)pcb_end(c);
    if (c->rx != NULL) {
        pbuf_free(c->rx);
        c->rx = NULL;
    }
}
