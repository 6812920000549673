/*
 * postie/base64.h - base64 (RFC 4648 sec. 4, standard alphabet, padded).
 */
#ifndef POSTIE_BASE64_H
#define POSTIE_BASE64_H

#include <stddef.h>
#include "postie/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Length of the encoding of n bytes, without the NUL: 4 * ceil(n / 3). */
size_t postie_base64_encoded_len(size_t n);

/* Encodes n bytes of in into out, NUL-terminated. cap must be at least
 * postie_base64_encoded_len(n) + 1. *outlen (may be NULL) gets the length
 * without the NUL. Returns POSTIE_OK, POSTIE_ERR_BUFFER, or POSTIE_ERR_PARAM. */
postie_status postie_base64_encode(const void *in, size_t n, char *out, size_t cap, size_t *outlen);

/* Decodes n characters of in into out (cap bytes). Strict: length a multiple
 * of 4, only the alphabet, '=' only as final padding, and the unused bits of
 * the last group zero; anything else is POSTIE_ERR_DECODE. An empty input
 * decodes to 0 bytes. Returns POSTIE_OK, POSTIE_ERR_DECODE, POSTIE_ERR_BUFFER
 * (out too small; nothing useful in out), POSTIE_ERR_PARAM. */
postie_status postie_base64_decode(const char *in, size_t n, void *out, size_t cap, size_t *outlen);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_BASE64_H */
