/*
 * postie/mbedtls_tls.h - TLS transport over mbed TLS 2.28 (ports/mbedtls).
 *
 * The firmware's counterpart of the OpenSSL transport (postie/posix_tls.h):
 * the same contract (include/postie/transport.h), the same checks, refusal
 * reasons and error texts (docs/tls.md), but it sits on top of ANY other
 * postie_transport (lwIP, NetX Duo, FreeRTOS+TCP, or postie_tcp on a host):
 * mbed TLS reads and writes through the inner transport's recv/send, so the
 * file includes no OS or socket header and keeps no global state.
 *
 *   - implicit TLS (POP3S 995, SMTP submissions 465): postie_mbedtls_init()
 *     then postie_mbedtls_start() right away;
 *   - upgrade in place (POP3 STLS, SMTP STARTTLS): postie_mbedtls_init(),
 *     hand the transport to a client; until its start_tls the transport
 *     passes bytes to and from the inner transport unchanged.
 *
 * Verification is on by default and needs a CA bundle from the application
 * (PEM or DER in memory, e.g. in flash; there is no system store): the chain
 * to one of those CAs, every certificate's validity dates (when mbed TLS is
 * built with MBEDTLS_HAVE_TIME_DATE), the host name (subjectAltName dNSName,
 * a wildcard only as the whole left-most label) or IP address (an iPAddress
 * subjectAltName), an optional SHA-256 pin. TLS 1.2 is the minimum version.
 *
 * This header includes mbed TLS's headers: the contexts live inside the
 * caller-owned postie_mbedtls (mbed TLS still allocates its record buffers
 * and the parsed certificates with its calloc, MBEDTLS_PLATFORM_MEMORY on a
 * firmware). Built when the library is configured with POSTIE_WITH_MBEDTLS
 * (CMake target postie_mbedtls; cmake/postieFiles.cmake lists the file in
 * POSTIE_TLS_MBEDTLS_SOURCES).
 */
#ifndef POSTIE_MBEDTLS_TLS_H
#define POSTIE_MBEDTLS_TLS_H

#include "postie/conn.h"      /* postie_clock_fn */
#include "postie/sha256.h"
#include "postie/transport.h"

#if !defined(MBEDTLS_CONFIG_FILE)
#include "mbedtls/config.h"
#else
#include MBEDTLS_CONFIG_FILE
#endif
#include "mbedtls/ssl.h"
#include "mbedtls/x509_crt.h"
#if defined(MBEDTLS_ENTROPY_C) && defined(MBEDTLS_CTR_DRBG_C)
#include "mbedtls/ctr_drbg.h"
#include "mbedtls/entropy.h"
#define POSTIE_MBEDTLS_HAVE_DRBG 1
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* What a pin is computed over (the SHA-256 of its DER encoding). */
typedef enum postie_mbedtls_pin_kind {
    POSTIE_MBEDTLS_PIN_NONE = 0, /* no pin */
    POSTIE_MBEDTLS_PIN_CERT = 1, /* the server's whole certificate */
    POSTIE_MBEDTLS_PIN_SPKI = 2  /* its SubjectPublicKeyInfo (survives renewal with the same key) */
} postie_mbedtls_pin_kind;

/* Random bytes for the handshake: fill out[0..len), return 0 (mbed TLS's
 * f_rng shape; mbedtls_ctr_drbg_random fits). */
typedef int (*postie_mbedtls_rng_fn)(void *ctx, unsigned char *out, size_t len);

/* Options; start from postie_mbedtls_options_init(). Everything is read
 * during postie_mbedtls_init() only (the CA bundle is parsed there), except
 * ca_chain, rng/rng_ctx and clock/clock_ctx, which must live as long as t. */
typedef struct postie_mbedtls_options {
    /* Trusted CAs: one buffer of PEM (one or more "-----BEGIN CERTIFICATE-----"
     * blocks; a terminating NUL may be counted in ca_len or not) or DER (one
     * certificate or several back to back). Parsed into t by init; the
     * buffer may be in flash and is not used afterwards. */
    const unsigned char *ca;
    size_t ca_len;
    /* ...or CAs the application parsed once itself (shared by many
     * connections, never changed while they run). Used when ca is NULL. */
    mbedtls_x509_crt *ca_chain;

    /* Pin: SHA-256 of the server certificate or of its public key. Checked
     * in addition to chain and name, unless pin_replaces_chain is set: then
     * a matching pin alone authenticates the server (no CA needed). Use
     * postie_mbedtls_pin_from_hex() to fill it. */
    postie_mbedtls_pin_kind pin_kind;
    unsigned char pin_sha256[POSTIE_SHA256_DIGEST_LEN];
    int pin_replaces_chain;

    /* DANGER: when non-zero, neither the chain nor the host name is
     * verified. For throw-away test servers only. A pin is still enforced. */
    int insecure_skip_verify;

    /* Bound on the whole handshake in ms; 0 means POSTIE_DEFAULT_TIMEOUT_MS.
     * With a clock it bounds the handshake as a whole; without one, each
     * wait for the peer during the handshake. */
    unsigned handshake_timeout_ms;
    postie_clock_fn clock;
    void *clock_ctx;

    /* Random generator. NULL: a CTR_DRBG of t's own, seeded from mbed TLS's
     * entropy sources (mbedtls_entropy_func; on a board that needs
     * MBEDTLS_ENTROPY_HARDWARE_ALT or an added source). A build of mbed TLS
     * without ENTROPY_C/CTR_DRBG_C must give one. */
    postie_mbedtls_rng_fn rng;
    void *rng_ctx;
} postie_mbedtls_options;

#define POSTIE_MBEDTLS_ERROR_TEXT_MAX 256

/* Why postie_mbedtls_start() refused the server's certificate; the same
 * values, in the same order, as postie_openssl_verify_reason. */
typedef enum postie_mbedtls_verify_reason {
    POSTIE_MBEDTLS_VERIFY_NONE = 0,      /* no certificate was refused */
    POSTIE_MBEDTLS_VERIFY_UNKNOWN_CA,    /* the chain leads to no trusted CA */
    POSTIE_MBEDTLS_VERIFY_SELF_SIGNED,   /* a self-signed server certificate */
    POSTIE_MBEDTLS_VERIFY_EXPIRED,       /* past its notAfter date */
    POSTIE_MBEDTLS_VERIFY_NOT_YET_VALID, /* before its notBefore date */
    POSTIE_MBEDTLS_VERIFY_NAME_MISMATCH, /* not issued for the host name / IP address */
    POSTIE_MBEDTLS_VERIFY_PIN_MISMATCH,  /* the pin does not match */
    POSTIE_MBEDTLS_VERIFY_OTHER          /* another reason (in the error text) */
} postie_mbedtls_verify_reason;

/* The transport context. Caller-owned; treat the fields as private. mbed TLS
 * keeps pointers into it: do not move or copy it from postie_mbedtls_init()
 * to postie_mbedtls_close(). */
typedef struct postie_mbedtls {
    postie_transport inner;        /* owned after a successful init */
    int open;                      /* init succeeded, not closed yet */
    int active;                    /* 1 once the handshake completed */
    int failed;                    /* postie_mbedtls_start failed: no more I/O */
    int pin_failed;                /* the pin check refused the certificate */
    int peer_closed;               /* the inner transport said end of stream */
    int io_status;                 /* the inner transport's last negative status */
    int self_signed;               /* the server sent a lone self-signed certificate */
    int ca_owned;                  /* ca was parsed by init (freed by close) */
    int ip_len;                    /* 4 or 16 when the server name is an IP literal */
    unsigned char ip[16];
    unsigned io_timeout_ms;        /* the current call's timeout */
    unsigned long deadline;        /* handshake deadline on opts.clock (when set) */
    int use_deadline;
    int hs_running;                /* postie_mbedtls_start_nb(): a handshake goes on */
    unsigned char error_stage;     /* where error_text was set (postie_mbedtls_error_where) */
    unsigned char verify_reason;   /* a postie_mbedtls_verify_reason */
    char bad_date[24];             /* "2026-12-04 10:00 UTC" of a refused certificate */
    unsigned char peer_cert_pin[POSTIE_SHA256_DIGEST_LEN];
    unsigned char peer_spki_pin[POSTIE_SHA256_DIGEST_LEN];
    postie_mbedtls_options opts;   /* copy (ca not used after init) */
    mbedtls_ssl_context ssl;
    mbedtls_ssl_config conf;
    mbedtls_x509_crt ca;
#ifdef POSTIE_MBEDTLS_HAVE_DRBG
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
#endif
    char name[256];                /* the server name being checked */
    char error_text[POSTIE_MBEDTLS_ERROR_TEXT_MAX];
} postie_mbedtls;

/* Defaults: no CA (verification then needs one), no pin, verification on,
 * handshake timeout POSTIE_DEFAULT_TIMEOUT_MS, no clock, own CTR_DRBG. */
void postie_mbedtls_options_init(postie_mbedtls_options *o);

/* Parses 64 hex digits (either case, ':' between bytes allowed) into out.
 * Returns POSTIE_OK, POSTIE_ERR_PARAM (NULL) or POSTIE_ERR_DECODE. */
postie_status postie_mbedtls_pin_from_hex(const char *hex,
                                          unsigned char out[POSTIE_SHA256_DIGEST_LEN]);

/* Prepares t over inner (a connected transport; the struct is copied) in
 * plain-text mode: parses the CA bundle, seeds the random generator, sets up
 * mbed TLS (TLS 1.2 minimum, verification as the options say). opts may be
 * NULL (defaults: then only an error, as no CA is given).
 * On POSTIE_OK t owns the inner connection: postie_mbedtls_close() closes it
 * (inner->close). On an error it stays the caller's and t needs no close.
 * Returns POSTIE_OK, POSTIE_ERR_PARAM (NULL t or inner, inner without
 * send/recv, no CA while verification is on, pin_replaces_chain without a
 * pin, an unknown pin kind), POSTIE_ERR_TLS (the CA bundle does not parse,
 * the random generator cannot be seeded, mbed TLS refused the set-up; see
 * postie_mbedtls_error_text()), POSTIE_ERR_NOMEM (mbed TLS's allocation
 * failed). */
postie_status postie_mbedtls_init(postie_mbedtls *t, const postie_transport *inner,
                                  const postie_mbedtls_options *opts);

/* Runs the TLS handshake (implicit TLS, or the upgrade after STLS/STARTTLS;
 * the transport's start_tls calls this). server_name is a DNS name or an
 * IPv4/IPv6 literal (brackets allowed); a name is sent as SNI, and either is
 * checked against the certificate. Only read during the call.
 * Before the ClientHello the inner transport is asked for bytes with a
 * timeout of 0: a TLS server says nothing before it, so anything there was
 * sent in the clear after the go-ahead (injection) and the call fails.
 * Returns POSTIE_OK, POSTIE_ERR_PARAM (NULL t, server_name NULL/empty while
 * verification needs one, or too long), POSTIE_ERR_STATE (already TLS,
 * closed, or an earlier failure), POSTIE_ERR_PROTOCOL (plain-text bytes
 * before the handshake), POSTIE_ERR_TLS_VERIFY (chain, dates, name or pin;
 * reason in postie_mbedtls_error_text()), POSTIE_ERR_TLS (handshake failed
 * otherwise, e.g. no common protocol version), POSTIE_ERR_TIMEOUT,
 * POSTIE_ERR_CLOSED (peer closed during the handshake), or another negative
 * status of the inner transport (POSTIE_ERR_IO, POSTIE_ERR_NOMEM).
 * After a failure other than PARAM/STATE the connection is unusable (send,
 * recv and start_tls return POSTIE_ERR_STATE, never plain text): close it. */
postie_status postie_mbedtls_start(postie_mbedtls *t, const char *server_name);

/* postie_mbedtls_start() for event loops (ports/lwip uses it): never waits.
 * The inner transport is called with the handshake's remaining time, and
 * when it says POSTIE_ERR_WOULD_BLOCK (or POSTIE_ERR_TIMEOUT) the call
 * returns POSTIE_AGAIN with mbed TLS's state kept: call it again when bytes
 * have arrived or send room has freed. server_name is read by the first
 * call only. With opts.clock set, a call past the handshake's deadline
 * fails with POSTIE_ERR_TIMEOUT; without a clock the caller bounds the wait
 * (the rawcb driver's idle timeout does). While it runs, send and recv
 * return POSTIE_ERR_STATE.
 * Returns POSTIE_AGAIN, or what postie_mbedtls_start() returns. */
postie_status postie_mbedtls_start_nb(postie_mbedtls *t, const char *server_name);

/* Sends up to len bytes (in the clear before the handshake, encrypted after;
 * at most one TLS record per call). Returns the count (>= 1), or
 * POSTIE_ERR_TIMEOUT, POSTIE_ERR_CLOSED, POSTIE_ERR_IO, POSTIE_ERR_TLS,
 * POSTIE_ERR_WOULD_BLOCK (a non-blocking inner transport), another negative
 * status of the inner transport, POSTIE_ERR_PARAM (NULL, len 0),
 * POSTIE_ERR_STATE (closed, or start_tls failed). buf is only read during
 * the call. */
long postie_mbedtls_send(postie_mbedtls *t, const void *buf, size_t len, unsigned timeout_ms);

/* Receives up to len bytes into buf (caller-owned). Returns the count (>= 1),
 * 0 when the peer closed (close_notify, or the inner transport's end of
 * stream: the protocols' own framing detects truncation), or
 * POSTIE_ERR_TIMEOUT, POSTIE_ERR_IO, POSTIE_ERR_TLS, POSTIE_ERR_WOULD_BLOCK,
 * another negative status of the inner transport, POSTIE_ERR_PARAM,
 * POSTIE_ERR_STATE. */
long postie_mbedtls_recv(postie_mbedtls *t, void *buf, size_t len, unsigned timeout_ms);

/* Sends close_notify when TLS is active (best effort: the inner send is
 * given a timeout of 0), frees mbed TLS's state and closes the inner
 * transport. Safe to call twice, on a t whose init failed, and on a zeroed t. */
void postie_mbedtls_close(postie_mbedtls *t);

/* Fills tr with send/recv/start_tls/close over t (ctx = t). */
void postie_mbedtls_transport(postie_mbedtls *t, postie_transport *tr);

/* Why the last call failed, in the OpenSSL transport's words (docs/tls.md):
 * "certificate has expired (not valid after 2026-12-04 10:00 UTC)",
 * "unknown CA: the certificate's issuer is not in the trust store", ...;
 * "" when nothing failed. Never NULL; lives in t. */
const char *postie_mbedtls_error_text(const postie_mbedtls *t);

/* "TLS set-up", "TLS handshake", "TLS connection" or "" (as
 * postie_openssl_error_where()). Never NULL; static strings. */
const char *postie_mbedtls_error_where(const postie_mbedtls *t);

/* Why the last postie_mbedtls_start() refused the certificate, or
 * POSTIE_MBEDTLS_VERIFY_NONE. Set together with POSTIE_ERR_TLS_VERIFY. */
postie_mbedtls_verify_reason postie_mbedtls_refusal_reason(const postie_mbedtls *t);

/* SHA-256 pin of the connected server's certificate or public key (out
 * caller-owned, 32 bytes), kept from the handshake (no need for
 * MBEDTLS_SSL_KEEP_PEER_CERTIFICATE). Returns POSTIE_OK, POSTIE_ERR_PARAM,
 * POSTIE_ERR_STATE (no TLS session). */
postie_status postie_mbedtls_peer_pin(const postie_mbedtls *t, postie_mbedtls_pin_kind kind,
                                      unsigned char out[POSTIE_SHA256_DIGEST_LEN]);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_MBEDTLS_TLS_H */
