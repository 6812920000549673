/*
 * mbed TLS transport (ports/mbedtls) against an OpenSSL server thread over a
 * socketpair, as test_faults.c and test_tls_openssl.c do: the certificates
 * are made at test time by tests/tls/gen-certs.sh into the build folder
 * (POSTIE_TLS_CERT_DIR); none are committed.
 *
 * The transport runs over an inner postie_transport that is not a socket of
 * its own: a wrapper (`inner`) around postie_tcp on the client's end of the
 * socketpair that counts the calls and can hand out received bytes in small
 * pieces, the way a firmware's TCP transport would. The CA bundle is given
 * in memory (PEM with or without its NUL, DER, several DER back to back).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "postie/mbedtls_tls.h"
#include "postie/posix_clock.h"
#include "postie/posix_tcp.h"
#include "tls_peer.h"

#ifndef POSTIE_TLS_CERT_DIR
#error "POSTIE_TLS_CERT_DIR must be defined by the build"
#endif
#ifndef POSTIE_TLS_GEN_CERTS
#error "POSTIE_TLS_GEN_CERTS must be defined by the build"
#endif

#define CERT(name) POSTIE_TLS_CERT_DIR "/" name
#define IO_TIMEOUT 5000u

/* ---- the server thread (tls_peer.c serves the connection) ---------------- */

typedef struct server {
    tls_peer p;
    int fd;
    pthread_t thread;
} server;

static void *server_main(void *arg)
{
    server *s = (server *)arg;
    tls_peer_serve(&s->p, s->fd);
    return NULL;
}

/* ---- the inner transport: postie_tcp on a socketpair, wrapped ------------- */

typedef struct inner {
    postie_tcp tcp;
    postie_transport tcp_tr;
    size_t max_chunk; /* hand out at most this many bytes per recv; 0: no limit */
    int would_block;  /* the next send or recv answers POSTIE_ERR_WOULD_BLOCK */
    int nb;           /* recv never waits (timeout 0), as an event loop's stream */
    int sends, recvs, closes;
} inner;

static long inner_send(void *ctx, const void *buf, size_t len, unsigned timeout_ms)
{
    inner *in = ctx;
    in->sends++;
    if (in->would_block) {
        in->would_block = 0;
        return POSTIE_ERR_WOULD_BLOCK;
    }
    return in->tcp_tr.send(in->tcp_tr.ctx, buf, len, timeout_ms);
}

static long inner_recv(void *ctx, void *buf, size_t len, unsigned timeout_ms)
{
    inner *in = ctx;
    in->recvs++;
    if (in->would_block) {
        in->would_block = 0;
        return POSTIE_ERR_WOULD_BLOCK;
    }
    if (in->max_chunk != 0 && len > in->max_chunk) {
        len = in->max_chunk;
    }
    return in->tcp_tr.recv(in->tcp_tr.ctx, buf, len, in->nb ? 0 : timeout_ms);
}

static void inner_close(void *ctx)
{
    inner *in = ctx;
    in->closes++;
    postie_tcp_close(&in->tcp);
}

/* Starts the server thread on one end of a socketpair; fills in and tr
 * with the client's end. */
static void start(server *s, enum tls_peer_mode mode, const char *cert, const char *key, inner *in,
                  postie_transport *tr)
{
    int sv[2];
    s->p.mode = mode;
    s->p.cert = cert;
    s->p.key = key;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    /* postie_tcp waits with poll() on a non-blocking socket */
    assert_int_equal(fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK), 0);
    s->fd = sv[1];
    assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
    memset(in, 0, sizeof *in);
    in->tcp.fd = sv[0];
    postie_tcp_transport(&in->tcp, &in->tcp_tr);
    tr->ctx = in;
    tr->send = inner_send;
    tr->recv = inner_recv;
    tr->start_tls = NULL;
    tr->close = inner_close;
}

static void join(server *s)
{
    pthread_join(s->thread, NULL);
}

/* ---- helpers ------------------------------------------------------------- */

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long n;
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

/* DER of a PEM certificate file, appended at out + *len. */
static void der_append(const char *pem, unsigned char *out, size_t cap, size_t *len)
{
    FILE *f = fopen(pem, "r");
    X509 *x;
    unsigned char *der = NULL;
    int n;
    assert_non_null(f);
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    n = i2d_X509(x, &der);
    assert_true(n > 0 && *len + (size_t)n <= cap);
    memcpy(out + *len, der, (size_t)n);
    *len += (size_t)n;
    OPENSSL_free(der);
    X509_free(x);
}

/* The CA bundle each test uses; kept alive for the test program. */
static unsigned char *ca_pem, *other_ca_pem;
static size_t ca_pem_len, other_ca_pem_len;

static void opts_ca(postie_mbedtls_options *o)
{
    postie_mbedtls_options_init(o);
    o->ca = ca_pem;
    o->ca_len = ca_pem_len; /* without the NUL: the transport copes */
    o->handshake_timeout_ms = IO_TIMEOUT;
}

static postie_status handshake(postie_mbedtls *t, server *s, enum tls_peer_mode mode, const char *cert,
                               const char *key, const char *name,
                               const postie_mbedtls_options *o, inner *in)
{
    postie_transport tr;
    postie_status st;
    start(s, mode, cert, key, in, &tr);
    st = postie_mbedtls_init(t, &tr, o);
    assert_int_equal(st, POSTIE_OK);
    return postie_mbedtls_start(t, name);
}

static void recv_exact(postie_mbedtls *t, const char *expect)
{
    char buf[256];
    size_t n = 0, want = strlen(expect);
    while (n < want) {
        long r = postie_mbedtls_recv(t, buf + n, want - n, IO_TIMEOUT);
        assert_true(r > 0);
        n += (size_t)r;
    }
    buf[n] = '\0';
    assert_string_equal(buf, expect);
}

static void round_trip(postie_mbedtls *t, server *s, inner *in)
{
    postie_transport tr;
    char c;
    postie_mbedtls_transport(t, &tr);
    assert_int_equal(postie_transport_send_all(&tr, "hello\r\n", 7, IO_TIMEOUT), POSTIE_OK);
    recv_exact(t, "echo:hello\r\n");
    assert_int_equal(postie_mbedtls_recv(t, &c, 1, IO_TIMEOUT), 0); /* close_notify */
    tr.close(tr.ctx);
    assert_int_equal(in->closes, 1); /* the inner transport was closed, once */
    postie_mbedtls_close(t);          /* safe twice */
    assert_int_equal(in->closes, 1);
    join(s);
    assert_true(s->p.handshake_ok);
    assert_string_equal(s->p.line, "hello\r\n");
    /* every byte went through the inner transport */
    assert_true(in->sends >= 2 && in->recvs >= 2);
}

static void assert_no_repeat(const char *text)
{
    size_t n = strlen(text), i;
    for (i = 0; i + 12 <= n; i++) {
        char run[13];
        memcpy(run, text + i, 12);
        run[12] = '\0';
        if (strstr(text + i + 1, run) != NULL) {
            fail_msg("error text repeats \"%s\": \"%s\"", run, text);
        }
    }
}

/* The handshake fails verification with `reason` in the text (said once),
 * placed in the handshake, classified as `why`, and the server never
 * completed its handshake (refused before our Finished). */
static void expect_verify_failure(const char *cert, const char *key, const char *name,
                                  const postie_mbedtls_options *o, const char *reason,
                                  postie_mbedtls_verify_reason why)
{
    server s;
    inner in;
    postie_mbedtls t;
    memset(&s, 0, sizeof s);
    assert_int_equal(handshake(&t, &s, MODE_TLS_ECHO, cert, key, name, o, &in),
                     POSTIE_ERR_TLS_VERIFY);
    if (strstr(postie_mbedtls_error_text(&t), reason) == NULL) {
        fail_msg("error text \"%s\" does not mention \"%s\"", postie_mbedtls_error_text(&t), reason);
    }
    assert_no_repeat(postie_mbedtls_error_text(&t));
    assert_string_equal(postie_mbedtls_error_where(&t), "TLS handshake");
    assert_int_equal(postie_mbedtls_refusal_reason(&t), why);
    /* no plain-text fallback after a failure */
    assert_int_equal(postie_mbedtls_send(&t, "x", 1, 100), POSTIE_ERR_STATE);
    assert_int_equal(postie_mbedtls_start(&t, name), POSTIE_ERR_STATE);
    assert_int_equal(postie_mbedtls_refusal_reason(&t), why);
    postie_mbedtls_close(&t);
    join(&s);
    assert_false(s.p.handshake_ok);
}

static void openssl_pin(const char *file, postie_mbedtls_pin_kind kind, unsigned char out[32])
{
    FILE *f = fopen(file, "r");
    X509 *x;
    unsigned char *der = NULL;
    int len;
    unsigned int mdlen = 0;

    assert_non_null(f);
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    len = kind == POSTIE_MBEDTLS_PIN_CERT ? i2d_X509(x, &der)
                                          : i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
    assert_true(len > 0);
    assert_int_equal(EVP_Digest(der, (size_t)len, out, &mdlen, EVP_sha256(), NULL), 1);
    OPENSSL_free(der);
    X509_free(x);
}

static long long ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_verified_round_trip(void **state)
{
    static const char *names[] = {"localhost", "127.0.0.1", "::1", "[::1]"};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        server s;
        inner in;
        postie_mbedtls t;
        postie_mbedtls_options o;
        memset(&s, 0, sizeof s);
        opts_ca(&o);
        assert_int_equal(handshake(&t, &s, MODE_TLS_ECHO, CERT("server.pem"), CERT("server.key"),
                                   names[i], &o, &in),
                         POSTIE_OK);
        assert_string_equal(postie_mbedtls_error_text(&t), "");
        assert_string_equal(postie_mbedtls_error_where(&t), "");
        assert_int_equal(postie_mbedtls_refusal_reason(&t), POSTIE_MBEDTLS_VERIFY_NONE);
        round_trip(&t, &s, &in);
    }
}

/* The inner transport hands out one byte (then 7) per recv: mbed TLS
 * assembles its records from the pieces. */
static void test_inner_transport_in_pieces(void **state)
{
    size_t chunks[] = {1, 7};
    size_t i;
    (void)state;
    for (i = 0; i < 2; i++) {
        server s;
        inner in;
        postie_transport tr;
        postie_mbedtls t;
        postie_mbedtls_options o;
        memset(&s, 0, sizeof s);
        opts_ca(&o);
        start(&s, MODE_TLS_ECHO, CERT("server.pem"), CERT("server.key"), &in, &tr);
        in.max_chunk = chunks[i];
        assert_int_equal(postie_mbedtls_init(&t, &tr, &o), POSTIE_OK);
        assert_int_equal(postie_mbedtls_start(&t, "localhost"), POSTIE_OK);
        round_trip(&t, &s, &in);
        assert_true(in.recvs > 300 / (int)chunks[i]); /* a handshake is many pieces */
    }
}

static void test_ca_formats(void **state)
{
    unsigned char der[8192];
    size_t der_len = 0;
    int form;
    (void)state;
    for (form = 0; form < 4; form++) {
        server s;
        inner in;
        postie_mbedtls t;
        postie_mbedtls_options o;
        opts_ca(&o);
        der_len = 0;
        switch (form) {
        case 0: /* PEM with its NUL counted, as mbed TLS itself wants it */
            o.ca_len = ca_pem_len + 1;
            break;
        case 1: /* one DER certificate */
            der_append(CERT("ca.pem"), der, sizeof der, &der_len);
            o.ca = der;
            o.ca_len = der_len;
            break;
        case 2: /* two DER certificates back to back, ours second */
            der_append(CERT("other-ca.pem"), der, sizeof der, &der_len);
            der_append(CERT("ca.pem"), der, sizeof der, &der_len);
            o.ca = der;
            o.ca_len = der_len;
            break;
        default: { /* PEM bundle: another CA, then ours */
            static unsigned char both[16384];
            memcpy(both, other_ca_pem, other_ca_pem_len);
            memcpy(both + other_ca_pem_len, ca_pem, ca_pem_len);
            o.ca = both;
            o.ca_len = other_ca_pem_len + ca_pem_len;
            break;
        }
        }
        memset(&s, 0, sizeof s);
        assert_int_equal(handshake(&t, &s, MODE_TLS_ECHO, CERT("server.pem"), CERT("server.key"),
                                   "localhost", &o, &in),
                         POSTIE_OK);
        round_trip(&t, &s, &in);
    }
    /* a chain parsed once by the application, shared */
    {
        server s;
        inner in;
        postie_mbedtls t;
        postie_mbedtls_options o;
        mbedtls_x509_crt chain;
        mbedtls_x509_crt_init(&chain);
        assert_int_equal(mbedtls_x509_crt_parse(&chain, ca_pem, ca_pem_len + 1), 0);
        postie_mbedtls_options_init(&o);
        o.ca_chain = &chain;
        o.handshake_timeout_ms = IO_TIMEOUT;
        memset(&s, 0, sizeof s);
        assert_int_equal(handshake(&t, &s, MODE_TLS_ECHO, CERT("server.pem"), CERT("server.key"),
                                   "localhost", &o, &in),
                         POSTIE_OK);
        round_trip(&t, &s, &in);
        mbedtls_x509_crt_free(&chain);
    }
}

static void test_wrong_host_name(void **state)
{
    postie_mbedtls_options o;
    (void)state;
    opts_ca(&o);
    expect_verify_failure(CERT("wrong.pem"), CERT("wrong.key"), "localhost", &o,
                          "host name mismatch: the certificate is not valid for host name 'localhost'",
                          POSTIE_MBEDTLS_VERIFY_NAME_MISMATCH);
    expect_verify_failure(CERT("server.pem"), CERT("server.key"), "mail.example.org", &o,
                          "'mail.example.org'", POSTIE_MBEDTLS_VERIFY_NAME_MISMATCH);
    expect_verify_failure(CERT("server.pem"), CERT("server.key"), "127.0.0.2", &o,
                          "not valid for IP address '127.0.0.2'", POSTIE_MBEDTLS_VERIFY_NAME_MISMATCH);
    expect_verify_failure(CERT("server.pem"), CERT("server.key"), "::2", &o,
                          "not valid for IP address '::2'", POSTIE_MBEDTLS_VERIFY_NAME_MISMATCH);
    /* a name that only looks like the IP address is a name */
    expect_verify_failure(CERT("server.pem"), CERT("server.key"), "127.0.0.01", &o,
                          "host name '127.0.0.01'", POSTIE_MBEDTLS_VERIFY_NAME_MISMATCH);
}

static void test_expired(void **state)
{
    postie_mbedtls_options o;
    (void)state;
    opts_ca(&o);
    expect_verify_failure(CERT("expired.pem"), CERT("expired.key"), "localhost", &o,
                          "certificate has expired (not valid after 2020-01-02 00:00 UTC)",
                          POSTIE_MBEDTLS_VERIFY_EXPIRED);
}

static void test_unknown_ca(void **state)
{
    postie_mbedtls_options o;
    (void)state;
    opts_ca(&o);
    expect_verify_failure(CERT("self.pem"), CERT("self.key"), "localhost", &o,
                          "self-signed certificate, not trusted", POSTIE_MBEDTLS_VERIFY_SELF_SIGNED);
    o.ca = other_ca_pem;
    o.ca_len = other_ca_pem_len;
    expect_verify_failure(CERT("server.pem"), CERT("server.key"), "localhost", &o,
                          "unknown CA: the certificate's issuer is not in the trust store",
                          POSTIE_MBEDTLS_VERIFY_UNKNOWN_CA);
}

static void test_pin_match(void **state)
{
    int kind;
    (void)state;
    for (kind = POSTIE_MBEDTLS_PIN_CERT; kind <= POSTIE_MBEDTLS_PIN_SPKI; kind++) {
        server s;
        inner in;
        postie_mbedtls t;
        postie_mbedtls_options o;
        unsigned char got[32], other[32];
        memset(&s, 0, sizeof s);
        opts_ca(&o);
        o.pin_kind = (postie_mbedtls_pin_kind)kind;
        openssl_pin(CERT("server.pem"), o.pin_kind, o.pin_sha256);
        assert_int_equal(handshake(&t, &s, MODE_TLS_ECHO, CERT("server.pem"), CERT("server.key"),
                                   "localhost", &o, &in),
                         POSTIE_OK);
        assert_int_equal(postie_mbedtls_peer_pin(&t, o.pin_kind, got), POSTIE_OK);
        assert_memory_equal(got, o.pin_sha256, 32);
        /* the other kind too, as OpenSSL computes it */
        openssl_pin(CERT("server.pem"), kind == POSTIE_MBEDTLS_PIN_CERT ? POSTIE_MBEDTLS_PIN_SPKI
                                                                         : POSTIE_MBEDTLS_PIN_CERT,
                    other);
        assert_int_equal(postie_mbedtls_peer_pin(&t,
                                                 kind == POSTIE_MBEDTLS_PIN_CERT
                                                     ? POSTIE_MBEDTLS_PIN_SPKI
                                                     : POSTIE_MBEDTLS_PIN_CERT,
                                                 got),
                         POSTIE_OK);
        assert_memory_equal(got, other, 32);
        round_trip(&t, &s, &in);
    }
}

static void test_pin_mismatch(void **state)
{
    postie_mbedtls_options o;
    char hex[65];
    unsigned char pin[32];
    size_t i;
    (void)state;
    opts_ca(&o);
    /* chain and name are fine; the pin is another certificate's */
    o.pin_kind = POSTIE_MBEDTLS_PIN_CERT;
    openssl_pin(CERT("wrong.pem"), POSTIE_MBEDTLS_PIN_CERT, o.pin_sha256);
    /* the text names the server's real certificate hash */
    openssl_pin(CERT("server.pem"), POSTIE_MBEDTLS_PIN_CERT, pin);
    for (i = 0; i < 32; i++) {
        snprintf(hex + 2 * i, 3, "%02x", pin[i]);
    }
    {
        char want[128];
        snprintf(want, sizeof want, "pin mismatch: the server's certificate has SHA-256 %s", hex);
        expect_verify_failure(CERT("server.pem"), CERT("server.key"), "localhost", &o, want,
                              POSTIE_MBEDTLS_VERIFY_PIN_MISMATCH);
    }
    o.pin_kind = POSTIE_MBEDTLS_PIN_SPKI;
    openssl_pin(CERT("wrong.pem"), POSTIE_MBEDTLS_PIN_SPKI, o.pin_sha256);
    expect_verify_failure(CERT("server.pem"), CERT("server.key"), "localhost", &o,
                          "pin mismatch: the server's public key has SHA-256",
                          POSTIE_MBEDTLS_VERIFY_PIN_MISMATCH);
    /* a matching pin does not excuse a failed chain by default */
    opts_ca(&o);
    o.pin_kind = POSTIE_MBEDTLS_PIN_CERT;
    openssl_pin(CERT("self.pem"), POSTIE_MBEDTLS_PIN_CERT, o.pin_sha256);
    expect_verify_failure(CERT("self.pem"), CERT("self.key"), "localhost", &o, "self-signed",
                          POSTIE_MBEDTLS_VERIFY_SELF_SIGNED);
}

static void test_pin_replaces_chain(void **state)
{
    server s;
    inner in;
    postie_mbedtls t;
    postie_mbedtls_options o;
    (void)state;
    postie_mbedtls_options_init(&o); /* no CA at all */
    o.handshake_timeout_ms = IO_TIMEOUT;
    o.pin_kind = POSTIE_MBEDTLS_PIN_SPKI;
    o.pin_replaces_chain = 1;
    openssl_pin(CERT("self.pem"), POSTIE_MBEDTLS_PIN_SPKI, o.pin_sha256);
    memset(&s, 0, sizeof s);
    assert_int_equal(handshake(&t, &s, MODE_TLS_ECHO, CERT("self.pem"), CERT("self.key"),
                               "localhost", &o, &in),
                     POSTIE_OK);
    round_trip(&t, &s, &in);
    /* ...but then the pin must match, and is checked inside the handshake */
    o.pin_sha256[0] ^= 1;
    expect_verify_failure(CERT("self.pem"), CERT("self.key"), "localhost", &o, "pin mismatch",
                          POSTIE_MBEDTLS_VERIFY_PIN_MISMATCH);
}

static void test_insecure_accepts_self_signed(void **state)
{
    server s;
    inner in;
    postie_mbedtls t;
    postie_mbedtls_options o;
    (void)state;
    postie_mbedtls_options_init(&o);
    o.handshake_timeout_ms = IO_TIMEOUT;
    o.insecure_skip_verify = 1;
    memset(&s, 0, sizeof s);
    assert_int_equal(handshake(&t, &s, MODE_TLS_ECHO, CERT("self.pem"), CERT("self.key"),
                               "not-the-name.example", &o, &in),
                     POSTIE_OK);
    round_trip(&t, &s, &in);
}

static void test_starttls_upgrade(void **state)
{
    server s;
    inner in;
    postie_transport inner_tr, tr;
    postie_mbedtls t;
    postie_mbedtls_options o;
    (void)state;
    opts_ca(&o);
    memset(&s, 0, sizeof s);
    start(&s, MODE_STLS, CERT("server.pem"), CERT("server.key"), &in, &inner_tr);
    assert_int_equal(postie_mbedtls_init(&t, &inner_tr, &o), POSTIE_OK);
    postie_mbedtls_transport(&t, &tr);
    assert_non_null(tr.start_tls);
    recv_exact(&t, "+OK ready\r\n");
    assert_int_equal(postie_transport_send_all(&tr, "STLS\r\n", 6, IO_TIMEOUT), POSTIE_OK);
    recv_exact(&t, "+OK begin\r\n");
    assert_int_equal(tr.start_tls(tr.ctx, "localhost"), POSTIE_OK);
    assert_int_equal(tr.start_tls(tr.ctx, "localhost"), POSTIE_ERR_STATE);
    round_trip(&t, &s, &in);
}

static void test_starttls_injected_plaintext_refused(void **state)
{
    server s;
    inner in;
    postie_transport inner_tr, tr;
    postie_mbedtls t;
    postie_mbedtls_options o;
    (void)state;
    opts_ca(&o);
    memset(&s, 0, sizeof s);
    s.p.inject = "+OK injected\r\n";
    start(&s, MODE_STLS, CERT("server.pem"), CERT("server.key"), &in, &inner_tr);
    assert_int_equal(postie_mbedtls_init(&t, &inner_tr, &o), POSTIE_OK);
    postie_mbedtls_transport(&t, &tr);
    recv_exact(&t, "+OK ready\r\n");
    assert_int_equal(postie_transport_send_all(&tr, "STLS\r\n", 6, IO_TIMEOUT), POSTIE_OK);
    recv_exact(&t, "+OK begin\r\n");
    /* the injected line was sent with the go-ahead: wait until it is here */
    {
        struct timespec pause = {0, 50 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    assert_int_equal(tr.start_tls(tr.ctx, "localhost"), POSTIE_ERR_PROTOCOL);
    assert_non_null(strstr(postie_mbedtls_error_text(&t), "unencrypted"));
    assert_int_equal(postie_mbedtls_send(&t, "PASS x\r\n", 8, 100), POSTIE_ERR_STATE);
    assert_int_equal(tr.start_tls(tr.ctx, "localhost"), POSTIE_ERR_STATE);
    tr.close(tr.ctx);
    join(&s);
    assert_false(s.p.handshake_ok);
}

/* A silent server: the handshake ends after its bound, with a clock (the
 * whole handshake) and without one (each wait). */
static void test_handshake_timeout(void **state)
{
    int with_clock;
    (void)state;
    for (with_clock = 0; with_clock < 2; with_clock++) {
        server s;
        inner in;
        postie_transport tr;
        postie_mbedtls t;
        postie_mbedtls_options o;
        long long t0, dt;
        opts_ca(&o);
        o.handshake_timeout_ms = 300;
        o.clock = with_clock ? postie_posix_clock_ms : NULL;
        memset(&s, 0, sizeof s);
        start(&s, MODE_SILENT, CERT("server.pem"), CERT("server.key"), &in, &tr);
        in.max_chunk = 1;
        assert_int_equal(postie_mbedtls_init(&t, &tr, &o), POSTIE_OK);
        t0 = ms_now();
        assert_int_equal(postie_mbedtls_start(&t, "localhost"), POSTIE_ERR_TIMEOUT);
        dt = ms_now() - t0;
        assert_true(dt >= 250 && dt < 2000);
        assert_non_null(strstr(postie_mbedtls_error_text(&t), "timed out after 300 ms"));
        assert_string_equal(postie_mbedtls_error_where(&t), "TLS handshake");
        assert_int_equal(postie_mbedtls_recv(&t, (char[1]){0}, 1, 10), POSTIE_ERR_STATE);
        postie_mbedtls_close(&t);
        join(&s);
    }
}

/* postie_mbedtls_start_nb() over a stream that never waits: POSTIE_AGAIN
 * while the server's bytes are on their way, then the same handshake as
 * postie_mbedtls_start(); send, recv and the blocking start are refused
 * meanwhile. */
static postie_status start_nb_loop(postie_mbedtls *t, const char *name, int *rounds)
{
    postie_status st;
    *rounds = 0;
    while ((st = postie_mbedtls_start_nb(t, name)) == POSTIE_AGAIN) {
        (*rounds)++;
        assert_int_equal(postie_mbedtls_send(t, "x", 1, 0), POSTIE_ERR_STATE);
        assert_int_equal(postie_mbedtls_recv(t, (char[1]){0}, 1, 0), POSTIE_ERR_STATE);
        assert_int_equal(postie_mbedtls_start(t, name), POSTIE_ERR_STATE);
        assert_true(*rounds < 20000);
        nanosleep(&(struct timespec){0, 500000}, NULL);
    }
    return st;
}

static void test_start_nb(void **state)
{
    server s;
    inner in;
    postie_transport tr;
    postie_mbedtls t;
    postie_mbedtls_options o;
    int rounds;
    (void)state;
    opts_ca(&o);
    memset(&s, 0, sizeof s);
    start(&s, MODE_TLS_ECHO, CERT("server.pem"), CERT("server.key"), &in, &tr);
    in.nb = 1;
    assert_int_equal(postie_mbedtls_init(&t, &tr, &o), POSTIE_OK);
    assert_int_equal(start_nb_loop(&t, "localhost", &rounds), POSTIE_OK);
    assert_true(rounds > 0); /* it did come back while waiting */
    assert_string_equal(postie_mbedtls_error_text(&t), "");
    assert_int_equal(postie_mbedtls_start_nb(&t, "localhost"), POSTIE_ERR_STATE); /* already TLS */
    in.nb = 0;
    round_trip(&t, &s, &in);
}

static void test_start_nb_refusals(void **state)
{
    server s;
    inner in;
    postie_transport tr;
    postie_mbedtls t;
    postie_mbedtls_options o;
    int rounds;
    long long t0, dt;
    (void)state;

    /* a name the certificate does not carry: the same refusal as start() */
    opts_ca(&o);
    memset(&s, 0, sizeof s);
    start(&s, MODE_TLS_ECHO, CERT("server.pem"), CERT("server.key"), &in, &tr);
    in.nb = 1;
    assert_int_equal(postie_mbedtls_init(&t, &tr, &o), POSTIE_OK);
    assert_int_equal(start_nb_loop(&t, "mail.example.org", &rounds), POSTIE_ERR_TLS_VERIFY);
    assert_non_null(strstr(postie_mbedtls_error_text(&t), "'mail.example.org'"));
    assert_int_equal(postie_mbedtls_refusal_reason(&t), POSTIE_MBEDTLS_VERIFY_NAME_MISMATCH);
    assert_int_equal(postie_mbedtls_start_nb(&t, "localhost"), POSTIE_ERR_STATE);
    assert_int_equal(postie_mbedtls_recv(&t, (char[1]){0}, 1, 0), POSTIE_ERR_STATE);
    postie_mbedtls_close(&t);
    join(&s);

    /* a silent server: the deadline on the clock ends it */
    opts_ca(&o);
    o.handshake_timeout_ms = 300;
    o.clock = postie_posix_clock_ms;
    memset(&s, 0, sizeof s);
    start(&s, MODE_SILENT, CERT("server.pem"), CERT("server.key"), &in, &tr);
    in.nb = 1;
    assert_int_equal(postie_mbedtls_init(&t, &tr, &o), POSTIE_OK);
    t0 = ms_now();
    assert_int_equal(start_nb_loop(&t, "localhost", &rounds), POSTIE_ERR_TIMEOUT);
    dt = ms_now() - t0;
    assert_true(dt >= 250 && dt < 2000);
    assert_true(rounds > 0);
    assert_non_null(strstr(postie_mbedtls_error_text(&t), "timed out after 300 ms"));
    assert_string_equal(postie_mbedtls_error_where(&t), "TLS handshake");
    postie_mbedtls_close(&t);
    join(&s);
}

static void test_recv_timeout(void **state)
{
    server s;
    inner in;
    postie_transport tr;
    postie_mbedtls t;
    postie_mbedtls_options o;
    char c;
    long long t0, dt;
    (void)state;
    opts_ca(&o);
    memset(&s, 0, sizeof s);
    start(&s, MODE_TLS_ECHO, CERT("server.pem"), CERT("server.key"), &in, &tr);
    assert_int_equal(postie_mbedtls_init(&t, &tr, &o), POSTIE_OK);
    assert_int_equal(postie_mbedtls_start(&t, "localhost"), POSTIE_OK);
    /* the server waits for our line: nothing to read */
    t0 = ms_now();
    assert_int_equal(postie_mbedtls_recv(&t, &c, 1, 200), POSTIE_ERR_TIMEOUT);
    dt = ms_now() - t0;
    assert_true(dt >= 150 && dt < 2000);
    /* a non-blocking inner transport's answer is passed on, and the
     * session goes on: the record is sent, the reply read, when called again */
    in.would_block = 1;
    assert_int_equal(postie_mbedtls_recv(&t, &c, 1, 200), POSTIE_ERR_WOULD_BLOCK);
    in.would_block = 1;
    assert_int_equal(postie_mbedtls_send(&t, "hello\r\n", 7, IO_TIMEOUT), POSTIE_ERR_WOULD_BLOCK);
    /* the session is still usable after a timeout */
    round_trip(&t, &s, &in);
}

static void test_server_hangs_up_during_handshake(void **state)
{
    server s;
    inner in;
    postie_transport tr;
    postie_mbedtls t;
    postie_mbedtls_options o;
    (void)state;
    opts_ca(&o);
    memset(&s, 0, sizeof s);
    start(&s, MODE_HANGUP, CERT("server.pem"), CERT("server.key"), &in, &tr);
    assert_int_equal(postie_mbedtls_init(&t, &tr, &o), POSTIE_OK);
    assert_int_equal(postie_mbedtls_start(&t, "localhost"), POSTIE_ERR_CLOSED);
    assert_non_null(strstr(postie_mbedtls_error_text(&t), "closed the connection"));
    postie_mbedtls_close(&t);
    join(&s);
}

static void test_tls11_server_refused(void **state)
{
    server s;
    inner in;
    postie_mbedtls t;
    postie_mbedtls_options o;
    (void)state;
    opts_ca(&o);
    memset(&s, 0, sizeof s);
    s.p.tls11_only = 1;
    assert_int_equal(handshake(&t, &s, MODE_TLS_ECHO, CERT("server.pem"), CERT("server.key"),
                               "localhost", &o, &in),
                     POSTIE_ERR_TLS);
    assert_non_null(strstr(postie_mbedtls_error_text(&t), "protocol version"));
    postie_mbedtls_close(&t);
    join(&s);
    assert_false(s.p.handshake_ok);
}

static void test_bulk_send(void **state)
{
    server s;
    inner in;
    postie_transport tr;
    postie_mbedtls t;
    postie_mbedtls_options o;
    size_t len = 256u * 1024u, i;
    unsigned long sum = 0;
    unsigned char *data = malloc(len);
    char want[64];
    (void)state;
    assert_non_null(data);
    for (i = 0; i < len; i++) {
        data[i] = (unsigned char)(i * 7u + (i >> 9));
    }
    sum = tls_peer_checksum(sum, data, len);
    opts_ca(&o);
    memset(&s, 0, sizeof s);
    s.p.bulk_len = len;
    start(&s, MODE_TLS_BULK, CERT("server.pem"), CERT("server.key"), &in, &tr);
    assert_int_equal(postie_mbedtls_init(&t, &tr, &o), POSTIE_OK);
    assert_int_equal(postie_mbedtls_start(&t, "localhost"), POSTIE_OK);
    postie_mbedtls_transport(&t, &tr);
    assert_int_equal(postie_transport_send_all(&tr, data, len, IO_TIMEOUT), POSTIE_OK);
    snprintf(want, sizeof want, "sum:%lu\r\n", sum);
    recv_exact(&t, want);
    postie_mbedtls_close(&t);
    join(&s);
    free(data);
}

static long no_send(void *ctx, const void *buf, size_t len, unsigned timeout_ms)
{
    (void)ctx;
    (void)buf;
    (void)len;
    (void)timeout_ms;
    return POSTIE_ERR_IO;
}

static long no_recv(void *ctx, void *buf, size_t len, unsigned timeout_ms)
{
    (void)ctx;
    (void)buf;
    (void)len;
    (void)timeout_ms;
    return POSTIE_ERR_IO;
}

static void test_init_parameters(void **state)
{
    postie_mbedtls t;
    postie_mbedtls_options o;
    postie_transport tr = {NULL, no_send, NULL, NULL, NULL};
    postie_transport ok = {NULL, no_send, no_recv, NULL, NULL};
    static const unsigned char junk_pem[] = "-----BEGIN CERTIFICATE-----\nnot base64\n"
                                            "-----END CERTIFICATE-----\n";
    static const unsigned char junk_der[] = {0x30, 0x03, 0x02, 0x01, 0x00};
    unsigned char pin[32];
    (void)state;

    assert_int_equal(postie_mbedtls_init(NULL, &ok, NULL), POSTIE_ERR_PARAM);
    opts_ca(&o);
    assert_int_equal(postie_mbedtls_init(&t, NULL, &o), POSTIE_ERR_PARAM);
    assert_int_equal(postie_mbedtls_init(&t, &tr, &o), POSTIE_ERR_PARAM); /* no recv */
    /* no CA while verification is on */
    assert_int_equal(postie_mbedtls_init(&t, &ok, NULL), POSTIE_ERR_PARAM);
    assert_non_null(strstr(postie_mbedtls_error_text(&t), "CA bundle is needed"));
    assert_string_equal(postie_mbedtls_error_where(&t), "TLS set-up");
    postie_mbedtls_options_init(&o);
    o.pin_replaces_chain = 1;
    assert_int_equal(postie_mbedtls_init(&t, &ok, &o), POSTIE_ERR_PARAM);
    /* a CA bundle that does not parse */
    opts_ca(&o);
    o.ca = junk_pem;
    o.ca_len = sizeof junk_pem - 1;
    assert_int_equal(postie_mbedtls_init(&t, &ok, &o), POSTIE_ERR_TLS);
    assert_non_null(strstr(postie_mbedtls_error_text(&t), "cannot load the CA bundle"));
    assert_string_equal(postie_mbedtls_error_where(&t), "TLS set-up");
    o.ca = junk_der;
    o.ca_len = sizeof junk_der;
    assert_int_equal(postie_mbedtls_init(&t, &ok, &o), POSTIE_ERR_TLS);
    o.ca_len = 2; /* a DER header that claims more than there is */
    assert_int_equal(postie_mbedtls_init(&t, &ok, &o), POSTIE_ERR_TLS);
    postie_mbedtls_close(&t); /* nothing to close after a failed init */

    /* start without a name while verifying; no I/O on an unstarted failure */
    opts_ca(&o);
    assert_int_equal(postie_mbedtls_init(&t, &ok, &o), POSTIE_OK);
    assert_int_equal(postie_mbedtls_start(&t, NULL), POSTIE_ERR_PARAM);
    assert_int_equal(postie_mbedtls_start(&t, ""), POSTIE_ERR_PARAM);
    assert_int_equal(postie_mbedtls_send(&t, NULL, 1, 10), POSTIE_ERR_PARAM);
    assert_int_equal(postie_mbedtls_peer_pin(&t, POSTIE_MBEDTLS_PIN_CERT, pin), POSTIE_ERR_STATE);
    postie_mbedtls_close(&t);
    assert_int_equal(postie_mbedtls_send(&t, "x", 1, 10), POSTIE_ERR_STATE);
    assert_int_equal(postie_mbedtls_start(&t, "localhost"), POSTIE_ERR_STATE);

    assert_int_equal(postie_mbedtls_pin_from_hex(
                         "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:"
                         "00112233445566778899AABBCCDDEEFF",
                         pin),
                     POSTIE_OK);
    assert_int_equal(pin[10], 0xaa);
    assert_int_equal(pin[31], 0xff);
    assert_int_equal(postie_mbedtls_pin_from_hex("0011", pin), POSTIE_ERR_DECODE);
    assert_int_equal(postie_mbedtls_pin_from_hex(NULL, pin), POSTIE_ERR_PARAM);
}

static int make_certs(void **state)
{
    (void)state;
    if (system("sh '" POSTIE_TLS_GEN_CERTS "' '" POSTIE_TLS_CERT_DIR "' >/dev/null") != 0) {
        fprintf(stderr, "cannot make test certificates with %s\n", POSTIE_TLS_GEN_CERTS);
        return -1;
    }
    ca_pem = slurp(CERT("ca.pem"), &ca_pem_len);
    other_ca_pem = slurp(CERT("other-ca.pem"), &other_ca_pem_len);
    return 0;
}

static int free_certs(void **state)
{
    (void)state;
    free(ca_pem);
    free(other_ca_pem);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verified_round_trip),
        cmocka_unit_test(test_inner_transport_in_pieces),
        cmocka_unit_test(test_ca_formats),
        cmocka_unit_test(test_wrong_host_name),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_unknown_ca),
        cmocka_unit_test(test_pin_match),
        cmocka_unit_test(test_pin_mismatch),
        cmocka_unit_test(test_pin_replaces_chain),
        cmocka_unit_test(test_insecure_accepts_self_signed),
        cmocka_unit_test(test_starttls_upgrade),
        cmocka_unit_test(test_starttls_injected_plaintext_refused),
        cmocka_unit_test(test_handshake_timeout),
        cmocka_unit_test(test_start_nb),
        cmocka_unit_test(test_start_nb_refusals),
        cmocka_unit_test(test_recv_timeout),
        cmocka_unit_test(test_server_hangs_up_during_handshake),
        cmocka_unit_test(test_tls11_server_refused),
        cmocka_unit_test(test_bulk_send),
        cmocka_unit_test(test_init_parameters),
    };
    return cmocka_run_group_tests(tests, make_certs, free_certs);
}
