/*
 * postie/md5.h - MD5 (RFC 1321) and HMAC-MD5 (RFC 2104), for APOP and
 * CRAM-MD5 only: MD5 is not a secure hash, and Postie uses it for nothing else.
 */
#ifndef POSTIE_MD5_H
#define POSTIE_MD5_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define POSTIE_MD5_DIGEST_LEN 16

typedef struct postie_md5_ctx {
    uint32_t state[4];
    uint64_t bytes;        /* total bytes hashed */
    unsigned char block[64];
    size_t block_len;
} postie_md5_ctx;

void postie_md5_init(postie_md5_ctx *ctx);
void postie_md5_update(postie_md5_ctx *ctx, const void *data, size_t len);
void postie_md5_final(postie_md5_ctx *ctx, unsigned char digest[POSTIE_MD5_DIGEST_LEN]);
void postie_md5(const void *data, size_t len, unsigned char digest[POSTIE_MD5_DIGEST_LEN]);

void postie_hmac_md5(const void *key, size_t key_len, const void *msg, size_t msg_len,
                     unsigned char digest[POSTIE_MD5_DIGEST_LEN]);

/* Lowercase hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void postie_hex_lower(const unsigned char *in, size_t n, char *out);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_MD5_H */
