/* Streaming base64 encoder (RFC 4648 sec. 4) with optional CRLF line breaks. */
#include "postie/base64_stream.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void postie_base64_stream_init(postie_base64_stream *s, unsigned line_max)
{
    if (s == NULL) {
        return;
    }
    s->part_len = 0;
    s->line_len = 0;
    if (line_max != 0) {
        line_max -= line_max % 4;
        if (line_max < 4) {
            line_max = 4;
        }
    }
    s->line_max = line_max;
}

size_t postie_base64_stream_max_out(const postie_base64_stream *s, size_t n)
{
    size_t groups, chars;
    if (s == NULL) {
        return 0;
    }
    groups = (s->part_len + n) / 3 + 1; /* + 1: the final, padded group */
    chars = groups * 4;
    if (s->line_max != 0) {
        chars += 2 * (chars / s->line_max + 1); /* a CRLF before each new line */
    }
    return chars;
}

/* Writes one group of 4 characters, preceded by CRLF when the line is full. */
static size_t put_group(postie_base64_stream *s, const unsigned char g[3], unsigned len, char *out)
{
    size_t o = 0;
    unsigned long v = ((unsigned long)g[0] << 16) | ((unsigned long)g[1] << 8) | g[2];
    if (s->line_max != 0 && s->line_len >= s->line_max) {
        out[o++] = '\r';
        out[o++] = '\n';
        s->line_len = 0;
    }
    out[o++] = b64_alphabet[(v >> 18) & 63];
    out[o++] = b64_alphabet[(v >> 12) & 63];
    out[o++] = len > 1 ? b64_alphabet[(v >> 6) & 63] : '=';
    out[o++] = len > 2 ? b64_alphabet[v & 63] : '=';
    s->line_len += 4;
    return o;
}

size_t postie_base64_stream_update(postie_base64_stream *s, const void *in, size_t n,
                                   char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t i, o = 0;

    if (s == NULL || out == NULL || (in == NULL && n > 0) ||
        cap < postie_base64_stream_max_out(s, n)) {
        return 0;
    }
    i = 0;
    while (i < n && s->part_len != 0) { /* finish a group begun earlier */
        s->part[s->part_len++] = p[i++];
        if (s->part_len == 3) {
            o += put_group(s, s->part, 3, out + o);
            s->part_len = 0;
        }
    }
    for (; i + 3 <= n; i += 3) { /* whole groups straight from the input */
        o += put_group(s, p + i, 3, out + o);
    }
    for (; i < n; i++) {
        s->part[s->part_len++] = p[i];
    }
    return o;
}

size_t postie_base64_stream_final(postie_base64_stream *s, char *out, size_t cap)
{
    size_t o = 0;
    if (s == NULL || out == NULL || cap < 6) {
        return 0;
    }
    if (s->part_len > 0) {
        unsigned char g[3] = {0, 0, 0};
        unsigned k;
        for (k = 0; k < s->part_len; k++) {
            g[k] = s->part[k];
        }
        o += put_group(s, g, s->part_len, out);
    }
    s->part_len = 0;
    s->line_len = 0;
    return o;
}
