/* Helpers shared by the postie_netx services (not installed). */
#ifndef POSTIE_NETX_INTERNAL_H
#define POSTIE_NETX_INTERNAL_H

#include <stddef.h>
#include "nx_api.h"
#include "nx_postie_tls.h"
#include "postie/posix_tcp.h"
#include "postie/security.h"
#include "postie/transport.h"

/* Writes the numeric host string of an NXD_ADDRESS (IPv4 or IPv6, host
 * order words) into out. Returns 0, or -1 for an unknown version. */
int nx_postie_address_string(const NXD_ADDRESS *a, char *out, size_t cap);

/* ---- TLS (nx_postie_tls.c) ---------------------------------------------- */

/* A checked NX_POSTIE_TLS_CONFIG. The strings point into the caller's
 * configuration (POP3) or into the client (SMTP). */
typedef struct nx_postie_tls_settings {
    UINT mode;                  /* NX_POSTIE_TLS_STARTTLS, ... */
    const char *server_name;    /* NULL: the server's address */
    const char *ca_file;        /* NULL: the system store */
    UINT pin_type;              /* NX_POSTIE_TLS_PIN_* */
    unsigned char pin[32];
    UINT insecure;
} nx_postie_tls_settings;

/* 1 when the library has the OpenSSL transport, else 0. */
int nx_postie_tls_available(void);

/* Checks cfg (non-NULL) into *out: mode, pin type and pin, server name.
 * Returns 0, or -1 when something is not usable. Only with OpenSSL (the pin
 * is parsed by the transport); without it always -1. */
int nx_postie_tls_check(const NX_POSTIE_TLS_CONFIG *cfg, nx_postie_tls_settings *out);

/* The native policy of a mode. */
postie_tls_policy nx_postie_tls_policy(UINT mode);

/* Puts a TLS transport in *room over the connected tcp: set-up, and for
 * IMPLICIT the handshake, checked against name. On POSTIE_OK tcp->fd is -1
 * (the room owns the socket; tr's close frees both); on an error the socket
 * is closed (tcp->fd -1 too). Statuses of postie_openssl_init/postie_openssl_start;
 * POSTIE_ERR_INTERNAL without OpenSSL. */
postie_status nx_postie_tls_open(NX_POSTIE_TLS_CONTEXT *room, postie_tcp *tcp,
                                 const nx_postie_tls_settings *s, const char *name,
                                 unsigned timeout_ms, postie_transport *tr);

#endif
