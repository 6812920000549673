/*
 * postie/posix_tcp.h - TCP transport for POSIX hosts (ports/posix).
 *
 * Names are resolved with getaddrinfo (IPv4 and IPv6); each address is tried
 * in turn, each connect bounded by the timeout. Reads and writes wait with
 * poll() and never block past their timeout. SIGPIPE is never raised.
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
 * name). Returns POSTIE_OK, POSTIE_ERR_PARAM, POSTIE_ERR_RESOLVE,
 * POSTIE_ERR_CONNECT (every address refused or unreachable) or
 * POSTIE_ERR_TIMEOUT (every address timed out). */
postie_status postie_tcp_connect(postie_tcp *t, const char *host, const char *port,
                                 unsigned timeout_ms);

/* Fills tr with send/recv/close for t (start_tls NULL: plain TCP). */
void postie_tcp_transport(postie_tcp *t, postie_transport *tr);

/* Closes the socket (safe on a closed one). */
void postie_tcp_close(postie_tcp *t);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_POSIX_TCP_H */
