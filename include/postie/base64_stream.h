/*
 * postie/base64_stream.h - streaming base64 encoder (RFC 4648 sec. 4,
 * standard alphabet, padded), with optional CRLF line breaks (RFC 2045
 * sec. 6.8: at most 76 characters a line).
 *
 * Input arrives in pieces of any size; up to 2 bytes of an incomplete group
 * are kept in the struct between calls. Nothing is allocated; the in and out
 * buffers are the caller's and are only used during a call. The one-shot
 * encoder and the decoder are in base64.h.
 */
#ifndef POSTIE_BASE64_STREAM_H
#define POSTIE_BASE64_STREAM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct postie_base64_stream {
    unsigned char part[3];  /* bytes of the incomplete group */
    unsigned char part_len; /* 0..2 between calls */
    unsigned line_max;      /* characters a line (a multiple of 4), 0 = no breaks */
    unsigned line_len;      /* characters on the current line */
} postie_base64_stream;

/* Starts an encoding. line_max: 0 for one unbroken line, otherwise the number
 * of characters after which CRLF is written (rounded down to a multiple of 4,
 * at least 4); the CRLF is written before the group that starts a new line.
 * s NULL: no-op. */
void postie_base64_stream_init(postie_base64_stream *s, unsigned line_max);

/* Most output postie_base64_stream_update() can write for n input bytes, and
 * postie_base64_stream_final() for the rest (with line breaks). */
size_t postie_base64_stream_max_out(const postie_base64_stream *s, size_t n);

/* Encodes all n bytes of in (in may be NULL when n is 0) into out and returns
 * the number of characters written (no NUL). The caller gives
 * cap >= postie_base64_stream_max_out(s, n); with less, nothing is written
 * and 0 is returned (as it is for s or out NULL). */
size_t postie_base64_stream_update(postie_base64_stream *s, const void *in, size_t n,
                                   char *out, size_t cap);

/* Writes the last, padded group (preceded by CRLF when the line is full).
 * Line breaks go BETWEEN lines: no CRLF follows the last line, so the caller
 * decides what ends it. Returns the count written (at most 6); 0 when cap < 6
 * or s/out NULL. The stream is then reset for a new encoding. */
size_t postie_base64_stream_final(postie_base64_stream *s, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_BASE64_STREAM_H */
