/*
 * libFuzzer target: the POP3 core (src/core/pop3_proto.c).
 *
 * Input: byte 0 picks output sizes, byte 1 seeds the split points, the rest
 * is server bytes. Checks:
 *  - the classifier's text pointer stays inside the line;
 *  - every parser, on the input as a line, keeps its output promises;
 *  - the body decoder gives the same bytes and stops at the same place
 *    whether fed in one piece into a large buffer or split at fuzzed points
 *    into fuzzed small buffers; never more output than input; always
 *    progress; nothing consumed after the terminator;
 *  - and the same as a reference written the plain way over the whole input:
 *    lines end at CRLF only, the first "." CRLF line ends the body, a leading
 *    '.' of any other line is dropped (a bare LF or lone CR starts nothing).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postie/pop3.h"
#include "postie/pop3_proto.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static uint32_t next_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void check_line_parsers(const char *in, size_t n)
{
    static char line[POSTIE_LINE_MAX + 1];
    const char *text = NULL;
    postie_pop3_reply_kind k;
    unsigned long a = 0, b = 0;
    char uid[POSTIE_POP3_UID_MAX], small[5], ts[POSTIE_POP3_TIMESTAMP_MAX], tiny[9];
    char sasl[POSTIE_SASL_MECHS_MAX], sasl_small[10];
    size_t len;
    postie_status st;

    if (n > POSTIE_LINE_MAX) {
        n = POSTIE_LINE_MAX;
    }
    memcpy(line, in, n);
    line[n] = '\0';

    k = postie_pop3_classify(line, n, &text);
    if (k == POSTIE_POP3_REPLY_INVALID) {
        CHECK(text == NULL);
    } else {
        CHECK(text != NULL && text >= line && text <= line + n);
        CHECK(line[0] == '+' || line[0] == '-');
    }

    st = postie_pop3_parse_num_pair(line, &a, &b);
    CHECK(st == POSTIE_OK || st == POSTIE_ERR_PROTOCOL);
    if (st == POSTIE_OK) {
        CHECK(line[0] >= '0' && line[0] <= '9');
    }

    st = postie_pop3_parse_uidl(line, &a, uid, sizeof uid);
    CHECK(st == POSTIE_OK || st == POSTIE_ERR_PROTOCOL);
    if (st == POSTIE_OK) {
        size_t i, ul = strlen(uid);
        CHECK(ul >= 1 && ul <= 70);
        for (i = 0; i < ul; i++) {
            CHECK(uid[i] >= 0x21 && uid[i] <= 0x7e);
        }
    }
    st = postie_pop3_parse_uidl(line, &a, small, sizeof small);
    CHECK(st == POSTIE_OK || st == POSTIE_ERR_PROTOCOL || st == POSTIE_ERR_BUFFER);
    if (st == POSTIE_OK) {
        CHECK(strlen(small) < sizeof small);
    }

    if (postie_pop3_parse_timestamp(line, ts, sizeof ts)) {
        len = strlen(ts);
        CHECK(len >= 3 && ts[0] == '<' && ts[len - 1] == '>');
        CHECK(strstr(line, ts) != NULL);
    } else {
        CHECK(ts[0] == '\0');
    }
    if (postie_pop3_parse_timestamp(line, tiny, sizeof tiny)) {
        CHECK(strlen(tiny) < sizeof tiny);
    }

    memset(sasl, 'Z', sizeof sasl);
    sasl[sizeof sasl - 1] = '\0';
    if (postie_pop3_parse_capa_line(line, sasl, sizeof sasl) == POSTIE_POP3_CAP_SASL) {
        size_t i;
        len = strlen(sasl);
        CHECK(len < sizeof sasl);
        for (i = 0; i < len; i++) {
            CHECK(sasl[i] >= 0x20 && sasl[i] <= 0x7e);
        }
        CHECK(len == 0 || (sasl[0] != ' ' && sasl[len - 1] != ' '));
    }
    if (postie_pop3_parse_capa_line(line, sasl_small, sizeof sasl_small) ==
        POSTIE_POP3_CAP_SASL) {
        CHECK(strlen(sasl_small) < sizeof sasl_small);
    }

    len = strlen(line);
    {
        int term = postie_pop3_listing_line(line, &len);
        if (term) {
            CHECK(len == 1 && line[0] == '.');
        } else {
            CHECK(len == strlen(line));
        }
    }
}

/* Decodes in[0..n): in one piece when maxchunk == 0, else in fuzzed pieces
 * into fuzzed output sizes up to maxout. */
static postie_status decode(const char *in, size_t n, uint32_t seed, size_t maxchunk,
                            size_t maxout, char *dec, size_t *declen, size_t *used)
{
    static char out[4096];
    postie_pop3_body b;
    size_t pos = 0, d = 0;
    postie_status st = POSTIE_OK;

    postie_pop3_body_init(&b);
    for (;;) {
        size_t piece = maxchunk ? 1 + next_rand(&seed) % maxchunk : n - pos;
        size_t cap = maxchunk ? 1 + next_rand(&seed) % maxout : sizeof out;
        size_t c = 0, p = 0;
        if (piece > n - pos) {
            piece = n - pos;
        }
        st = postie_pop3_body_feed(&b, in + pos, piece, &c, out, cap, &p);
        CHECK(st == POSTIE_OK || st == POSTIE_DONE);
        CHECK(c <= piece && p <= cap);
        /* produced may run one byte ahead of this call's input (a CR held
         * back from an earlier call), never ahead of all input so far */
        memcpy(dec + d, out, p);
        d += p;
        pos += c;
        CHECK(d <= pos);
        if (st == POSTIE_DONE && p == 0) {
            break;
        }
        if (st == POSTIE_OK && pos == n && p < cap) {
            break; /* input used up, nothing held back */
        }
        CHECK(c > 0 || p > 0 || piece == 0);
        if (piece == 0 && p == 0) {
            break;
        }
    }
    *declen = d;
    *used = pos;
    return st;
}

/* The reference decoder over the whole input: returns the bytes consumed
 * (through the terminator when *done) and writes the body to out. */
static size_t reference(const char *in, size_t n, char *out, size_t *outlen, int *done)
{
    size_t pos = 0, o = 0;
    *done = 0;
    while (pos < n) {
        size_t end = pos;
        if (n - pos >= 3 && memcmp(in + pos, ".\r\n", 3) == 0) {
            *done = 1;
            pos += 3;
            break;
        }
        while (end + 1 < n && !(in[end] == '\r' && in[end + 1] == '\n')) {
            end++;
        }
        end = end + 1 < n ? end + 2 : n; /* through the CRLF, or to the end */
        if (in[pos] == '.') {
            pos++; /* a stuffed line */
        }
        memcpy(out + o, in + pos, end - pos);
        o += end - pos;
        pos = end;
    }
    *outlen = o;
    return pos;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char dec1[1 << 16], dec2[1 << 16];
    const char *in;
    size_t n, l1, l2, u1, u2, maxout;
    postie_status s1, s2;
    uint32_t seed;

    if (size < 2 || size - 2 > sizeof dec1) {
        return 0;
    }
    in = (const char *)data + 2;
    n = size - 2;
    maxout = 1 + data[0] % 16;
    seed = 0x2545f491u ^ ((uint32_t)data[1] << 16) ^ data[0];

    check_line_parsers(in, n);

    s1 = decode(in, n, 1, 0, 0, dec1, &l1, &u1);
    s2 = decode(in, n, seed, 1 + data[1] % 32, maxout, dec2, &l2, &u2);
    CHECK(s1 == s2);
    CHECK(u1 == u2);
    CHECK(l1 == l2 && memcmp(dec1, dec2, l1) == 0);
    CHECK(l1 <= u1);
    {
        static char want[1 << 16];
        size_t wl, wu;
        int done;
        wu = reference(in, n, want, &wl, &done);
        CHECK(done == (s1 == POSTIE_DONE));
        if (done) {
            CHECK(wu == u1 && wl == l1 && memcmp(want, dec1, l1) == 0);
        } else {
            /* the decoder may hold back the CR of a final ".\r" */
            CHECK(wl == l1 || (wl == l1 + 1 && want[l1] == '\r'));
            CHECK(memcmp(want, dec1, l1) == 0);
        }
    }
    if (s1 == POSTIE_DONE) {
        /* the body ended with a "." CRLF line, at its start or after CRLF:
         * never after a bare LF or a lone CR */
        CHECK(u1 >= 3 && memcmp(in + u1 - 3, ".\r\n", 3) == 0);
        CHECK(u1 == 3 || (u1 >= 5 && in[u1 - 5] == '\r' && in[u1 - 4] == '\n'));
    } else {
        CHECK(u1 == n);
    }
    return 0;
}
