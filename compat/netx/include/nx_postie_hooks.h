/*
 * nx_postie_hooks.h - internal and test hooks of postie_netx: run the NetX
 * Duo POP3 and SMTP client services over any postie_transport instead of a
 * TCP connection to an address (unit tests use an in-memory fake server; a
 * firmware port could pass its own transport). Not part of the NetX Duo API.
 */
#ifndef POSTIE_NETX_HOOKS_H
#define POSTIE_NETX_HOOKS_H

#include "postie/transport.h"
#include "nxd_pop3_client.h"

#ifdef __cplusplus
extern "C" {
#endif

/* As nxd_pop3_client_create, over *transport (already connected; copied; its
 * ctx must outlive the client; its close is called when the session ends).
 * Statuses as nxd_pop3_client_create. */
UINT nx_postie_pop3_client_create_on(NX_POP3_CLIENT *client_ptr, UINT APOP_authentication,
                                     NX_IP *ip_ptr, NX_PACKET_POOL *packet_pool_ptr,
                                     const postie_transport *transport,
                                     CHAR *client_name, CHAR *client_password);

/* Timeout of every network step of a client, in ms (default from the
 * NX_*_TIMEOUT values of the headers). */
VOID nx_postie_pop3_client_timeout_set(NX_POP3_CLIENT *client_ptr, unsigned timeout_ms);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_NETX_HOOKS_H */
