/*
 * postie/posix_tls.h - OpenSSL TLS transport for POSIX hosts (ports/posix).
 *
 * Its names are postie_openssl_* (a second TLS port, e.g. mbed TLS, gets its
 * own prefix). The names of release 0.1, postie_tls_* and POSTIE_TLS_PIN_*,
 * are still declared at the end of this file as deprecated aliases (the
 * compiler warns where they are used); they go in the next release.
 * Define POSTIE_NO_DEPRECATED to hide them now. See docs/tls.md.
 *
 * Wraps a connected socket (for example postie_tcp.fd after
 * postie_tcp_connect()). Two ways to use it:
 *   - implicit TLS (POP3S port 995, SMTP submissions port 465, RFC 8314):
 *     postie_openssl_init() then postie_openssl_start() right away;
 *   - upgrade in place (POP3 STLS, SMTP STARTTLS): postie_openssl_init(), hand
 *     the transport to a client, which talks plain text first and then calls
 *     the transport's start_tls(ctx, server_name).
 * Before the upgrade the transport is plain TCP over the same socket: reads
 * and writes wait with poll() and never block past their timeout. SIGPIPE is
 * never raised (plain writes use MSG_NOSIGNAL; OpenSSL writes go through a
 * BIO of our own that does the same).
 *
 * Verification is on by default: the certificate chain is checked against the
 * system trust store (or the CA file/folder given), the host name (or IP
 * address) given to postie_openssl_start() must match the certificate, TLS 1.2 is
 * the minimum version. See docs/tls.md.
 *
 * Only built when the library is configured with POSTIE_WITH_OPENSSL (CMake
 * defines POSTIE_HAVE_OPENSSL=1 for targets linking the library then).
 * This header does not include OpenSSL headers.
 */
#ifndef POSTIE_POSIX_TLS_H
#define POSTIE_POSIX_TLS_H

#include "postie/transport.h"
#include "postie/sha256.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ssl_ctx_st;      /* OpenSSL's SSL_CTX */
struct ssl_st;          /* OpenSSL's SSL */
struct bio_method_st;   /* OpenSSL's BIO_METHOD */

/* Marks the 0.1 names below (see the end of this file). */
#if defined(__GNUC__) || defined(__clang__)
#define POSTIE_OPENSSL_DEPRECATED(use) __attribute__((deprecated("use " use)))
#else
#define POSTIE_OPENSSL_DEPRECATED(use)
#endif

/* What a pin is computed over (the SHA-256 of its DER encoding). */
typedef enum postie_openssl_pin_kind {
    POSTIE_OPENSSL_PIN_NONE = 0, /* no pin */
    POSTIE_OPENSSL_PIN_CERT = 1, /* the server's whole certificate */
    POSTIE_OPENSSL_PIN_SPKI = 2  /* its SubjectPublicKeyInfo (survives renewal with the same key) */
#ifndef POSTIE_NO_DEPRECATED
    /* the 0.1 names, deprecated */
    , POSTIE_TLS_PIN_NONE POSTIE_OPENSSL_DEPRECATED("POSTIE_OPENSSL_PIN_NONE") = 0
    , POSTIE_TLS_PIN_CERT POSTIE_OPENSSL_DEPRECATED("POSTIE_OPENSSL_PIN_CERT") = 1
    , POSTIE_TLS_PIN_SPKI POSTIE_OPENSSL_DEPRECATED("POSTIE_OPENSSL_PIN_SPKI") = 2
#endif
} postie_openssl_pin_kind;

/* Options; start from postie_openssl_options_init(). The strings are read during
 * postie_openssl_init() only (files are loaded there); the caller keeps them. */
typedef struct postie_openssl_options {
    /* PEM file of trusted CA certificates and/or a hashed folder of them
     * (c_rehash / openssl rehash). When either is set the system trust store
     * is NOT loaded (like curl --cacert); when both are NULL it is. */
    const char *ca_file;
    const char *ca_path;

    /* Pin: SHA-256 of the server certificate or of its public key. A pin is
     * checked in addition to chain and host-name verification (both must
     * pass), unless pin_replaces_chain is set: then a matching pin alone
     * authenticates the server (chain and name are not checked; for
     * self-signed servers you know). Use postie_openssl_pin_from_hex() to fill it. */
    postie_openssl_pin_kind pin_kind;
    unsigned char pin_sha256[POSTIE_SHA256_DIGEST_LEN];
    int pin_replaces_chain;

    /* Client certificate and its private key (PEM), both or neither. */
    const char *client_cert_file;
    const char *client_key_file;

    /* DANGER: when non-zero, neither the certificate chain nor the host name
     * is verified, and anyone on the path can read and change the session
     * (passwords included). For tests against throw-away servers only.
     * A pin, when set, is still enforced. */
    int insecure_skip_verify;

    /* Bound on the whole handshake in ms; 0 means POSTIE_DEFAULT_TIMEOUT_MS. */
    unsigned handshake_timeout_ms;
} postie_openssl_options;

#define POSTIE_OPENSSL_ERROR_TEXT_MAX 256

/* Why postie_openssl_start() refused the server's certificate
 * (postie_openssl_refusal_reason()). A program can add advice in its own
 * terms: for UNKNOWN_CA and SELF_SIGNED, that a private CA (or the
 * self-signed certificate itself) is trusted by giving its file as ca_file
 * (the tools' --cafile), or that a pin authenticates a known server. */
typedef enum postie_openssl_verify_reason {
    POSTIE_OPENSSL_VERIFY_NONE = 0,      /* no certificate was refused */
    POSTIE_OPENSSL_VERIFY_UNKNOWN_CA,    /* the chain leads to no trusted CA */
    POSTIE_OPENSSL_VERIFY_SELF_SIGNED,   /* a self-signed server certificate */
    POSTIE_OPENSSL_VERIFY_EXPIRED,       /* past its notAfter date */
    POSTIE_OPENSSL_VERIFY_NOT_YET_VALID, /* before its notBefore date */
    POSTIE_OPENSSL_VERIFY_NAME_MISMATCH, /* not issued for the host name / IP address */
    POSTIE_OPENSSL_VERIFY_PIN_MISMATCH,  /* the pin does not match */
    POSTIE_OPENSSL_VERIFY_OTHER          /* another reason (in the error text) */
} postie_openssl_verify_reason;

/* The transport context. Caller-owned; treat the fields as private. OpenSSL
 * keeps a pointer to it after postie_openssl_init(): do not move or copy it
 * until postie_openssl_close(). */
typedef struct postie_openssl {
    int fd;                          /* owned after a successful init; -1 when closed */
    int active;                      /* 1 once the handshake completed */
    int last_errno;                  /* errno of the last socket failure, 0 if none */
    int peer_closed;                 /* the socket reached EOF */
    int failed;                      /* postie_openssl_start failed: no more I/O */
    int pin_failed;                  /* the pin check refused the certificate */
    unsigned char error_stage;       /* where error_text was set (postie_openssl_error_where) */
    unsigned char verify_reason;     /* a postie_openssl_verify_reason */
    struct ssl_ctx_st *ssl_ctx;
    struct ssl_st *ssl;
    struct bio_method_st *bio_method;
    postie_openssl_options opts;         /* copy (string pointers not used after init) */
    char error_text[POSTIE_OPENSSL_ERROR_TEXT_MAX];
} postie_openssl;

/* Defaults: system trust store, no pin, no client certificate, verification
 * on, handshake timeout POSTIE_DEFAULT_TIMEOUT_MS. */
void postie_openssl_options_init(postie_openssl_options *o);

/* Parses 64 hex digits (either case, ':' between bytes allowed) into out
 * (caller-owned, 32 bytes). Returns POSTIE_OK, POSTIE_ERR_PARAM (NULL) or
 * POSTIE_ERR_DECODE (not exactly 32 hex bytes). */
postie_status postie_openssl_pin_from_hex(const char *hex,
                                      unsigned char out[POSTIE_SHA256_DIGEST_LEN]);

/* Prepares t over the connected socket fd (set to non-blocking here) in
 * plain-text mode, creating the OpenSSL context and loading the trust store,
 * CA file/folder and client certificate. opts may be NULL (defaults).
 * On POSTIE_OK t owns fd and postie_openssl_close() closes it (if fd came from a
 * postie_tcp, set that struct's fd to -1 so it is not closed twice). On an
 * error fd stays the caller's and t needs no close.
 * Returns POSTIE_OK, POSTIE_ERR_PARAM (NULL t, fd < 0, only one of client
 * cert/key, pin_replaces_chain without a pin), POSTIE_ERR_TLS (a file could
 * not be loaded, or OpenSSL failed; see postie_openssl_error_text()),
 * POSTIE_ERR_IO (the socket could not be made non-blocking). */
postie_status postie_openssl_init(postie_openssl *t, int fd, const postie_openssl_options *opts);

/* Runs the TLS handshake on the socket (implicit TLS, or the upgrade after
 * STLS/STARTTLS; the transport's start_tls calls this). server_name is a DNS
 * name or an IPv4/IPv6 literal (brackets allowed); it is sent as SNI (names
 * only) and checked against the certificate. It is only read during the call.
 * Before sending the ClientHello the socket is checked for unread bytes: a
 * TLS server sends nothing before it, so bytes waiting there were sent in the
 * clear after the server's go-ahead (injection, CVE-2011-0411 class) and the
 * call fails. Bytes the client already read into its own buffer are the
 * client's to check (docs/tls.md).
 * Returns POSTIE_OK, POSTIE_ERR_PARAM (NULL t, or server_name NULL/empty
 * while verification needs a name), POSTIE_ERR_STATE (already TLS, or
 * closed), POSTIE_ERR_PROTOCOL (unread plain-text bytes before the
 * handshake), POSTIE_ERR_TLS_VERIFY (chain, expiry, host name or pin check
 * failed; reason in postie_openssl_error_text()), POSTIE_ERR_TLS (handshake
 * failed otherwise, e.g. no common protocol version), POSTIE_ERR_TIMEOUT,
 * POSTIE_ERR_CLOSED (peer closed during the handshake), POSTIE_ERR_IO.
 * After a failure other than PARAM/STATE the connection is unusable (send,
 * recv and start_tls return POSTIE_ERR_STATE, never plain text): close it. */
postie_status postie_openssl_start(postie_openssl *t, const char *server_name);

/* Sends up to len bytes (in the clear before the handshake, encrypted after).
 * Returns the count (>= 1), or POSTIE_ERR_TIMEOUT, POSTIE_ERR_CLOSED,
 * POSTIE_ERR_IO, POSTIE_ERR_TLS, POSTIE_ERR_PARAM (NULL, len 0),
 * POSTIE_ERR_STATE (closed, or start_tls failed). buf is only read during
 * the call. */
long postie_openssl_send(postie_openssl *t, const void *buf, size_t len, unsigned timeout_ms);

/* Receives up to len bytes into buf (caller-owned). Returns the count (>= 1),
 * 0 when the peer closed (close_notify, or a bare TCP close: the protocols'
 * own framing detects truncation), or POSTIE_ERR_TIMEOUT, POSTIE_ERR_IO,
 * POSTIE_ERR_TLS, POSTIE_ERR_PARAM, POSTIE_ERR_STATE (closed, or start_tls
 * failed). */
long postie_openssl_recv(postie_openssl *t, void *buf, size_t len, unsigned timeout_ms);

/* Sends close_notify when TLS is active (best effort, no waiting), frees the
 * OpenSSL objects and closes the socket. Safe to call twice, on a t whose
 * init failed, and on a zeroed t (it closes no socket it does not own). */
void postie_openssl_close(postie_openssl *t);

/* Fills tr with send/recv/start_tls/close over t (ctx = t). */
void postie_openssl_transport(postie_openssl *t, postie_transport *tr);

/* Why the last call failed, as text, each reason said once (e.g.
 * "certificate has expired (not valid after 2026-12-04 10:00 UTC)",
 * "unknown CA: the certificate's issuer is not in the trust store",
 * "host name mismatch: the certificate is not valid for host name 'x.example'",
 * "pin mismatch: ..."); "" when nothing failed. It does not say where (see
 * postie_openssl_error_where()). Never NULL; the string lives in t and
 * changes at the next call. */
const char *postie_openssl_error_text(const postie_openssl *t);

/* Where the failure of postie_openssl_error_text() happened, to put before
 * it: "TLS set-up" (postie_openssl_init: options, files, OpenSSL),
 * "TLS handshake" (postie_openssl_start, also when a client's STLS or
 * STARTTLS called it: the certificate checks happen here), "TLS connection"
 * (a later send or receive); "" when nothing failed. Never NULL; static
 * strings. A program reports e.g. "TLS handshake with mail.example.org:
 * certificate has expired (...)" rather than naming the protocol step
 * (greeting, STLS) that was running. */
const char *postie_openssl_error_where(const postie_openssl *t);

/* Why the last postie_openssl_start() refused the certificate, or
 * POSTIE_OPENSSL_VERIFY_NONE (no refusal, NULL t, or the failure was not a
 * certificate check). Set together with POSTIE_ERR_TLS_VERIFY. */
postie_openssl_verify_reason postie_openssl_refusal_reason(const postie_openssl *t);

/* SHA-256 pin of the connected server's certificate or public key, for
 * showing to a user or recording a pin (out caller-owned, 32 bytes).
 * Returns POSTIE_OK, POSTIE_ERR_PARAM, POSTIE_ERR_STATE (no TLS session),
 * POSTIE_ERR_TLS (OpenSSL could not encode the certificate). */
postie_status postie_openssl_peer_pin(const postie_openssl *t, postie_openssl_pin_kind kind,
                                  unsigned char out[POSTIE_SHA256_DIGEST_LEN]);

/* ---- Deprecated names (release 0.1), removed in the next release ---------
 * Each is the postie_openssl_* item of the same suffix. The functions are real
 * exported symbols (ports/posix/tls_openssl_compat.c), so programs linked
 * against the 0.1 library keep working; new code compiled with these names
 * gets a deprecation warning. POSTIE_TLS_PIN_* are in the enum above. */
#ifndef POSTIE_NO_DEPRECATED

typedef postie_openssl postie_tls POSTIE_OPENSSL_DEPRECATED("postie_openssl");
typedef postie_openssl_options postie_tls_options
    POSTIE_OPENSSL_DEPRECATED("postie_openssl_options");
typedef postie_openssl_pin_kind postie_tls_pin_kind
    POSTIE_OPENSSL_DEPRECATED("postie_openssl_pin_kind");

#define POSTIE_TLS_ERROR_TEXT_MAX POSTIE_OPENSSL_ERROR_TEXT_MAX

void postie_tls_options_init(postie_openssl_options *o)
    POSTIE_OPENSSL_DEPRECATED("postie_openssl_options_init");
postie_status postie_tls_pin_from_hex(const char *hex,
                                      unsigned char out[POSTIE_SHA256_DIGEST_LEN])
    POSTIE_OPENSSL_DEPRECATED("postie_openssl_pin_from_hex");
postie_status postie_tls_init(postie_openssl *t, int fd, const postie_openssl_options *opts)
    POSTIE_OPENSSL_DEPRECATED("postie_openssl_init");
postie_status postie_tls_start(postie_openssl *t, const char *server_name)
    POSTIE_OPENSSL_DEPRECATED("postie_openssl_start");
long postie_tls_send(postie_openssl *t, const void *buf, size_t len, unsigned timeout_ms)
    POSTIE_OPENSSL_DEPRECATED("postie_openssl_send");
long postie_tls_recv(postie_openssl *t, void *buf, size_t len, unsigned timeout_ms)
    POSTIE_OPENSSL_DEPRECATED("postie_openssl_recv");
void postie_tls_close(postie_openssl *t) POSTIE_OPENSSL_DEPRECATED("postie_openssl_close");
void postie_tls_transport(postie_openssl *t, postie_transport *tr)
    POSTIE_OPENSSL_DEPRECATED("postie_openssl_transport");
const char *postie_tls_error_text(const postie_openssl *t)
    POSTIE_OPENSSL_DEPRECATED("postie_openssl_error_text");
postie_status postie_tls_peer_pin(const postie_openssl *t, postie_openssl_pin_kind kind,
                                  unsigned char out[POSTIE_SHA256_DIGEST_LEN])
    POSTIE_OPENSSL_DEPRECATED("postie_openssl_peer_pin");

#endif /* POSTIE_NO_DEPRECATED */

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_POSIX_TLS_H */
