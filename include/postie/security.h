/*
 * postie/security.h - what the native POP3 and SMTP clients require of the
 * connection before they reveal anything (docs/tls.md, "TLS policy").
 *
 * Each client (postie_pop3, postie_smtp) holds:
 *  - a TLS policy (postie_tls_policy below), POSTIE_TLS_REQUIRED by default;
 *  - the server name to verify the certificate against when the client
 *    upgrades the connection itself (STLS, STARTTLS);
 *  - whether credentials that reveal the secret (USER/PASS, AUTH PLAIN,
 *    AUTH LOGIN, XOAUTH2 and OAUTHBEARER tokens) may cross a connection that
 *    is not encrypted: no by default (POSTIE_ERR_INSECURE, nothing sent);
 *  - a random source, needed by SCRAM-SHA-256 for its client nonce.
 */
#ifndef POSTIE_SECURITY_H
#define POSTIE_SECURITY_H

#include <stddef.h>
#include "postie/postie_config_defaults.h"
#include "postie/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum postie_tls_policy {
    /* Default. The connection must be encrypted before anything is sent that
     * depends on the user: open() upgrades it (STLS / STARTTLS) when the
     * server offers that, and otherwise refuses the server with
     * POSTIE_ERR_TLS_REQUIRED (after QUIT) before any credential is sent. */
    POSTIE_TLS_REQUIRED = 0,
    /* open() upgrades when the server offers it and the transport can;
     * otherwise the session goes on in plain text. A failed handshake is
     * still an error (the connection cannot be used after it). */
    POSTIE_TLS_OPPORTUNISTIC,
    /* Never upgrade. The session stays in plain text (unless the caller
     * calls postie_pop3_stls() / postie_smtp_starttls() itself). */
    POSTIE_TLS_OFF,
    /* The transport is TLS from its first byte (POP3S 995, SMTP submissions
     * 465, RFC 8314): the caller ran the handshake (postie_openssl_start()).
     * STLS/STARTTLS are never sent; the session counts as encrypted. */
    POSTIE_TLS_IMPLICIT
} postie_tls_policy;

/* Longest server name kept for STLS/STARTTLS certificate checks, plus NUL
 * (a DNS name is at most 253 octets; a firmware that knows its servers may
 * set it lower in postie_config.h: a longer name is POSTIE_ERR_PARAM). */
#ifndef POSTIE_SERVER_NAME_MAX
#define POSTIE_SERVER_NAME_MAX 256
#endif
#if POSTIE_SERVER_NAME_MAX < 16
#error "POSTIE_SERVER_NAME_MAX must be at least 16"
#endif

/* Random source: fills buf[0..len) with bytes from a cryptographic random
 * generator and returns POSTIE_OK, or a negative status when it cannot.
 * ports/posix gives postie_posix_random() (posix_random.h). */
typedef postie_status (*postie_random_fn)(void *ctx, void *buf, size_t len);

/* Checks a server name for STLS/STARTTLS: non-NULL, 1..POSTIE_SERVER_NAME_MAX-1
 * bytes, no space, control byte or DEL. Returns 1 when good, else 0. */
int postie_server_name_ok(const char *name);

/* The checks every client's set_tls() makes, and the copy of the name: a
 * known policy; a server name, when given, that passes
 * postie_server_name_ok(); a name present for REQUIRED and OPPORTUNISTIC.
 * On success copies server_name (or "") into out (POSTIE_SERVER_NAME_MAX
 * bytes; out NULL: nothing is copied, for a client built without a TLS
 * upgrade) and returns POSTIE_OK; otherwise POSTIE_ERR_PARAM and out is
 * untouched. */
postie_status postie_tls_policy_check(postie_tls_policy policy, const char *server_name,
                                      char out[POSTIE_SERVER_NAME_MAX]);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_SECURITY_H */
