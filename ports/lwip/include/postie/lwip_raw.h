/*
 * postie/lwip_raw.h - one Postie session on a TCP connection of lwIP's raw
 * API (NO_SYS=1 or the tcpip thread), with optional STLS/STARTTLS through the
 * mbed TLS transport (ports/mbedtls).
 *
 * The session runs in event-loop mode (postie_pop3_init_nb(),
 * postie_smtp_init_nb()) under the callback driver of postie/rawcb.h: this
 * port forwards lwIP's connected / recv / sent / poll / err callbacks to it,
 * writes what the session sends with tcp_write(), and keeps received pbufs
 * that the session cannot take yet. Nothing here allocates: every byte is in
 * postie_lwip (the caller's, static or pooled), lwIP's pcb and pbufs, and
 * mbed TLS's heap.
 *
 * TLS. With postie_lwip_use_tls(), the session's STLS/STARTTLS wraps the
 * same pcb in the mbed TLS transport: the pcb is its inner postie_transport
 * (postie_lwip_stream, which never waits), the handshake runs step by step
 * from the callbacks (postie_mbedtls_start_nb(): a step whenever the
 * server's bytes arrive or send room frees), and afterwards the session's
 * plaintext goes through postie_mbedtls_send()/_recv() with no waiting
 * (records that do not fit the send buffer stay with mbed TLS until lwIP's
 * sent callback). Nothing in this port ever waits. docs/porting.md
 * (section 10) says why it is built this way.
 *
 * Usage (NO_SYS=1):
 *   postie_lwip_init(&c);
 *   postie_lwip_use_tls(&c, &tls, &opts, "mail.example.org");   optional
 *   postie_lwip_connect(&c, &ip, 110, postie_pop3_conn(&pop), &app, 30000);
 *   while ((st = postie_lwip_service(&c)) == POSTIE_AGAIN) { netif poll, sys_check_timeouts() }
 *   postie_lwip_close(&c);
 */
#ifndef POSTIE_LWIP_RAW_H
#define POSTIE_LWIP_RAW_H

#include <stddef.h>
#include "lwip/ip_addr.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "postie/rawcb.h"
#include "postie/status.h"
#include "postie/transport.h"
#include "postie/mbedtls_tls.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Plaintext staging between mbed TLS and the session: decrypted bytes the
 * session could not take yet. Any size from 1; 512 is a few calls per record. */
#ifndef POSTIE_LWIP_PLAIN_BUF
#define POSTIE_LWIP_PLAIN_BUF 512
#endif
/* lwIP's tcp_poll interval in its coarse timer ticks (500 ms each): the
 * session's idle time and the connect timeout are counted in these steps. */
#ifndef POSTIE_LWIP_POLL_TICKS
#define POSTIE_LWIP_POLL_TICKS 1
#endif

typedef struct postie_lwip {
    struct tcp_pcb *pcb;          /* NULL before connect and once closed or failed */
    struct pbuf *rx;              /* received, not yet taken (TLS records under TLS) */
    postie_rawcb d;               /* the callback driver of the session */
    postie_conn *conn;
    postie_rawcb_app app;
    unsigned timeout_ms;          /* idle limit of the session, and of the connect */
    unsigned connect_ms;          /* time spent connecting so far */
    postie_status result;         /* set when the run ended before the driver started */
    postie_status pcb_err;        /* what lwIP's err callback reported */
    postie_mbedtls *tls;          /* NULL: no TLS (STLS gets POSTIE_ERR_UNSUPPORTED) */
    const char *tls_name;         /* server name to verify (caller's, lives as long) */
    u32_t hs_start;               /* sys_now() when the handshake was asked for */
    u32_t hs_ms;                  /* how long the last handshake took (ms; 0: none) */
    size_t pend_len;              /* a record mbed TLS still has to flush: its length */
    size_t plain_len, plain_off;  /* staged plaintext */
    unsigned char plain[POSTIE_LWIP_PLAIN_BUF];
    unsigned char tls_state;      /* 0 none, 1 handshake wanted, 2 active, 3 failed */
    unsigned char connected, peer_closed, eof_fed, closed;
} postie_lwip;

/* Clears c. Call once before the rest. */
void postie_lwip_init(postie_lwip *c);

/* Arranges STLS/STARTTLS: initialises tls (postie_mbedtls_init) over this
 * connection's stream with opts (CA, rng, clock: docs/tls.md), to verify
 * server_name (the caller's string, kept until postie_lwip_close()). With
 * opts->clock set, opts->handshake_timeout_ms bounds the whole handshake;
 * the session's idle timeout (postie_lwip_connect()) bounds each wait in it
 * either way. Before postie_lwip_connect().
 * Returns POSTIE_OK, POSTIE_ERR_PARAM (a NULL argument), or what
 * postie_mbedtls_init() returns (POSTIE_ERR_TLS, POSTIE_ERR_NOMEM, ...;
 * postie_mbedtls_error_text(tls) says more). */
postie_status postie_lwip_use_tls(postie_lwip *c, postie_mbedtls *tls,
                                  const postie_mbedtls_options *opts, const char *server_name);

/* Opens a TCP connection to ip:port (tcp_new, tcp_connect) for the session
 * whose connection engine is conn, run by app (rawcb.h). timeout_ms bounds
 * the connect and each wait of the session for the server (0: none).
 * Returns POSTIE_AGAIN (connecting: run postie_lwip_service()), or
 * POSTIE_ERR_PARAM, POSTIE_ERR_NOMEM (no pcb), POSTIE_ERR_CONNECT. */
postie_status postie_lwip_connect(postie_lwip *c, const ip_addr_t *ip, u16_t port,
                                  postie_conn *conn, const postie_rawcb_app *app,
                                  unsigned timeout_ms);

/* The main loop's call, after polling the netif: starts a TLS handshake
 * the session asked for, hands decrypted bytes mbed TLS still holds to the
 * session, and closes the connection once the run is over. Never waits.
 * Returns POSTIE_AGAIN while the session runs, then its result for ever
 * after: the application's final status
 * (POSTIE_DONE / POSTIE_OK), or the failure it ended with
 * (POSTIE_ERR_CONNECT: refused or no answer in timeout_ms;
 * POSTIE_ERR_CLOSED: the server cut the connection; POSTIE_ERR_TIMEOUT;
 * POSTIE_ERR_TLS, POSTIE_ERR_TLS_VERIFY: the handshake, with
 * postie_mbedtls_error_text(); POSTIE_ERR_NOMEM: no pcb or no memory for
 * TLS; POSTIE_ERR_UNSUPPORTED: STLS without TLS arranged; the session's own
 * statuses), or POSTIE_ERR_PARAM for c NULL. */
postie_status postie_lwip_service(postie_lwip *c);

/* The run's status (as postie_lwip_service() returns it, without doing anything). */
postie_status postie_lwip_result(const postie_lwip *c);

/* Closes what is still open (close_notify under TLS, then the pcb; tcp_abort
 * when lwIP cannot close now), frees kept pbufs and mbed TLS's state. Safe
 * to call twice. */
void postie_lwip_close(postie_lwip *c);

/* The connection as a postie_transport (what mbed TLS runs over): send and
 * recv move what they can now and return POSTIE_ERR_WOULD_BLOCK otherwise,
 * whatever the timeout (they never wait); recv returns 0 once the peer
 * closed and everything before was taken. */
void postie_lwip_stream(postie_lwip *c, postie_transport *tr);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_LWIP_RAW_H */
