/*
 * postie/sha256.h - SHA-256 (FIPS 180-4), HMAC-SHA-256 (RFC 2104, RFC 4231)
 * and PBKDF2-HMAC-SHA-256 (RFC 8018 sec. 5.2; SCRAM's Hi(), RFC 5802).
 *
 * Part of the core: no I/O, no malloc, no global state; every byte lives in
 * the caller's context or on the stack. Independent of OpenSSL.
 */
#ifndef POSTIE_SHA256_H
#define POSTIE_SHA256_H

#include <stddef.h>
#include <stdint.h>
#include "postie/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define POSTIE_SHA256_DIGEST_LEN 32
#define POSTIE_SHA256_BLOCK_LEN  64

typedef struct postie_sha256_ctx {
    uint32_t state[8];
    uint64_t bytes;                             /* total bytes hashed */
    unsigned char block[POSTIE_SHA256_BLOCK_LEN];
    size_t block_len;                           /* bytes waiting in block */
} postie_sha256_ctx;

/* Streaming interface. ctx is caller-owned; data is only read during the call.
 * After final() the context must be re-initialised before reuse. None of these
 * return a status: NULL ctx (or NULL data with len > 0) is a programming error
 * and the call does nothing. */
void postie_sha256_init(postie_sha256_ctx *ctx);
void postie_sha256_update(postie_sha256_ctx *ctx, const void *data, size_t len);
void postie_sha256_final(postie_sha256_ctx *ctx, unsigned char digest[POSTIE_SHA256_DIGEST_LEN]);

/* One-shot SHA-256 of len bytes of data into digest (caller-owned, 32 bytes). */
void postie_sha256(const void *data, size_t len, unsigned char digest[POSTIE_SHA256_DIGEST_LEN]);

/* HMAC-SHA-256 of msg under key (any length; keys longer than 64 bytes are
 * hashed first, RFC 2104). digest is caller-owned, 32 bytes; it may not
 * overlap key or msg. */
void postie_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                        unsigned char digest[POSTIE_SHA256_DIGEST_LEN]);

/* PBKDF2-HMAC-SHA-256 with a 32-byte output (one block): SCRAM's
 * Hi(password, salt, iterations) of RFC 5802 sec. 2.2.
 * Returns POSTIE_OK, or POSTIE_ERR_PARAM (NULL pointer with a non-zero
 * length, NULL out, or iterations == 0).
 * out is caller-owned, 32 bytes. */
postie_status postie_pbkdf2_sha256(const void *password, size_t password_len,
                                   const void *salt, size_t salt_len,
                                   uint32_t iterations,
                                   unsigned char out[POSTIE_SHA256_DIGEST_LEN]);

/* Constant-time comparison of n bytes: 1 when equal, 0 otherwise. */
int postie_ct_equal(const void *a, const void *b, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_SHA256_H */
