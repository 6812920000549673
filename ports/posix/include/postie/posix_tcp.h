/*
 * postie/posix_tcp.h - TCP transport for POSIX hosts (ports/posix).
 *
 * Names are resolved with getaddrinfo (IPv4 and IPv6); each address is tried
 * in turn, each connect bounded by the timeout. Reads and writes wait with
 * poll() and never block past their timeout. SIGPIPE is never raised.
 * Sockets are non-blocking and close-on-exec. A timeout of 0 means "do not
 * wait": the call succeeds only if the socket is ready at once.
 */
#ifndef POSTIE_POSIX_TCP_H
#define POSTIE_POSIX_TCP_H

#include "postie/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct postie_tcp {
    int fd;          /* -1 when not connected */
    int last_errno;  /* errno of the last failure, 0 if none */
} postie_tcp;

/* Connects to host (name, IPv4 or IPv6 literal) on port (number or service
 * name). t need not be initialised; it is overwritten (close a previous
 * connection first). host and port are only read during the call. Each
 * address getaddrinfo returns is tried in turn, each connect bounded by
 * timeout_ms, so the call may take (number of addresses) x timeout_ms.
 * Returns:
 *   POSTIE_OK           connected; t->fd is the socket, t->last_errno 0.
 *   POSTIE_ERR_PARAM    t, host or port NULL or empty.
 *   POSTIE_ERR_RESOLVE  getaddrinfo failed (t->last_errno is errno for
 *                       EAI_SYSTEM, else 0).
 *   POSTIE_ERR_CONNECT  no address connected and at least one failed other
 *                       than by timing out (refused, unreachable, ...);
 *                       t->last_errno is the errno of the last such failure.
 *   POSTIE_ERR_TIMEOUT  every address timed out (t->last_errno ETIMEDOUT).
 * On failure t->fd is -1. */
postie_status postie_tcp_connect(postie_tcp *t, const char *host, const char *port,
                                 unsigned timeout_ms);

/* Fills tr with send/recv/close for t (start_tls NULL: plain TCP); t must
 * outlive every use of tr. The functions follow transport.h:
 *   send  returns bytes written (>= 1; 0 only when len is 0), or
 *         POSTIE_ERR_TIMEOUT (nothing could be written in time),
 *         POSTIE_ERR_CLOSED (ECONNRESET, EPIPE or ECONNABORTED: the peer
 *         reset or closed the connection), POSTIE_ERR_IO (any other errno,
 *         or t not connected), POSTIE_ERR_PARAM (ctx NULL, buf NULL with
 *         len > 0).
 *   recv  returns bytes read (>= 1), 0 when the peer closed the connection,
 *         or POSTIE_ERR_TIMEOUT, POSTIE_ERR_CLOSED, POSTIE_ERR_IO as above,
 *         POSTIE_ERR_PARAM (ctx or buf NULL, or len 0).
 *   close calls postie_tcp_close(t).
 * Each error records its errno in t->last_errno (ETIMEDOUT for a timeout). */
void postie_tcp_transport(postie_tcp *t, postie_transport *tr);

/* Closes the socket and sets t->fd to -1 (safe on a closed one or NULL). */
void postie_tcp_close(postie_tcp *t);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_POSIX_TCP_H */
