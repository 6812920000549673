/* base64, RFC 4648 sec. 4: standard alphabet, '=' padding, strict decoding. */
#include "postie/base64.h"
#include "base64_trusted.h"

/* The character of a 6-bit value (no table: this file serves short
 * strings; base64_stream.c, which encodes attachments, has its own): each
 * range of the alphabet moves the one before it. */
static char b64_char(unsigned v)
{
    unsigned c = v + 'A';

    if (v > 25) {
        c += ('a' - 26) - 'A';
    }
    if (v > 51) {
        c -= ('a' - 26) - ('0' - 52);
    }
    if (v > 61) {
        c = c * 4 - 189; /* 62 and 63 are at 58 and 59 now: '+' and '/' */
    }
    return (char)c;
}

/* Value of a base64 character, or -1. */
static int b64_value(unsigned char c)
{
    unsigned v = (c | 0x20u) - 'a'; /* a letter, either case */

    if (v < 26) {
        return (int)((c & 0x20u) != 0 ? v + 26 : v); /* the small ones follow */
    }
    v = c - (unsigned)'0';
    if (v < 10) {
        return (int)v + 52;
    }
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

size_t postie_base64_encoded_len(size_t n)
{
    return ((n + 2) / 3) * 4;
}

postie_status postie_base64_encode(const void *in, size_t n, char *out, size_t cap, size_t *outlen)
{
    size_t o;

    if ((in == NULL && n > 0) || out == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (n > ((size_t)-1 / 4) * 3 - 3) {
        return POSTIE_ERR_BUFFER;
    }
    if (cap <= postie_base64_encoded_len(n)) { /* and its NUL */
        return POSTIE_ERR_BUFFER;
    }
    o = postie_base64_encode_trusted(in, n, out);
    out[o] = '\0';
    if (outlen != NULL) {
        *outlen = o;
    }
    return POSTIE_OK;
}

size_t postie_base64_encode_trusted(const void *in, size_t n, char *out)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t len = postie_base64_encoded_len(n), o;

    /* character o holds bits 6o .. 6o + 5 of the input: in byte 6o / 8,
     * perhaps running into the next (0 past the end); none past the end
     * of the input is '=' */
    for (o = 0; o < len; o++) {
        size_t b = o - (o + 3) / 4; /* 6o / 8, without overflow */
        unsigned v;
        if (b >= n) {
            out[o] = '=';
            continue;
        }
        v = ((unsigned)p[b] << 8) | (b + 1 < n ? p[b + 1] : 0u);
        out[o] = b64_char((v >> (10 - o * 6 % 8)) & 63); /* (o * 6) % 8 survives a wrap */
    }
    return len;
}

/* Decodes in[0..n) (the padding cut off) into q, or only counts and checks
 * when q is NULL: the byte count, or (size_t)-1 for a character outside the
 * alphabet (a '=' included) or bits set past the last byte (non-canonical). */
static size_t b64_run(const char *in, size_t n, unsigned char *q)
{
    unsigned long acc = 0;
    unsigned bits = 0;
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        int v = b64_value((unsigned char)in[i]);
        if (v < 0) {
            return (size_t)-1;
        }
        acc = (acc << 6) | (unsigned long)v; /* only the low bits + 8 matter */
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (q != NULL) {
                q[o] = (unsigned char)(acc >> bits);
            }
            o++;
        }
    }
    return (acc & ((1ul << bits) - 1)) != 0 ? (size_t)-1 : o;
}

postie_status postie_base64_decode(const char *in, size_t n, void *out, size_t cap, size_t *outlen)
{
    if ((in == NULL && n > 0) || (out == NULL && cap > 0)) {
        return POSTIE_ERR_PARAM;
    }
    return postie_base64_decode_trusted(in, n, out, cap, outlen);
}

postie_status postie_base64_decode_trusted(const char *in, size_t n, void *out, size_t cap,
                                           size_t *outlen)
{
    size_t need;

    if (n % 4 != 0) {
        return POSTIE_ERR_DECODE;
    }
    /* up to two '=' of padding at the end; any other '=' is refused below */
    if (n > 0 && in[n - 1] == '=') {
        n -= in[n - 2] == '=' ? 2 : 1;
    }
    /* validate everything before writing anything */
    need = b64_run(in, n, NULL);
    if (need == (size_t)-1) {
        return POSTIE_ERR_DECODE;
    }
    if (cap < need) {
        return POSTIE_ERR_BUFFER;
    }
    (void)b64_run(in, n, (unsigned char *)out);
    if (outlen != NULL) {
        *outlen = need;
    }
    return POSTIE_OK;
}
