/* MD5 (RFC 1321) and HMAC-MD5 (RFC 2104), written from the RFC's description. */
#include "postie/md5.h"
#include "wipe.h"

#include <string.h>

#define ROTL(x, c) (((x) << (c)) | ((x) >> (32 - (c))))

/* The shift of step i: md5_shift[i / 16 * 4 + i % 4] (RFC 1321 sec. 3.4). */
static const unsigned char md5_shift[16] = {7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21};

static const uint32_t md5_t[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391
};

/* MD5's words are little-endian: on such a target as they are in memory. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define MD5_LE 1
#else
#define MD5_LE 0
#endif

/* The little-endian word at p. */
static uint32_t le32(const unsigned char *p)
{
#if MD5_LE
    uint32_t w;
    memcpy(&w, p, 4); /* one load */
    return w;
#else
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
#endif
}

/* The n words of w, little-endian, at out. */
static void put_le32(unsigned char *out, const uint32_t *w, unsigned n)
{
#if MD5_LE
    memcpy(out, w, 4 * n);
#else
    unsigned i;
    for (i = 0; i < 4 * n; i++) {
        out[i] = (unsigned char)(w[i / 4] >> (8 * (i % 4)));
    }
#endif
}

static void md5_block(uint32_t st[4], const unsigned char b[64])
{
    uint32_t a = st[0], bb = st[1], c = st[2], d = st[3];
    unsigned i;

    for (i = 0; i < 64; i++) {
        uint32_t f, tmp;
        unsigned g;
        if (i < 16) {
            f = (bb & c) | (~bb & d);
            g = i;
        } else if (i < 32) {
            f = (d & bb) | (~d & c);
            g = (5 * i + 1) & 15;
        } else if (i < 48) {
            f = bb ^ c ^ d;
            g = (3 * i + 5) & 15;
        } else {
            f = c ^ (bb | ~d);
            g = (7 * i) & 15;
        }
        tmp = d;
        d = c;
        c = bb;
        bb = bb + ROTL(a + f + md5_t[i] + le32(b + 4 * g), md5_shift[(i >> 4) * 4 + (i & 3)]);
        a = tmp;
    }
    st[0] += a;
    st[1] += bb;
    st[2] += c;
    st[3] += d;
}

void postie_md5_init(postie_md5_ctx *ctx)
{
    ctx->state[0] = 0x67452301u;
    ctx->state[1] = 0xefcdab89u;
    ctx->state[2] = 0x98badcfeu;
    ctx->state[3] = 0x10325476u;
    ctx->bytes = 0;
    ctx->block_len = 0;
}

void postie_md5_update(postie_md5_ctx *ctx, const void *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data;

    /* byte by byte: Postie hashes only short strings (APOP, CRAM-MD5) */
    ctx->bytes += len;
    while (len-- > 0) {
        ctx->block[ctx->block_len++] = *p++;
        if (ctx->block_len == 64) {
            md5_block(ctx->state, ctx->block);
            ctx->block_len = 0;
        }
    }
}

void postie_md5_final(postie_md5_ctx *ctx, unsigned char digest[POSTIE_MD5_DIGEST_LEN])
{
    /* the length in bits, as two words */
    uint32_t bits[2];
    unsigned char len[8], pad = 0x80;

    bits[0] = (uint32_t)(ctx->bytes << 3);
    bits[1] = (uint32_t)(ctx->bytes >> 29);
    put_le32(len, bits, 2);
    /* 0x80, zeros up to 56 bytes into a block, the length: fed through
     * update(), which runs the blocks */
    do {
        postie_md5_update(ctx, &pad, 1);
        pad = 0;
    } while (ctx->block_len != 56);
    postie_md5_update(ctx, len, 8);
    put_le32(digest, ctx->state, 4);
    memset(ctx, 0, sizeof *ctx);
}

void postie_md5(const void *data, size_t len, unsigned char digest[POSTIE_MD5_DIGEST_LEN])
{
    postie_md5_ctx ctx;
    postie_md5_init(&ctx);
    postie_md5_update(&ctx, data, len);
    postie_md5_final(&ctx, digest);
}

void postie_hmac_md5(const void *key, size_t key_len, const void *msg, size_t msg_len,
                     unsigned char digest[POSTIE_MD5_DIGEST_LEN])
{
    unsigned char k[64], inner[POSTIE_MD5_DIGEST_LEN], *out = inner;
    postie_md5_ctx ctx;
    unsigned i, r;

    memset(k, 0, sizeof k);
    if (key_len > 64) {
        postie_md5_init(&ctx);
        postie_md5_update(&ctx, key, key_len);
        postie_md5_final(&ctx, k);
    } else if (key_len > 0) {
        memcpy(k, key, key_len);
    }
    /* inner = MD5(k ^ ipad, msg), then digest = MD5(k ^ opad, inner); the
     * key is turned from one pad to the other in place (0x36 ^ 0x6a = 0x5c) */
    for (r = 0; r < 2; r++) {
        for (i = 0; i < 64; i++) {
            k[i] ^= r ? 0x6a : 0x36;
        }
        postie_md5_init(&ctx);
        postie_md5_update(&ctx, k, 64);
        postie_md5_update(&ctx, msg, msg_len);
        postie_md5_final(&ctx, out);
        msg = inner;
        msg_len = sizeof inner;
        out = digest;
    }
    postie_wipe(k, sizeof k);
    postie_wipe(inner, sizeof inner);
}

void postie_hex_lower(const unsigned char *in, size_t n, char *out)
{
    size_t i;

    for (i = 0; i < 2 * n; i++) {
        unsigned d = (unsigned)(i % 2 != 0 ? in[i / 2] : in[i / 2] >> 4) & 15;
        out[i] = (char)(d + (d < 10 ? '0' : 'a' - 10));
    }
    out[2 * n] = '\0';
}
