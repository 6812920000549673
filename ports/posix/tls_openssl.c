/*
 * OpenSSL TLS transport (see ports/posix/include/postie/posix_tls.h and docs/tls.md).
 *
 * The socket is non-blocking throughout; every wait is a poll() bounded by
 * the caller's timeout. OpenSSL reaches the socket through a BIO of our own
 * so that writes use MSG_NOSIGNAL (no SIGPIPE) and EOF/errno are recorded.
 */
#if defined(__APPLE__) && !defined(_DARWIN_C_SOURCE)
#define _DARWIN_C_SOURCE 1 /* SO_NOSIGPIPE is hidden under plain _POSIX_C_SOURCE */
#endif

#include "postie/posix_tls.h"
#include "postie/postie_config_defaults.h"
#include "posix_wait.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#if !defined(MSG_NOSIGNAL) && !defined(SO_NOSIGPIPE)
#error "neither MSG_NOSIGNAL nor SO_NOSIGPIPE: cannot keep send() from raising SIGPIPE"
#endif
#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* SO_NOSIGPIPE is set on the socket in postie_openssl_init() */
#endif

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

/* ---- small helpers ---------------------------------------------------- */

/* postie_openssl.error_stage: where error_text was set. 0: by send/recv
 * (or nothing failed). */
enum { STAGE_IO = 0, STAGE_SETUP = 1, STAGE_HANDSHAKE = 2 };

static void set_text(postie_openssl *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void set_text(postie_openssl *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->error_text, sizeof t->error_text, fmt, ap);
    va_end(ap);
}

/* Text of the oldest OpenSSL error queued, or a fallback; clears the queue. */
static void set_text_openssl(postie_openssl *t, const char *what)
{
    unsigned long e = ERR_get_error();
    const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;

    if (reason != NULL) {
        set_text(t, "%s: %s", what, reason);
    } else if (e != 0) {
        char buf[160];
        ERR_error_string_n(e, buf, sizeof buf);
        set_text(t, "%s: %s", what, buf);
    } else if (t->last_errno != 0) {
        set_text(t, "%s: %s", what, strerror(t->last_errno));
    } else {
        set_text(t, "%s", what);
    }
    ERR_clear_error();
}

/* Waits until the socket is ready for events or the deadline passes, as
 * postie_posix_wait_fd(); the failure is kept for postie_openssl_error_text(). */
static postie_status wait_fd(postie_openssl *t, short events, const struct timespec *deadline)
{
    int r = postie_posix_wait_fd(t->fd, events, deadline);

    if (r > 0) {
        return POSTIE_OK; /* ready, or POLLERR/POLLHUP: the I/O call reports it */
    }
    if (r == 0) {
        set_text(t, "timed out");
        return POSTIE_ERR_TIMEOUT;
    }
    t->last_errno = errno;
    set_text(t, "poll: %s", strerror(errno));
    return POSTIE_ERR_IO;
}

static int is_ip_literal(const char *s)
{
    unsigned char addr[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1;
}

/* ---- our BIO: the socket without SIGPIPE ------------------------------ */

static int bio_write(BIO *b, const char *buf, int len)
{
    postie_openssl *t = (postie_openssl *)BIO_get_data(b);
    ssize_t n;

    BIO_clear_retry_flags(b);
    if (len <= 0) {
        return 0;
    }
    n = send(t->fd, buf, (size_t)len, MSG_NOSIGNAL);
    if (n >= 0) {
        return (int)n;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        BIO_set_retry_write(b);
    } else {
        t->last_errno = errno;
    }
    return -1;
}

static int bio_read(BIO *b, char *buf, int len)
{
    postie_openssl *t = (postie_openssl *)BIO_get_data(b);
    ssize_t n;

    BIO_clear_retry_flags(b);
    if (len <= 0) {
        return 0;
    }
    n = recv(t->fd, buf, (size_t)len, 0);
    if (n > 0) {
        return (int)n;
    }
    if (n == 0) {
        t->peer_closed = 1;
        return 0;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        BIO_set_retry_read(b);
    } else {
        t->last_errno = errno;
    }
    return -1;
}

static int bio_puts(BIO *b, const char *s)
{
    return bio_write(b, s, (int)strlen(s));
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

/* BIO type of our socket BIO. BIO_get_new_index() hands out a new value on
 * every call (and a type keeps its index in the low 8 bits), so it is asked
 * once per process. The only process-wide state of this file. */
static pthread_once_t bio_type_once = PTHREAD_ONCE_INIT;
static int bio_type = BIO_TYPE_SOURCE_SINK; /* fallback: index 0 */

static void bio_type_init(void)
{
    int index = BIO_get_new_index();
    if (index > 0 && index <= 0xff) { /* the type-index bits of a BIO type */
        bio_type = index | BIO_TYPE_SOURCE_SINK;
    }
}

static int verify_cb(int preverify_ok, X509_STORE_CTX *store);

/* ---- options ------------------------------------------------------------ */

void postie_openssl_options_init(postie_openssl_options *o)
{
    if (o != NULL) {
        memset(o, 0, sizeof *o);
        o->pin_kind = POSTIE_OPENSSL_PIN_NONE;
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

postie_status postie_openssl_pin_from_hex(const char *hex, unsigned char out[POSTIE_SHA256_DIGEST_LEN])
{
    size_t n = 0;

    if (hex == NULL || out == NULL) {
        return POSTIE_ERR_PARAM;
    }
    while (*hex != '\0') {
        int hi, lo;
        if (n > 0 && *hex == ':') {
            hex++;
        }
        hi = hexval(hex[0]);
        lo = hi < 0 ? -1 : hexval(hex[1]);
        if (hi < 0 || lo < 0 || n == POSTIE_SHA256_DIGEST_LEN) {
            return POSTIE_ERR_DECODE;
        }
        out[n++] = (unsigned char)(hi * 16 + lo);
        hex += 2;
    }
    return n == POSTIE_SHA256_DIGEST_LEN ? POSTIE_OK : POSTIE_ERR_DECODE;
}

static void hex_colon(const unsigned char *d, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        *out++ = digits[d[i] >> 4];
        *out++ = digits[d[i] & 15];
    }
    *out = '\0';
}

/* ---- life cycle --------------------------------------------------------- */

static void free_openssl(postie_openssl *t)
{
    if (t->ssl != NULL) {
        SSL_free(t->ssl); /* frees the BIO too */
        t->ssl = NULL;
    }
    if (t->ssl_ctx != NULL) {
        SSL_CTX_free(t->ssl_ctx);
        t->ssl_ctx = NULL;
    }
    if (t->bio_method != NULL) {
        BIO_meth_free(t->bio_method);
        t->bio_method = NULL;
    }
}

static postie_status init(postie_openssl *t, int fd, const postie_openssl_options *opts);

postie_status postie_openssl_init(postie_openssl *t, int fd, const postie_openssl_options *opts)
{
    postie_status st = init(t, fd, opts);
    if (st != POSTIE_OK && t != NULL) {
        t->error_stage = STAGE_SETUP;
    }
    return st;
}

static postie_status init(postie_openssl *t, int fd, const postie_openssl_options *opts)
{
    SSL_CTX *ctx;
    BIO *bio;
    int flags;
    int verify;

    if (t == NULL) {
        return POSTIE_ERR_PARAM;
    }
    memset(t, 0, sizeof *t);
    t->fd = -1;
    if (opts != NULL) {
        t->opts = *opts;
    } else {
        postie_openssl_options_init(&t->opts);
    }
    if (fd < 0) {
        set_text(t, "invalid socket");
        return POSTIE_ERR_PARAM;
    }
    if ((t->opts.client_cert_file == NULL) != (t->opts.client_key_file == NULL)) {
        set_text(t, "client certificate and key must be given together");
        return POSTIE_ERR_PARAM;
    }
    if (t->opts.pin_kind != POSTIE_OPENSSL_PIN_NONE && t->opts.pin_kind != POSTIE_OPENSSL_PIN_CERT &&
        t->opts.pin_kind != POSTIE_OPENSSL_PIN_SPKI) {
        set_text(t, "unknown pin kind");
        return POSTIE_ERR_PARAM;
    }
    if (t->opts.pin_replaces_chain && t->opts.pin_kind == POSTIE_OPENSSL_PIN_NONE) {
        set_text(t, "pin_replaces_chain set without a pin");
        return POSTIE_ERR_PARAM;
    }
    verify = !t->opts.insecure_skip_verify && !t->opts.pin_replaces_chain;

    ERR_clear_error();
    ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        set_text_openssl(t, "SSL_CTX_new failed");
        return POSTIE_ERR_TLS;
    }
    t->ssl_ctx = ctx;
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        set_text_openssl(t, "cannot set TLS 1.2 as minimum");
        goto fail;
    }
    /* Partial writes: send() returns what went out, as the transport contract
     * allows, instead of holding the caller until a whole large buffer is
     * written; a moving buffer: a retry after a timeout may come from a
     * different address. */
    SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY | SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (t->opts.ca_file != NULL || t->opts.ca_path != NULL) {
        if (SSL_CTX_load_verify_locations(ctx, t->opts.ca_file, t->opts.ca_path) != 1) {
            set_text_openssl(t, "cannot load CA file/folder");
            goto fail;
        }
    } else if (verify && SSL_CTX_set_default_verify_paths(ctx) != 1) {
        set_text_openssl(t, "cannot load the system trust store");
        goto fail;
    }
    if (t->opts.client_cert_file != NULL) {
        if (SSL_CTX_use_certificate_chain_file(ctx, t->opts.client_cert_file) != 1) {
            set_text_openssl(t, "cannot load client certificate");
            goto fail;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, t->opts.client_key_file, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1) {
            set_text_openssl(t, "cannot load client key (or it does not match the certificate)");
            goto fail;
        }
    }
    /* Always VERIFY_PEER: the callback checks the pin during the handshake
     * (before our Finished and any client certificate go out) and, when
     * verification is off, overrides chain and name errors. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);

    (void)pthread_once(&bio_type_once, bio_type_init);
    t->bio_method = BIO_meth_new(bio_type, "postie socket");
    if (t->bio_method == NULL || BIO_meth_set_write(t->bio_method, bio_write) != 1 ||
        BIO_meth_set_read(t->bio_method, bio_read) != 1 ||
        BIO_meth_set_puts(t->bio_method, bio_puts) != 1 ||
        BIO_meth_set_ctrl(t->bio_method, bio_ctrl) != 1 ||
        BIO_meth_set_create(t->bio_method, bio_create) != 1) {
        set_text_openssl(t, "cannot create the socket BIO");
        goto fail;
    }
    t->ssl = SSL_new(ctx);
    if (t->ssl == NULL) {
        set_text_openssl(t, "SSL_new failed");
        goto fail;
    }
    bio = BIO_new(t->bio_method);
    if (bio == NULL) {
        set_text_openssl(t, "BIO_new failed");
        goto fail;
    }
    BIO_set_data(bio, t);
    SSL_set_bio(t->ssl, bio, bio); /* one reference, owned by ssl */
    SSL_set_app_data(t->ssl, t);

#ifdef SO_NOSIGPIPE
    {
        int one = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
    }
#endif
    flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        t->last_errno = errno;
        set_text(t, "fcntl: %s", strerror(errno));
        free_openssl(t);
        return POSTIE_ERR_IO;
    }
    t->fd = fd;
    t->error_text[0] = '\0';
    return POSTIE_OK;

fail:
    free_openssl(t);
    return POSTIE_ERR_TLS;
}

void postie_openssl_close(postie_openssl *t)
{
    int owns_fd;

    if (t == NULL) {
        return;
    }
    owns_fd = t->ssl != NULL; /* set by a successful init, until close */
    if (t->ssl != NULL && t->active && t->fd >= 0) {
        ERR_clear_error();
        (void)SSL_shutdown(t->ssl); /* queue and try to send close_notify; no wait */
        ERR_clear_error();
    }
    free_openssl(t);
    if (owns_fd && t->fd >= 0) {
        close(t->fd);
        t->fd = -1;
    }
    t->active = 0;
}

/* ---- verification ------------------------------------------------------- */

/* " (not valid after 2026-12-04 10:00 UTC)" for cert's notAfter (or
 * notBefore) date, or "" when it cannot be read. */
static void cert_date(X509 *cert, int not_after, char *out, size_t cap)
{
    const ASN1_TIME *at;
    struct tm tm;

    out[0] = '\0';
    if (cert == NULL) {
        return;
    }
    at = not_after ? X509_get0_notAfter(cert) : X509_get0_notBefore(cert);
    memset(&tm, 0, sizeof tm);
    if (at != NULL && ASN1_TIME_to_tm(at, &tm) == 1) {
        char date[40];
        if (strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", &tm) > 0) {
            snprintf(out, cap, " (not valid %s %s)", not_after ? "after" : "before", date);
        }
    }
}

/* The error text and reason for a failed chain or name check: each reason
 * said once, in our words; OpenSSL's own text only where ours has none. */
static void describe_verify_error(postie_openssl *t, long code, const char *name)
{
    char date[POSTIE_OPENSSL_ERROR_TEXT_MAX];

    /* verify_cb left the date of an expired / not yet valid certificate */
    memcpy(date, t->error_text, sizeof date);
    date[sizeof date - 1] = '\0';

    switch (code) {
    case X509_V_ERR_HOSTNAME_MISMATCH:
        t->verify_reason = POSTIE_OPENSSL_VERIFY_NAME_MISMATCH;
        set_text(t, "host name mismatch: the certificate is not valid for host name '%s'", name);
        break;
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        t->verify_reason = POSTIE_OPENSSL_VERIFY_NAME_MISMATCH;
        set_text(t, "host name mismatch: the certificate is not valid for IP address '%s'", name);
        break;
    case X509_V_ERR_CERT_HAS_EXPIRED:
        t->verify_reason = POSTIE_OPENSSL_VERIFY_EXPIRED;
        set_text(t, "certificate has expired%s", date);
        break;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        t->verify_reason = POSTIE_OPENSSL_VERIFY_NOT_YET_VALID;
        set_text(t, "certificate is not yet valid%s", date);
        break;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        t->verify_reason = POSTIE_OPENSSL_VERIFY_SELF_SIGNED;
        set_text(t, "self-signed certificate, not trusted");
        break;
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        t->verify_reason = POSTIE_OPENSSL_VERIFY_UNKNOWN_CA;
        set_text(t, "unknown CA: the certificate's issuer is not in the trust store");
        break;
    default:
        t->verify_reason = POSTIE_OPENSSL_VERIFY_OTHER;
        set_text(t, "certificate verification failed: %s", X509_verify_cert_error_string(code));
        break;
    }
}

static postie_status pin_of(SSL *ssl, postie_openssl_pin_kind kind,
                            unsigned char out[POSTIE_SHA256_DIGEST_LEN])
{
    X509 *cert;
    unsigned char *der = NULL;
    int len;

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    cert = SSL_get1_peer_certificate(ssl);
#else
    cert = SSL_get_peer_certificate(ssl);
#endif
    if (cert == NULL) {
        return POSTIE_ERR_TLS;
    }
    if (kind == POSTIE_OPENSSL_PIN_CERT) {
        len = i2d_X509(cert, &der);
    } else {
        len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
    }
    X509_free(cert);
    if (len <= 0 || der == NULL) {
        return POSTIE_ERR_TLS;
    }
    postie_sha256(der, (size_t)len, out);
    OPENSSL_free(der);
    return POSTIE_OK;
}

postie_status postie_openssl_peer_pin(const postie_openssl *t, postie_openssl_pin_kind kind,
                                  unsigned char out[POSTIE_SHA256_DIGEST_LEN])
{
    if (t == NULL || out == NULL ||
        (kind != POSTIE_OPENSSL_PIN_CERT && kind != POSTIE_OPENSSL_PIN_SPKI)) {
        return POSTIE_ERR_PARAM;
    }
    if (!t->active || t->ssl == NULL) {
        return POSTIE_ERR_STATE;
    }
    return pin_of(t->ssl, kind, out);
}

/* Called by OpenSSL for each certificate of the chain (depth 0 = the
 * server's) and for the name check. */
static int verify_cb(int preverify_ok, X509_STORE_CTX *store)
{
    SSL *ssl = (SSL *)X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    postie_openssl *t = ssl != NULL ? (postie_openssl *)SSL_get_app_data(ssl) : NULL;
    int verify;

    if (t == NULL) {
        return 0;
    }
    verify = !t->opts.insecure_skip_verify && !t->opts.pin_replaces_chain;
    if (verify && !preverify_ok) {
        int e = X509_STORE_CTX_get_error(store);
        if (e == X509_V_ERR_CERT_HAS_EXPIRED || e == X509_V_ERR_CERT_NOT_YET_VALID) {
            /* the certificate's date, for describe_verify_error() (the
             * session keeps no peer certificate after a refusal) */
            cert_date(X509_STORE_CTX_get_current_cert(store), e == X509_V_ERR_CERT_HAS_EXPIRED,
                      t->error_text, sizeof t->error_text);
        }
        return 0; /* chain, expiry or name error: reported from the verify result */
    }
    if (t->opts.pin_kind != POSTIE_OPENSSL_PIN_NONE && X509_STORE_CTX_get_error_depth(store) == 0) {
        X509 *cert = X509_STORE_CTX_get_current_cert(store);
        unsigned char got[POSTIE_SHA256_DIGEST_LEN];
        unsigned char *der = NULL;
        int len = -1;

        if (cert != NULL) {
            len = t->opts.pin_kind == POSTIE_OPENSSL_PIN_CERT
                      ? i2d_X509(cert, &der)
                      : i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
        }
        if (len <= 0 || der == NULL) {
            t->pin_failed = 1;
            t->verify_reason = POSTIE_OPENSSL_VERIFY_PIN_MISMATCH;
            set_text(t, "pin mismatch: cannot encode the server certificate");
            X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
            return 0;
        }
        postie_sha256(der, (size_t)len, got);
        OPENSSL_free(der);
        if (!postie_ct_equal(got, t->opts.pin_sha256, sizeof got)) {
            char hex[2 * POSTIE_SHA256_DIGEST_LEN + 1];
            hex_colon(got, sizeof got, hex);
            t->pin_failed = 1;
            t->verify_reason = POSTIE_OPENSSL_VERIFY_PIN_MISMATCH;
            set_text(t, "pin mismatch: the server's %s has SHA-256 %s",
                     t->opts.pin_kind == POSTIE_OPENSSL_PIN_CERT ? "certificate" : "public key", hex);
            X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
            return 0;
        }
    }
    return 1; /* verified, or verification off (insecure / pin_replaces_chain) */
}

/* ---- handshake ---------------------------------------------------------- */

static postie_status handshake(postie_openssl *t, const char *server_name);

/* OpenSSL 3 reports a TCP close in the middle of a record as an error. */
static int is_eof_error(unsigned long e)
{
#ifdef SSL_R_UNEXPECTED_EOF_WHILE_READING
    return e != 0 && ERR_GET_LIB(e) == ERR_LIB_SSL &&
           ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
#else
    (void)e;
    return 0;
#endif
}

postie_status postie_openssl_start(postie_openssl *t, const char *server_name)
{
    postie_status st;

    if (t == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (t->failed) {
        set_text(t, "an earlier TLS failure made the connection unusable");
        t->error_stage = STAGE_HANDSHAKE;
        return POSTIE_ERR_STATE;
    }
    t->verify_reason = POSTIE_OPENSSL_VERIFY_NONE;
    st = handshake(t, server_name);
    t->error_stage = st != POSTIE_OK ? STAGE_HANDSHAKE : STAGE_IO;
    if (st != POSTIE_OK && st != POSTIE_ERR_STATE && st != POSTIE_ERR_PARAM) {
        t->failed = 1; /* never fall back to plain text */
    }
    return st;
}

static postie_status handshake(postie_openssl *t, const char *server_name)
{
    char name[256];
    struct timespec deadline;
    unsigned timeout;
    int verify, ip = 0;
    size_t n;
    char peek;
    ssize_t r;

    t->error_text[0] = '\0';
    if (t->ssl == NULL || t->fd < 0 || t->active) {
        set_text(t, t->active ? "TLS is already active" : "connection is closed");
        return POSTIE_ERR_STATE;
    }
    verify = !t->opts.insecure_skip_verify && !t->opts.pin_replaces_chain;
    name[0] = '\0';
    if (server_name != NULL) {
        n = strlen(server_name);
        if (n >= 2 && server_name[0] == '[' && server_name[n - 1] == ']') {
            server_name++; /* [IPv6] */
            n -= 2;
        }
        if (n >= sizeof name) {
            set_text(t, "server name too long");
            return POSTIE_ERR_PARAM;
        }
        memcpy(name, server_name, n);
        name[n] = '\0';
        ip = n > 0 && is_ip_literal(name);
    }
    if (verify && name[0] == '\0') {
        set_text(t, "a server name is needed to verify the certificate");
        return POSTIE_ERR_PARAM;
    }

    /* A TLS server speaks only after our ClientHello: anything already
     * waiting was sent in the clear after the go-ahead (injection). */
    r = recv(t->fd, &peek, 1, MSG_PEEK);
    if (r > 0) {
        set_text(t, "the server sent unencrypted data before the TLS handshake "
                    "(possible command injection, or not a TLS port)");
        return POSTIE_ERR_PROTOCOL;
    }
    if (r == 0) {
        t->peer_closed = 1;
        set_text(t, "connection closed before the TLS handshake");
        return POSTIE_ERR_CLOSED;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        t->last_errno = errno;
        set_text(t, "recv: %s", strerror(errno));
        return POSTIE_ERR_IO;
    }

    ERR_clear_error();
    if (name[0] != '\0' && !ip && SSL_set_tlsext_host_name(t->ssl, name) != 1) {
        set_text_openssl(t, "cannot set SNI");
        return POSTIE_ERR_TLS;
    }
    if (verify) {
        if (ip) {
            if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), name) != 1) {
                set_text_openssl(t, "cannot set the IP address to verify");
                return POSTIE_ERR_TLS;
            }
        } else {
            SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            if (SSL_set1_host(t->ssl, name) != 1) {
                set_text_openssl(t, "cannot set the host name to verify");
                return POSTIE_ERR_TLS;
            }
        }
    }

    timeout = t->opts.handshake_timeout_ms != 0 ? t->opts.handshake_timeout_ms
                                                : POSTIE_DEFAULT_TIMEOUT_MS;
    postie_posix_deadline_after(&deadline, timeout);
    for (;;) {
        int rc, err;
        postie_status st;

        ERR_clear_error();
        rc = SSL_connect(t->ssl);
        if (rc == 1) {
            break;
        }
        err = SSL_get_error(t->ssl, rc);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
            st = wait_fd(t, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, &deadline);
            if (st != POSTIE_OK) {
                if (st == POSTIE_ERR_TIMEOUT) {
                    set_text(t, "TLS handshake timed out after %u ms", timeout);
                }
                return st;
            }
            continue;
        }
        if (t->pin_failed) {
            ERR_clear_error(); /* text set by verify_cb */
            return POSTIE_ERR_TLS_VERIFY;
        }
        if (verify && SSL_get_verify_result(t->ssl) != X509_V_OK) {
            describe_verify_error(t, SSL_get_verify_result(t->ssl), name);
            ERR_clear_error();
            return POSTIE_ERR_TLS_VERIFY;
        }
        if (err == SSL_ERROR_SSL && !is_eof_error(ERR_peek_error())) {
            set_text_openssl(t, "TLS handshake failed"); /* alert, bad record, ... */
            return POSTIE_ERR_TLS;
        }
        if (t->peer_closed || err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SSL ||
            t->last_errno == ECONNRESET || t->last_errno == EPIPE) {
            set_text_openssl(t, "the server closed the connection during the TLS handshake");
            return POSTIE_ERR_CLOSED;
        }
        set_text_openssl(t, "TLS handshake failed");
        return POSTIE_ERR_IO;
    }

    if (t->opts.pin_kind != POSTIE_OPENSSL_PIN_NONE) {
        unsigned char got[POSTIE_SHA256_DIGEST_LEN];
        if (pin_of(t->ssl, t->opts.pin_kind, got) != POSTIE_OK) {
            t->verify_reason = POSTIE_OPENSSL_VERIFY_PIN_MISMATCH;
            set_text(t, "pin mismatch: cannot read the server certificate");
            return POSTIE_ERR_TLS_VERIFY;
        }
        if (!postie_ct_equal(got, t->opts.pin_sha256, sizeof got)) {
            char hex[2 * POSTIE_SHA256_DIGEST_LEN + 1];
            hex_colon(got, sizeof got, hex);
            t->verify_reason = POSTIE_OPENSSL_VERIFY_PIN_MISMATCH;
            set_text(t, "pin mismatch: the server's %s has SHA-256 %s",
                     t->opts.pin_kind == POSTIE_OPENSSL_PIN_CERT ? "certificate" : "public key", hex);
            return POSTIE_ERR_TLS_VERIFY;
        }
    }
    t->active = 1;
    return POSTIE_OK;
}

/* ---- I/O ---------------------------------------------------------------- */

static long plain_send(postie_openssl *t, const void *buf, size_t len,
                       const struct timespec *deadline)
{
    for (;;) {
        ssize_t n = send(t->fd, buf, len, MSG_NOSIGNAL);
        postie_status st;
        if (n > 0) {
            return (long)n;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            t->last_errno = errno;
            set_text(t, "send: %s", strerror(errno));
            return (errno == EPIPE || errno == ECONNRESET) ? POSTIE_ERR_CLOSED : POSTIE_ERR_IO;
        }
        st = wait_fd(t, POLLOUT, deadline);
        if (st != POSTIE_OK) {
            return st;
        }
    }
}

static long plain_recv(postie_openssl *t, void *buf, size_t len,
                       const struct timespec *deadline)
{
    for (;;) {
        ssize_t n = recv(t->fd, buf, len, 0);
        postie_status st;
        if (n >= 0) {
            if (n == 0) {
                t->peer_closed = 1;
            }
            return (long)n;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            t->last_errno = errno;
            set_text(t, "recv: %s", strerror(errno));
            return errno == ECONNRESET ? 0 : POSTIE_ERR_IO;
        }
        st = wait_fd(t, POLLIN, deadline);
        if (st != POSTIE_OK) {
            return st;
        }
    }
}

long postie_openssl_send(postie_openssl *t, const void *buf, size_t len, unsigned timeout_ms)
{
    struct timespec deadline;

    if (t == NULL || (buf == NULL && len > 0)) {
        return POSTIE_ERR_PARAM;
    }
    if (t->fd < 0 || t->ssl == NULL || t->failed) {
        return POSTIE_ERR_STATE;
    }
    if (len == 0) {
        return POSTIE_ERR_PARAM;
    }
    if (len > (size_t)LONG_MAX) {
        len = (size_t)LONG_MAX;
    }
    t->error_text[0] = '\0';
    t->error_stage = STAGE_IO;
    postie_posix_deadline_after(&deadline, timeout_ms);
    if (!t->active) {
        return plain_send(t, buf, len, &deadline);
    }
    for (;;) {
        size_t written = 0;
        int rc, err;
        postie_status st;

        ERR_clear_error();
        rc = SSL_write_ex(t->ssl, buf, len, &written);
        if (rc == 1) {
            return (long)written;
        }
        err = SSL_get_error(t->ssl, rc);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
            st = wait_fd(t, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, &deadline);
            if (st != POSTIE_OK) {
                return st;
            }
            continue;
        }
        if (err == SSL_ERROR_ZERO_RETURN || t->peer_closed || t->last_errno == EPIPE ||
            t->last_errno == ECONNRESET) {
            set_text_openssl(t, "TLS write failed: connection closed");
            return POSTIE_ERR_CLOSED;
        }
        set_text_openssl(t, "TLS write failed");
        return err == SSL_ERROR_SYSCALL ? POSTIE_ERR_IO : POSTIE_ERR_TLS;
    }
}

long postie_openssl_recv(postie_openssl *t, void *buf, size_t len, unsigned timeout_ms)
{
    struct timespec deadline;

    if (t == NULL || buf == NULL || len == 0) {
        return POSTIE_ERR_PARAM;
    }
    if (t->fd < 0 || t->ssl == NULL || t->failed) {
        return POSTIE_ERR_STATE;
    }
    if (len > (size_t)LONG_MAX) {
        len = (size_t)LONG_MAX;
    }
    t->error_text[0] = '\0';
    t->error_stage = STAGE_IO;
    postie_posix_deadline_after(&deadline, timeout_ms);
    if (!t->active) {
        return plain_recv(t, buf, len, &deadline);
    }
    for (;;) {
        size_t got = 0;
        int rc, err;
        postie_status st;

        ERR_clear_error();
        rc = SSL_read_ex(t->ssl, buf, len, &got);
        if (rc == 1) {
            return (long)got;
        }
        err = SSL_get_error(t->ssl, rc);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
            st = wait_fd(t, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, &deadline);
            if (st != POSTIE_OK) {
                return st;
            }
            continue;
        }
        if (err == SSL_ERROR_ZERO_RETURN) {
            return 0; /* close_notify */
        }
        if (t->peer_closed || t->last_errno == ECONNRESET) {
            /* TCP closed without close_notify: reported as a close; the
             * POP3/SMTP framing notices a reply cut short. */
            ERR_clear_error();
            return 0;
        }
        set_text_openssl(t, "TLS read failed");
        return err == SSL_ERROR_SYSCALL ? POSTIE_ERR_IO : POSTIE_ERR_TLS;
    }
}

const char *postie_openssl_error_text(const postie_openssl *t)
{
    return t != NULL ? t->error_text : "";
}

const char *postie_openssl_error_where(const postie_openssl *t)
{
    if (t == NULL || t->error_text[0] == '\0') {
        return "";
    }
    switch (t->error_stage) {
    case STAGE_SETUP:
        return "TLS set-up";
    case STAGE_HANDSHAKE:
        return "TLS handshake";
    default:
        return "TLS connection";
    }
}

postie_openssl_verify_reason postie_openssl_refusal_reason(const postie_openssl *t)
{
    return t != NULL ? (postie_openssl_verify_reason)t->verify_reason : POSTIE_OPENSSL_VERIFY_NONE;
}

/* ---- transport glue ----------------------------------------------------- */

static long tr_send(void *ctx, const void *buf, size_t len, unsigned timeout_ms)
{
    return postie_openssl_send((postie_openssl *)ctx, buf, len, timeout_ms);
}

static long tr_recv(void *ctx, void *buf, size_t len, unsigned timeout_ms)
{
    return postie_openssl_recv((postie_openssl *)ctx, buf, len, timeout_ms);
}

static postie_status tr_start_tls(void *ctx, const char *server_name)
{
    return postie_openssl_start((postie_openssl *)ctx, server_name);
}

static void tr_close(void *ctx)
{
    postie_openssl_close((postie_openssl *)ctx);
}

void postie_openssl_transport(postie_openssl *t, postie_transport *tr)
{
    if (tr == NULL) {
        return;
    }
    tr->ctx = t;
    tr->send = tr_send;
    tr->recv = tr_recv;
    tr->start_tls = tr_start_tls;
    tr->close = tr_close;
}
