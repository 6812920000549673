/*
 * libFuzzer target: the line framer (src/core/line.c).
 *
 * Input: byte 0 and 1 seed the split points, the rest is server bytes. The
 * same bytes are framed twice, once in one piece and once split at fuzzed
 * points; the lines (and where an over-long line is reported) must be the
 * same, and every line must keep the framer's promises (CRLF-ended only: a
 * bare LF is POSTIE_ERR_PROTOCOL at the LF).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postie/line.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

typedef struct result {
    uint64_t hash;   /* FNV-1a over every line and event */
    size_t lines;
} result;

static void mix(result *r, const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i;
    for (i = 0; i < n; i++) {
        r->hash ^= b[i];
        r->hash *= 1099511628211ull;
    }
}

static uint32_t next_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void frame(const char *in, size_t n, uint32_t seed, size_t maxchunk, result *r)
{
    postie_line l;
    size_t pos = 0;

    postie_line_init(&l);
    r->hash = 1469598103934665603ull;
    r->lines = 0;
    while (pos < n) {
        size_t piece = maxchunk ? 1 + next_rand(&seed) % maxchunk : n - pos, off = 0;
        if (piece > n - pos) {
            piece = n - pos;
        }
        while (off < piece) {
            size_t used = (size_t)-1;
            postie_status st = postie_line_feed(&l, in + pos + off, piece - off, &used);
            CHECK(used <= piece - off);
            off += used;
            if (st == POSTIE_DONE) {
                CHECK(used >= 1 && in[pos + off - 1] == '\n');
                CHECK(pos + off >= 2 && in[pos + off - 2] == '\r');
                CHECK(l.len < POSTIE_LINE_MAX);
                CHECK(l.buf[l.len] == '\0');
                CHECK(memchr(l.buf, '\n', l.len) == NULL);
                r->lines++;
                mix(r, "L", 1);
                mix(r, &l.len, sizeof l.len);
                mix(r, l.buf, l.len);
            } else if (st == POSTIE_ERR_LINE_TOO_LONG) {
                /* reported where the line outgrew the buffer, whatever the
                 * split; the framer is then re-initialised by its user */
                size_t at = pos + off;
                mix(r, "T", 1);
                mix(r, &at, sizeof at);
                CHECK(l.len == (size_t)POSTIE_LINE_MAX - 1);
                return;
            } else if (st == POSTIE_ERR_PROTOCOL) {
                /* a bare LF, reported at the LF itself whatever the split;
                 * only CRLF ends a line */
                size_t at = pos + off;
                CHECK(in[at] == '\n');
                CHECK(l.len == 0 || l.buf[l.len - 1] != '\r');
                mix(r, "P", 1);
                mix(r, &at, sizeof at);
                return;
            } else {
                CHECK(st == POSTIE_OK);
                CHECK(off == piece);
            }
        }
        pos += piece;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    result whole, split;
    uint32_t seed;
    size_t maxchunk;

    if (size < 2) {
        return 0;
    }
    seed = 0x9e3779b9u ^ ((uint32_t)data[0] << 8) ^ data[1];
    maxchunk = 1 + data[1] % 64;
    frame((const char *)data + 2, size - 2, 1, 0, &whole);
    frame((const char *)data + 2, size - 2, seed, maxchunk, &split);
    CHECK(whole.lines == split.lines);
    CHECK(whole.hash == split.hash);
    return 0;
}
