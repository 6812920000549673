/*
 * nx_postie_tls.h - TLS for the NetX Duo POP3 and SMTP client services of
 * postie_netx. Not part of the NetX Duo API: an extension, in its style.
 *
 * Without these calls the services speak plain TCP, as the original does
 * (docs/netx-compat.md). With them:
 *
 *   POP3  nx_postie_pop3_client_tls_create / nxd_postie_pop3_client_tls_create
 *         take the arguments of nx_pop3_client_create / nxd_pop3_client_create
 *         plus an NX_POSTIE_TLS_CONFIG, and connect, secure and log in at once
 *         (the create services log in, so TLS is chosen at creation).
 *   SMTP  nx_postie_smtp_client_tls_set, after nxd_smtp_client_create: every
 *         later nx_smtp_mail_send connection is secured the same way.
 *
 * Under TLS the password goes over TLS only: USER/PASS and AUTH PLAIN/LOGIN
 * are never sent on a connection that is not encrypted (APOP and CRAM-MD5,
 * which do not reveal the password, may be, in the opportunistic mode).
 * The server's certificate is verified: chain to a trusted CA (the system
 * store, or the CA file given), validity dates, the server name, and the
 * pin when one is given (docs/tls.md).
 *
 * Needs the library built with OpenSSL (CMake POSTIE_WITH_OPENSSL, the
 * default when OpenSSL is found). Built without it, every call below returns
 * NX_POSTIE_TLS_NOT_AVAILABLE and connects to nothing.
 */
#ifndef POSTIE_NETX_NX_POSTIE_TLS_H
#define POSTIE_NETX_NX_POSTIE_TLS_H

#include "nx_api.h"

#ifdef __cplusplus
extern "C" {
#endif

/* nx_postie_tls_mode. 0 is not a mode: a zeroed configuration is refused. */
#define NX_POSTIE_TLS_STARTTLS               1u /* POP3 STLS / SMTP STARTTLS on the
                                                  plain port, required: a server
                                                  that does not offer it is left
                                                  (QUIT) before any credential */
#define NX_POSTIE_TLS_STARTTLS_OPPORTUNISTIC 2u /* STLS/STARTTLS when offered; else
                                                  the session stays plain, and only
                                                  APOP / CRAM-MD5 / no AUTH can go on */
#define NX_POSTIE_TLS_IMPLICIT               3u /* TLS from the first byte: POP3S
                                                  (995), SMTP submissions (465) */

/* nx_postie_tls_pin_type */
#define NX_POSTIE_TLS_PIN_NONE 0u
#define NX_POSTIE_TLS_PIN_CERT 1u /* SHA-256 of the server certificate (DER) */
#define NX_POSTIE_TLS_PIN_SPKI 2u /* SHA-256 of its public key (SubjectPublicKeyInfo, DER) */

/* Statuses of the TLS calls, besides the services' own. */
#define NX_POSTIE_TLS_NOT_AVAILABLE NX_NOT_SUPPORTED /* 0x4B: built without OpenSSL */
#define NX_POSTIE_TLS_ERROR_CONSTANT 0x3C0u
#define NX_POSTIE_TLS_NOT_OFFERED    0x3C1u /* the server offered no STLS/STARTTLS (or
                                               refused it) and the mode requires it; or,
                                               opportunistic, the login would have shown
                                               the password in clear. Nothing secret sent */
#define NX_POSTIE_TLS_VERIFY_FAILED  0x3C2u /* the certificate was refused: unknown CA,
                                               expired, not issued for the server name,
                                               pin mismatch */
#define NX_POSTIE_TLS_FAILED         0x3C3u /* TLS could not start otherwise: CA file or
                                               pin unusable, handshake failed, no common
                                               protocol version, plain text injected */

/* What the caller fills in (zero it first). The strings are read during the
 * call that takes the configuration: the POP3 create calls use them then;
 * nx_postie_smtp_client_tls_set copies them into the client. */
typedef struct NX_POSTIE_TLS_CONFIG_STRUCT {
    UINT  nx_postie_tls_mode;        /* NX_POSTIE_TLS_STARTTLS, _STARTTLS_OPPORTUNISTIC, _IMPLICIT */
    CHAR *nx_postie_tls_server_name; /* DNS name (or IP literal) the certificate must be
                                        issued for; sent as SNI. NULL: the server's IP
                                        address, which the certificate must then list */
    CHAR *nx_postie_tls_ca_file;     /* PEM file of the CAs to trust; NULL: the
                                        system's trust store */
    UINT  nx_postie_tls_pin_type;    /* NX_POSTIE_TLS_PIN_NONE (0), _CERT or _SPKI */
    CHAR *nx_postie_tls_pin_sha256;  /* with a pin type: 64 hex digits (':' allowed
                                        between bytes), checked in addition to the
                                        chain and the name */
    UINT  nx_postie_tls_insecure;    /* DANGER: NX_TRUE turns chain and name checks
                                        off (a pin is still checked). Throw-away test
                                        servers only. */
} NX_POSTIE_TLS_CONFIG;

/* Longest strings nx_postie_smtp_client_tls_set keeps, without the NUL. */
#define NX_POSTIE_TLS_MAX_SERVER_NAME 255
#define NX_POSTIE_TLS_MAX_CA_FILE     1023

/* Room for one TLS connection inside a client (internal). Same size in every
 * build, with or without OpenSSL, so that the client structs do not change
 * with the build. */
#define NX_POSTIE_TLS_CONTEXT_SIZE 512
typedef union NX_POSTIE_TLS_CONTEXT_UNION {
    unsigned char nx_postie_tls_bytes[NX_POSTIE_TLS_CONTEXT_SIZE];
    void *nx_postie_tls_align_ptr;
    long long nx_postie_tls_align_ll;
    double nx_postie_tls_align_d;
} NX_POSTIE_TLS_CONTEXT;

struct NX_POP3_CLIENT_STRUCT;
struct NX_SMTP_CLIENT_STRUCT;

/* As nx_pop3_client_create, over TLS as tls_config says (read during the
 * call only). STARTTLS modes: the greeting, CAPA, STLS, the TLS handshake,
 * CAPA again, then the login (APOP or USER/PASS as nx_pop3_client_create).
 * IMPLICIT: the handshake, then the session exactly as nx_pop3_client_create
 * has it (no CAPA). The client is then used with the nx_pop3_client_*
 * services as usual; nx_pop3_client_quit / _delete close the TLS connection.
 * Statuses: those of nx_pop3_client_create (on a refusal nothing is left
 * open), and NX_PTR_ERROR (tls_config NULL); NX_POP3_PARAM_ERROR (unknown
 * mode or pin type, a pin that is not 64 hex digits, a bad server name);
 * NX_POSTIE_TLS_NOT_OFFERED; NX_POSTIE_TLS_VERIFY_FAILED;
 * NX_POSTIE_TLS_FAILED; NX_POSTIE_TLS_NOT_AVAILABLE (nothing connected). */
UINT nx_postie_pop3_client_tls_create(struct NX_POP3_CLIENT_STRUCT *client_ptr,
                                      UINT APOP_authentication, NX_IP *ip_ptr,
                                      NX_PACKET_POOL *packet_pool_ptr, ULONG server_ip_address,
                                      ULONG server_port, CHAR *client_name,
                                      CHAR *client_password,
                                      const NX_POSTIE_TLS_CONFIG *tls_config);

/* The same for an IPv4 or IPv6 address (as nxd_pop3_client_create). */
UINT nxd_postie_pop3_client_tls_create(struct NX_POP3_CLIENT_STRUCT *client_ptr,
                                       UINT APOP_authentication, NX_IP *ip_ptr,
                                       NX_PACKET_POOL *packet_pool_ptr,
                                       NXD_ADDRESS *server_duo_address,
                                       ULONG server_port, CHAR *client_name,
                                       CHAR *client_password,
                                       const NX_POSTIE_TLS_CONFIG *tls_config);

/* Makes every later nx_smtp_mail_send of the client use TLS as tls_config
 * says (copied into the client; call after nxd_smtp_client_create, before
 * sending; calling it again replaces the configuration). STARTTLS modes:
 * greeting, EHLO, STARTTLS, the handshake, EHLO again, then AUTH and the
 * mail; IMPLICIT: the handshake first. Each nx_smtp_mail_send may then also
 * return NX_POSTIE_TLS_NOT_OFFERED, NX_POSTIE_TLS_VERIFY_FAILED or
 * NX_POSTIE_TLS_FAILED (the message was not sent).
 * NX_SUCCESS; NX_PTR_ERROR (NULL pointer); NX_SMTP_CLIENT_NOT_INTIALIZED;
 * NX_SMTP_INVALID_PARAM (unknown mode or pin type, a pin that is not 64 hex
 * digits, a bad or too long server name or CA file name; the client keeps
 * its previous configuration); NX_POSTIE_TLS_NOT_AVAILABLE. */
UINT nx_postie_smtp_client_tls_set(struct NX_SMTP_CLIENT_STRUCT *client_ptr,
                                   const NX_POSTIE_TLS_CONFIG *tls_config);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_NETX_NX_POSTIE_TLS_H */
