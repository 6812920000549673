/*
 * tls_peer - the OpenSSL server the TLS transport tests talk to.
 *
 * One peer serves one connection on an fd it is handed (an accepted socket
 * in test_tls_openssl.c, one end of a socketpair in test_tls_mbedtls.c), in
 * a thread of the test: tls_peer_serve() runs the chosen mode to its end and
 * closes the fd. The test reads the results (handshake_ok, client_cert_seen,
 * line) after joining the thread.
 */
#ifndef POSTIE_TEST_TLS_PEER_H
#define POSTIE_TEST_TLS_PEER_H

#include <stddef.h>

enum tls_peer_mode {
    MODE_TLS_ECHO,   /* handshake at once, echo one line as "echo:<line>" */
    MODE_STLS,       /* POP3-like greeting, STLS in the clear, then TLS echo */
    MODE_SILENT,     /* say nothing until the client goes away */
    MODE_TLS_CLOSE,  /* handshake, then close without sending anything */
    MODE_TLS_SILENT, /* handshake, then say nothing until the client goes away */
    MODE_HANGUP,     /* read the ClientHello, then close (FIN) */
    MODE_RESET,      /* read 5 bytes of it, close with data unread (RST) */
    MODE_TLS_BULK    /* handshake, read bulk_len bytes, reply "sum:<checksum>\r\n" */
};

typedef struct tls_peer {
    enum tls_peer_mode mode;
    const char *cert, *key;
    const char *client_ca;   /* non-NULL: ask for, and require, a client
                                certificate issued by this CA (PEM file) */
    int tls11_only;          /* offer TLS 1.1 and nothing newer */
    const char *inject;      /* bytes sent in the clear right after "+OK begin" */
    size_t bulk_len;         /* MODE_TLS_BULK: bytes to read before replying */
    /* results */
    int handshake_ok;
    int client_cert_seen;
    char line[256];          /* line read from the client over TLS */
} tls_peer;

/* Serves one connection on fd in the peer's mode, then closes fd. */
void tls_peer_serve(tls_peer *p, int fd);

/* "sum:" checksum of MODE_TLS_BULK over len bytes of data. */
unsigned long tls_peer_checksum(unsigned long sum, const unsigned char *data, size_t len);

#endif
