/*
 * base64_trusted.h - base64 for callers inside the core that pass
 * arguments known to be valid (internal: postie_base64_encode() and
 * postie_base64_decode() in base64.h check their arguments, then run these).
 */
#ifndef POSTIE_CORE_BASE64_TRUSTED_H
#define POSTIE_CORE_BASE64_TRUSTED_H

#include <stddef.h>
#include "postie/status.h"

/* postie_base64_decode() without its POSTIE_ERR_PARAM checks: in[0..n)
 * readable, out non-NULL (or cap 0). The same other statuses and bytes. */
postie_status postie_base64_decode_trusted(const char *in, size_t n, void *out, size_t cap,
                                           size_t *outlen);

/* postie_base64_encode() without its checks and without the NUL: in[0..n)
 * readable, out[0 .. postie_base64_encoded_len(n)) writable (n small enough
 * that the length does not wrap). Writes the same characters; returns
 * their count, postie_base64_encoded_len(n). */
size_t postie_base64_encode_trusted(const void *in, size_t n, char *out);

#endif
