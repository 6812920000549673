/* ports/posix/tls_openssl_compat.c - the release-0.1 names of the OpenSSL
 * transport (postie_tls_*), kept for one release as exported wrappers over
 * postie_openssl_* so that programs built against 0.1 still link and run.
 * Declared deprecated in postie/posix_tls.h; removed in the next release. */
#include "postie/posix_tls.h"

void postie_tls_options_init(postie_openssl_options *o)
{
    postie_openssl_options_init(o);
}

postie_status postie_tls_pin_from_hex(const char *hex,
                                      unsigned char out[POSTIE_SHA256_DIGEST_LEN])
{
    return postie_openssl_pin_from_hex(hex, out);
}

postie_status postie_tls_init(postie_openssl *t, int fd, const postie_openssl_options *opts)
{
    return postie_openssl_init(t, fd, opts);
}

postie_status postie_tls_start(postie_openssl *t, const char *server_name)
{
    return postie_openssl_start(t, server_name);
}

long postie_tls_send(postie_openssl *t, const void *buf, size_t len, unsigned timeout_ms)
{
    return postie_openssl_send(t, buf, len, timeout_ms);
}

long postie_tls_recv(postie_openssl *t, void *buf, size_t len, unsigned timeout_ms)
{
    return postie_openssl_recv(t, buf, len, timeout_ms);
}

void postie_tls_close(postie_openssl *t)
{
    postie_openssl_close(t);
}

void postie_tls_transport(postie_openssl *t, postie_transport *tr)
{
    postie_openssl_transport(t, tr);
}

const char *postie_tls_error_text(const postie_openssl *t)
{
    return postie_openssl_error_text(t);
}

postie_status postie_tls_peer_pin(const postie_openssl *t, postie_openssl_pin_kind kind,
                                  unsigned char out[POSTIE_SHA256_DIGEST_LEN])
{
    return postie_openssl_peer_pin(t, kind, out);
}
