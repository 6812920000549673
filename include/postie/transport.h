/*
 * postie/transport.h - the transport contract.
 *
 * The protocol clients never touch a socket: they call these four functions.
 * ports/posix provides a TCP transport (and, with OpenSSL, a TLS one); a
 * firmware user writes one for their own stack (see docs/porting.md).
 *
 * Rules every implementation follows:
 *  - send() writes up to len bytes and returns how many it wrote (>= 1), or a
 *    negative postie_status (POSTIE_ERR_TIMEOUT, POSTIE_ERR_IO, POSTIE_ERR_CLOSED,
 *    POSTIE_ERR_TLS). It must not block past timeout_ms.
 *  - recv() reads up to len bytes and returns how many it read (>= 1), 0 when
 *    the peer closed the connection, or a negative postie_status. It must not
 *    block past timeout_ms.
 *  - start_tls(ctx, server_name) upgrades the live connection in place and
 *    returns POSTIE_OK or a negative status; NULL when TLS is not available.
 *    server_name is used for SNI and certificate name checks.
 *  - close() releases the connection; it may be called once, after which the
 *    transport is not used again. May be NULL.
 * The clients keep a copy of this struct; ctx stays owned by the caller and
 * must outlive the client that uses it.
 */
#ifndef POSTIE_TRANSPORT_H
#define POSTIE_TRANSPORT_H

#include <stddef.h>
#include "postie/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct postie_transport {
    void *ctx;
    long (*send)(void *ctx, const void *buf, size_t len, unsigned timeout_ms);
    long (*recv)(void *ctx, void *buf, size_t len, unsigned timeout_ms);
    postie_status (*start_tls)(void *ctx, const char *server_name);
    void (*close)(void *ctx);
} postie_transport;

/* Sends all len bytes, calling t->send as often as needed.
 * Returns POSTIE_OK, POSTIE_ERR_PARAM (t or its send is NULL), or the first
 * negative status send returned (POSTIE_ERR_IO if it returned 0). */
postie_status postie_transport_send_all(const postie_transport *t, const void *buf,
                                        size_t len, unsigned timeout_ms);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_TRANSPORT_H */
