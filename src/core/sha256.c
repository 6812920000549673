/* SHA-256 (FIPS 180-4), HMAC-SHA-256 (RFC 2104) and PBKDF2 (RFC 8018). */
#include "postie/sha256.h"
#include "wipe.h"

#include <string.h>

static const uint32_t K[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u,
    0x923f82a4u, 0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u,
    0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u,
    0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u,
    0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u,
    0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
    0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au,
    0x5b9cca4fu, 0x682e6ff3u, 0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u,
    0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void compress(uint32_t st[8], const unsigned char *p)
{
    uint32_t w[64];
    uint32_t a, b, c, d, e, f, g, h;
    int t;

    for (t = 0; t < 16; t++) {
        w[t] = ((uint32_t)p[4 * t] << 24) | ((uint32_t)p[4 * t + 1] << 16) |
               ((uint32_t)p[4 * t + 2] << 8) | (uint32_t)p[4 * t + 3];
    }
    for (t = 16; t < 64; t++) {
        uint32_t s0 = ROTR(w[t - 15], 7) ^ ROTR(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = ROTR(w[t - 2], 17) ^ ROTR(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    a = st[0]; b = st[1]; c = st[2]; d = st[3];
    e = st[4]; f = st[5]; g = st[6]; h = st[7];
    for (t = 0; t < 64; t++) {
        uint32_t S1 = ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = h + S1 + ch + K[t] + w[t];
        uint32_t S0 = ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = S0 + maj;
        h = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }
    st[0] += a; st[1] += b; st[2] += c; st[3] += d;
    st[4] += e; st[5] += f; st[6] += g; st[7] += h;
}

void postie_sha256_init(postie_sha256_ctx *ctx)
{
    static const uint32_t H0[8] = {
        0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
        0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u,
    };
    if (ctx == NULL) {
        return;
    }
    memcpy(ctx->state, H0, sizeof H0);
    ctx->bytes = 0;
    ctx->block_len = 0;
}

void postie_sha256_update(postie_sha256_ctx *ctx, const void *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data;

    if (ctx == NULL || data == NULL || len == 0) {
        return;
    }
    ctx->bytes += len;
    if (ctx->block_len > 0) {
        size_t take = POSTIE_SHA256_BLOCK_LEN - ctx->block_len;
        if (take > len) {
            take = len;
        }
        memcpy(ctx->block + ctx->block_len, p, take);
        ctx->block_len += take;
        p += take;
        len -= take;
        if (ctx->block_len < POSTIE_SHA256_BLOCK_LEN) {
            return;
        }
        compress(ctx->state, ctx->block);
        ctx->block_len = 0;
    }
    while (len >= POSTIE_SHA256_BLOCK_LEN) {
        compress(ctx->state, p);
        p += POSTIE_SHA256_BLOCK_LEN;
        len -= POSTIE_SHA256_BLOCK_LEN;
    }
    if (len > 0) {
        memcpy(ctx->block, p, len);
        ctx->block_len = len;
    }
}

void postie_sha256_final(postie_sha256_ctx *ctx, unsigned char digest[POSTIE_SHA256_DIGEST_LEN])
{
    uint64_t bits;
    int i;

    if (ctx == NULL || digest == NULL) {
        return;
    }
    bits = ctx->bytes * 8u;
    ctx->block[ctx->block_len++] = 0x80;
    if (ctx->block_len > POSTIE_SHA256_BLOCK_LEN - 8) {
        memset(ctx->block + ctx->block_len, 0, POSTIE_SHA256_BLOCK_LEN - ctx->block_len);
        compress(ctx->state, ctx->block);
        ctx->block_len = 0;
    }
    memset(ctx->block + ctx->block_len, 0, POSTIE_SHA256_BLOCK_LEN - 8 - ctx->block_len);
    for (i = 0; i < 8; i++) {
        ctx->block[POSTIE_SHA256_BLOCK_LEN - 1 - i] = (unsigned char)(bits >> (8 * i));
    }
    compress(ctx->state, ctx->block);
    for (i = 0; i < 8; i++) {
        digest[4 * i] = (unsigned char)(ctx->state[i] >> 24);
        digest[4 * i + 1] = (unsigned char)(ctx->state[i] >> 16);
        digest[4 * i + 2] = (unsigned char)(ctx->state[i] >> 8);
        digest[4 * i + 3] = (unsigned char)ctx->state[i];
    }
    ctx->block_len = 0;
}

void postie_sha256(const void *data, size_t len, unsigned char digest[POSTIE_SHA256_DIGEST_LEN])
{
    postie_sha256_ctx c;
    postie_sha256_init(&c);
    postie_sha256_update(&c, data, len);
    postie_sha256_final(&c, digest);
}

/* HMAC as two hash states keyed once: inner = H(K^ipad ...), outer = H(K^opad ...). */
typedef struct hmac_key {
    postie_sha256_ctx inner, outer;
} hmac_key;

static void hmac_setup(hmac_key *hk, const void *key, size_t key_len)
{
    unsigned char k[POSTIE_SHA256_BLOCK_LEN];
    unsigned char pad[POSTIE_SHA256_BLOCK_LEN];
    size_t i;

    memset(k, 0, sizeof k);
    if (key_len > POSTIE_SHA256_BLOCK_LEN) {
        postie_sha256(key, key_len, k);
    } else if (key_len > 0) {
        memcpy(k, key, key_len);
    }
    for (i = 0; i < sizeof pad; i++) {
        pad[i] = (unsigned char)(k[i] ^ 0x36u);
    }
    postie_sha256_init(&hk->inner);
    postie_sha256_update(&hk->inner, pad, sizeof pad);
    for (i = 0; i < sizeof pad; i++) {
        pad[i] = (unsigned char)(k[i] ^ 0x5cu);
    }
    postie_sha256_init(&hk->outer);
    postie_sha256_update(&hk->outer, pad, sizeof pad);
    postie_wipe(k, sizeof k);
    postie_wipe(pad, sizeof pad);
}

/* HMAC over the concatenation of two pieces (b may be empty). */
static void hmac_run(const hmac_key *hk, const void *a, size_t alen, const void *b, size_t blen,
                     unsigned char out[POSTIE_SHA256_DIGEST_LEN])
{
    postie_sha256_ctx c = hk->inner;
    unsigned char ih[POSTIE_SHA256_DIGEST_LEN];

    postie_sha256_update(&c, a, alen);
    postie_sha256_update(&c, b, blen);
    postie_sha256_final(&c, ih);
    c = hk->outer;
    postie_sha256_update(&c, ih, sizeof ih);
    postie_sha256_final(&c, out);
}

void postie_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                        unsigned char digest[POSTIE_SHA256_DIGEST_LEN])
{
    hmac_key hk;

    if (digest == NULL || (key == NULL && key_len > 0) || (msg == NULL && msg_len > 0)) {
        return;
    }
    hmac_setup(&hk, key, key_len);
    hmac_run(&hk, msg, msg_len, NULL, 0, digest);
    postie_wipe(&hk, sizeof hk);
}

postie_status postie_pbkdf2_sha256(const void *password, size_t password_len,
                                   const void *salt, size_t salt_len,
                                   uint32_t iterations,
                                   unsigned char out[POSTIE_SHA256_DIGEST_LEN])
{
    static const unsigned char block_index_1[4] = {0, 0, 0, 1};
    hmac_key hk;
    unsigned char u[POSTIE_SHA256_DIGEST_LEN];
    uint32_t n;
    size_t i;

    if (out == NULL || iterations == 0 || (password == NULL && password_len > 0) ||
        (salt == NULL && salt_len > 0)) {
        return POSTIE_ERR_PARAM;
    }
    hmac_setup(&hk, password, password_len);
    hmac_run(&hk, salt, salt_len, block_index_1, sizeof block_index_1, u); /* U1 */
    memcpy(out, u, sizeof u);
    for (n = 1; n < iterations; n++) {
        hmac_run(&hk, u, sizeof u, NULL, 0, u); /* Ui = HMAC(P, Ui-1) */
        for (i = 0; i < sizeof u; i++) {
            out[i] ^= u[i];
        }
    }
    postie_wipe(&hk, sizeof hk);
    postie_wipe(u, sizeof u);
    return POSTIE_OK;
}

int postie_ct_equal(const void *a, const void *b, size_t n)
{
    const unsigned char *x = (const unsigned char *)a;
    const unsigned char *y = (const unsigned char *)b;
    unsigned char diff = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        diff = (unsigned char)(diff | (x[i] ^ y[i]));
    }
    return diff == 0;
}
