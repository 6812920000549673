/* base64, RFC 4648 sec. 4: standard alphabet, '=' padding, strict decoding. */
#include "postie/base64.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Value of a base64 character, or -1. */
static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

size_t postie_base64_encoded_len(size_t n)
{
    return ((n + 2) / 3) * 4;
}

postie_status postie_base64_encode(const void *in, size_t n, char *out, size_t cap, size_t *outlen)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t need, i, o = 0;

    if ((in == NULL && n > 0) || out == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (n > ((size_t)-1 / 4) * 3 - 3) {
        return POSTIE_ERR_BUFFER;
    }
    need = postie_base64_encoded_len(n) + 1;
    if (cap < need) {
        return POSTIE_ERR_BUFFER;
    }
    /* one loop for whole groups and the last, short one: a byte past the
     * end reads as 0 and its characters become '=' */
    for (i = 0; i < n; i += 3) {
        unsigned long v = (unsigned long)p[i] << 16;
        unsigned k;
        if (i + 1 < n) {
            v |= (unsigned long)p[i + 1] << 8;
        }
        if (i + 2 < n) {
            v |= p[i + 2];
        }
        for (k = 0; k < 4; k++) {
            /* character k starts in input byte 6k / 8 of the group */
            out[o++] = i + 6 * k / 8 < n ? b64_alphabet[(v >> (18 - 6 * k)) & 63] : '=';
        }
    }
    out[o] = '\0';
    if (outlen != NULL) {
        *outlen = o;
    }
    return POSTIE_OK;
}

postie_status postie_base64_decode(const char *in, size_t n, void *out, size_t cap, size_t *outlen)
{
    unsigned char *q = (unsigned char *)out;
    size_t i, o = 0, need, pad = 0;

    if ((in == NULL && n > 0) || (out == NULL && cap > 0)) {
        return POSTIE_ERR_PARAM;
    }
    if (n % 4 != 0) {
        return POSTIE_ERR_DECODE;
    }
    if (n > 0 && in[n - 1] == '=') {
        pad = (in[n - 2] == '=') ? 2 : 1;
    }
    need = n / 4 * 3 - pad;
    /* validate everything before writing anything */
    for (i = 0; i < n; i++) {
        if (i >= n - pad) {
            if (in[i] != '=') {
                return POSTIE_ERR_DECODE;
            }
        } else if (b64_value((unsigned char)in[i]) < 0) {
            return POSTIE_ERR_DECODE;
        }
    }
    if (pad == 2 && (b64_value((unsigned char)in[n - 3]) & 0x0f) != 0) {
        return POSTIE_ERR_DECODE; /* non-canonical: unused bits set */
    }
    if (pad == 1 && (b64_value((unsigned char)in[n - 2]) & 0x03) != 0) {
        return POSTIE_ERR_DECODE;
    }
    if (cap < need) {
        return POSTIE_ERR_BUFFER;
    }
    for (i = 0; i < n; i += 4) {
        unsigned long v = 0;
        unsigned j, valid = 0;
        for (j = 0; j < 4; j++) {
            if (i + j < n - pad) {
                v = (v << 6) | (unsigned long)b64_value((unsigned char)in[i + j]);
                valid++;
            } else {
                v <<= 6;
            }
        }
        q[o++] = (unsigned char)(v >> 16);
        if (valid > 2) {
            q[o++] = (unsigned char)(v >> 8);
        }
        if (valid > 3) {
            q[o++] = (unsigned char)v;
        }
    }
    if (outlen != NULL) {
        *outlen = o;
    }
    return POSTIE_OK;
}
