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
#include "nxd_smtp_client.h"
#include "nx_postie_tls.h"

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

/* As nxd_postie_pop3_client_tls_create, over *transport (as above). The
 * transport does the TLS: for NX_POSTIE_TLS_IMPLICIT it is already TLS; for
 * the STARTTLS modes its start_tls is called with the configured server name
 * (required here: there is no address). The configuration's CA file, pin and
 * insecure switch are not used (they set up the layer's own OpenSSL
 * connections). Statuses as nxd_postie_pop3_client_tls_create; the
 * transport is closed on every failure. */
UINT nx_postie_pop3_client_tls_create_on(NX_POP3_CLIENT *client_ptr, UINT APOP_authentication,
                                         NX_IP *ip_ptr, NX_PACKET_POOL *packet_pool_ptr,
                                         const postie_transport *transport, CHAR *client_name,
                                         CHAR *client_password,
                                         const NX_POSTIE_TLS_CONFIG *tls_config);

/* Timeout of every network step of a client, in ms (default from the
 * NX_*_TIMEOUT values of the headers). */
VOID nx_postie_pop3_client_timeout_set(NX_POP3_CLIENT *client_ptr, unsigned timeout_ms);

/* Makes every later nx_smtp_mail_send() of the client get its connection
 * from fn(user, host, port, timeout_ms, &transport) instead of TCP (host and
 * port are the configured server's, as text). fn NULL restores TCP.
 * The transport's close is called at the end of each session. With TLS set
 * (nx_postie_smtp_client_tls_set) the transport does the TLS: already TLS
 * for NX_POSTIE_TLS_IMPLICIT, its start_tls called for STARTTLS; the CA
 * file, pin and insecure switch are then not used. */
VOID nx_postie_smtp_client_connector_set(NX_SMTP_CLIENT *client_ptr, nx_postie_connect_fn fn,
                                         void *user);

/* Timeout of every network step of the client's sessions, in ms. */
VOID nx_postie_smtp_client_timeout_set(NX_SMTP_CLIENT *client_ptr, unsigned timeout_ms);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_NETX_HOOKS_H */
