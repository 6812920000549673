/*
 * tls_peer - the OpenSSL server of the TLS transport tests (tls_peer.h).
 */
#include "tls_peer.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

unsigned long tls_peer_checksum(unsigned long sum, const unsigned char *data, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++) {
        sum = (sum * 31u + data[i]) & 0xffffffffu;
    }
    return sum;
}

static int read_line_plain(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t r = recv(fd, buf + n, 1, 0);
        if (r <= 0) {
            return -1;
        }
        if (buf[n++] == '\n') {
            break;
        }
    }
    buf[n] = '\0';
    return (int)n;
}

static int send_plain(int fd, const char *s)
{
    size_t len = strlen(s);
    return send(fd, s, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

static SSL_CTX *peer_ctx(const tls_peer *p)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        return NULL;
    }
    if (p->tls11_only) {
        SSL_CTX_set_security_level(ctx, 0);
        SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
        SSL_CTX_set_min_proto_version(ctx, TLS1_1_VERSION);
        SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION);
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, p->cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, p->key, SSL_FILETYPE_PEM) != 1) {
        fprintf(stderr, "tls_peer: cannot load %s\n", p->cert);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (p->client_ca != NULL) {
        SSL_CTX_load_verify_locations(ctx, p->client_ca, NULL);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    return ctx;
}

/* Reads bulk_len bytes (slowly at first, so that the client's writes have
 * to wait) and answers with their checksum. */
static void serve_bulk(tls_peer *p, SSL *ssl)
{
    unsigned long got = 0, sum = 0;
    unsigned char chunk[16384];
    char reply[64];
    struct timespec pause = {0, 50 * 1000 * 1000};
    int len;

    nanosleep(&pause, NULL);
    while (got < p->bulk_len) {
        int r = SSL_read(ssl, chunk, sizeof chunk);
        if (r <= 0) {
            return;
        }
        sum = tls_peer_checksum(sum, chunk, (size_t)r);
        got += (unsigned long)r;
    }
    len = snprintf(reply, sizeof reply, "sum:%lu\r\n", sum);
    SSL_write(ssl, reply, len);
    SSL_shutdown(ssl);
}

static void serve_echo(tls_peer *p, SSL *ssl)
{
    char buf[256], reply[300];
    size_t n = 0;
    int len;

    while (n + 1 < sizeof buf) {
        int r = SSL_read(ssl, buf + n, 1);
        if (r <= 0) {
            return;
        }
        if (buf[n++] == '\n') {
            break;
        }
    }
    buf[n] = '\0';
    memcpy(p->line, buf, n + 1);
    len = snprintf(reply, sizeof reply, "echo:%s", buf);
    SSL_write(ssl, reply, len);
    SSL_shutdown(ssl);
}

static void serve_tls(tls_peer *p, int fd)
{
    SSL_CTX *ctx = peer_ctx(p);
    SSL *ssl = ctx != NULL ? SSL_new(ctx) : NULL;

    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1) {
        goto out; /* expected in the refusal tests */
    }
    p->handshake_ok = 1;
    {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
        X509 *peer = SSL_get1_peer_certificate(ssl);
#else
        X509 *peer = SSL_get_peer_certificate(ssl);
#endif
        p->client_cert_seen = peer != NULL;
        X509_free(peer);
    }
    switch (p->mode) {
    case MODE_TLS_CLOSE:
        SSL_shutdown(ssl);
        break;
    case MODE_TLS_BULK:
        serve_bulk(p, ssl);
        break;
    case MODE_TLS_SILENT: {
        char sink[64];
        while (SSL_read(ssl, sink, sizeof sink) > 0) {
        }
        break;
    }
    default:
        serve_echo(p, ssl);
        break;
    }
out:
    SSL_free(ssl);
    SSL_CTX_free(ctx);
}

void tls_peer_serve(tls_peer *p, int fd)
{
    struct timeval tv = {5, 0};
    char line[256];
    sigset_t pipe_only;

    /* The peer writes with OpenSSL's own socket BIO and may hit a client
     * that already left: keep SIGPIPE away from this thread only. The test's
     * thread (the library under test) keeps the default action, so a
     * SIGPIPE raised by the library would still kill the test. */
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, NULL);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    switch (p->mode) {
    case MODE_HANGUP:
        (void)recv(fd, line, sizeof line, 0);
        {
            char rest[4096];
            (void)recv(fd, rest, sizeof rest, MSG_DONTWAIT);
        }
        break;
    case MODE_RESET:
        (void)recv(fd, line, 5, 0);
        break;
    case MODE_SILENT:
        while (recv(fd, line, sizeof line, 0) > 0) {
        }
        break;
    case MODE_STLS:
        if (send_plain(fd, "+OK ready\r\n") == 0 && read_line_plain(fd, line, sizeof line) > 0 &&
            strcmp(line, "STLS\r\n") == 0) {
            char reply[128];
            snprintf(reply, sizeof reply, "+OK begin\r\n%s", p->inject ? p->inject : "");
            if (send_plain(fd, reply) == 0) {
                serve_tls(p, fd);
            }
        }
        break;
    case MODE_TLS_ECHO:
    case MODE_TLS_CLOSE:
    case MODE_TLS_SILENT:
    case MODE_TLS_BULK:
        serve_tls(p, fd);
        break;
    }
    close(fd);
}
