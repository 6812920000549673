/*
 * libFuzzer target for the message composer.
 *
 * Input layout: 8 control bytes, then NUL-separated fields:
 *   from-name, from-address, to-name, to-address, cc-name, cc-address,
 *   bcc-address, subject, header-name, header-value, filename, content-type,
 *   body, attachment-data (the rest, may hold NULs).
 * Control bytes: [0] read-size seed, [1] flags (bit0 allow_8bit, bit1 body
 * from a reader, bit2 attachment present, bit3 attachment from a reader,
 * bits4-5 priority choice, bit6 extra header present, bit7 Message-ID domain),
 * [2..3] UTC offset (signed, minutes), [4..7] time.
 *
 * Checks: begin refuses any field holding CR or LF; when it accepts, the
 * whole message reads to POSTIE_DONE, every line ends in CRLF (no bare CR or
 * LF), no line exceeds 998 octets, the header section is a clean series of
 * "Name:" lines and folded continuations (so no value could smuggle in a
 * header), no Bcc header is written, and the bytes are the same whether read
 * 4096 bytes at a time or in fuzzed small pieces.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "postie/compose.h"

#define NFIELDS 14

/* abort() with a reason, so a finding says what broke */
static void die(const char *why)
{
    fprintf(stderr, "fuzz_compose: %s\n", why);
    abort();
}

typedef struct piece_reader {
    const unsigned char *data;
    size_t len, pos;
    unsigned seed;
} piece_reader;

static postie_status piece_read(void *user, char *buf, size_t cap, size_t *n)
{
    piece_reader *r = user;
    size_t k;
    if (r->pos >= r->len) {
        *n = 0;
        return POSTIE_DONE;
    }
    r->seed = r->seed * 1103515245u + 12345u;
    k = (r->seed >> 16) % 97 + 1;
    if (k > cap) {
        k = cap;
    }
    if (k > r->len - r->pos) {
        k = r->len - r->pos;
    }
    memcpy(buf, r->data + r->pos, k);
    r->pos += k;
    *n = k;
    /* sometimes hand the last bytes with POSTIE_DONE, as the contract allows */
    return (r->pos == r->len && (r->seed & 0x100000u)) ? POSTIE_DONE : POSTIE_OK;
}

typedef struct setup {
    postie_compose_message m;
    postie_compose_address from, to, cc, bcc;
    postie_compose_header hdr;
    postie_compose_attachment att;
    piece_reader body_r, att_r;
    const unsigned char *body;
    size_t body_len;
    const unsigned char *att_data;
    size_t att_len;
} setup;

static void build(setup *s, const unsigned char *ctl, char **f, size_t *flen, unsigned char rnd[16])
{
    static const int prio[4] = {POSTIE_COMPOSE_PRIORITY_HIGH, POSTIE_COMPOSE_PRIORITY_NORMAL,
                                POSTIE_COMPOSE_PRIORITY_LOW, 3};
    uint32_t t = (uint32_t)ctl[4] << 24 | (uint32_t)ctl[5] << 16 | (uint32_t)ctl[6] << 8 | ctl[7];
    memset(s, 0, sizeof *s);
    postie_compose_message_init(&s->m);
    s->m.time = (int64_t)t * 59; /* reaches years past 9999: out-of-range too */
    s->m.utc_offset_minutes = (int)(int16_t)((uint16_t)ctl[2] << 8 | ctl[3]) % 1600;
    s->m.random = rnd;
    s->m.random_len = 16;
    s->from.name = f[0];
    s->from.address = f[1];
    s->m.from = s->from;
    s->to.name = f[2];
    s->to.address = f[3];
    s->m.to = &s->to;
    s->m.to_count = 1;
    s->cc.name = f[4];
    s->cc.address = f[5];
    s->m.cc = &s->cc;
    s->m.cc_count = flen[5] > 0;
    s->bcc.name = "Hidden Bcc";
    s->bcc.address = f[6];
    s->m.bcc = &s->bcc;
    s->m.bcc_count = flen[6] > 0;
    s->m.subject = flen[7] > 0 ? f[7] : NULL;
    s->m.priority = prio[(ctl[1] >> 4) & 3];
    if (ctl[1] & 0x40) {
        s->hdr.name = f[8];
        s->hdr.value = f[9];
        s->m.headers = &s->hdr;
        s->m.header_count = 1;
    }
    if (ctl[1] & 0x80) {
        s->m.message_id_domain = f[8];
    }
    s->m.allow_8bit = ctl[1] & 1;
    s->body = (const unsigned char *)f[12];
    s->body_len = flen[12];
    if (ctl[1] & 2) {
        s->body_r.data = s->body;
        s->body_r.len = s->body_len;
        s->body_r.seed = ctl[0];
        s->m.body_read = piece_read;
        s->m.body_user = &s->body_r;
    } else {
        s->m.body = f[12];
        s->m.body_len = flen[12];
    }
    if (ctl[1] & 4) {
        s->att.filename = flen[10] > 0 ? f[10] : NULL;
        s->att.content_type = flen[11] > 0 ? f[11] : NULL;
        if (ctl[1] & 8) {
            s->att_r.data = (const unsigned char *)f[13];
            s->att_r.len = flen[13];
            s->att_r.seed = ctl[0] + 1u;
            s->att.read = piece_read;
            s->att.read_user = &s->att_r;
        } else {
            s->att.data = f[13];
            s->att.len = flen[13];
        }
        s->m.attachments = &s->att;
        s->m.attachment_count = 1;
    }
}

static int has_crlf(const char *s, size_t n)
{
    return memchr(s, '\r', n) != NULL || memchr(s, '\n', n) != NULL;
}

/* Reads everything; small pieces when seed != 0. Returns a malloc'd buffer. */
static unsigned char *read_all(postie_compose *c, unsigned seed, size_t *len)
{
    size_t cap = 1 << 16, total = 0;
    unsigned char *out = malloc(cap);
    char buf[4096];
    for (;;) {
        size_t want = sizeof buf, n = 0;
        postie_status st;
        if (seed != 0) {
            seed = seed * 1103515245u + 12345u;
            want = (seed >> 16) % 80 + 1;
        }
        st = postie_compose_read(c, buf, want, &n);
        if (st == POSTIE_DONE) {
            if (n != 0) {
                die("unexpected status or length");
            }
            break;
        }
        if (st != POSTIE_OK || n == 0 || n > want) {
            die("unexpected status or length");
        }
        if (total + n > cap) {
            cap *= 2;
            out = realloc(out, cap);
        }
        memcpy(out + total, buf, n);
        total += n;
    }
    *len = total;
    return out;
}

static void check_message(const unsigned char *msg, size_t len)
{
    size_t i, line = 0, start = 0;
    int in_headers = 1;
    for (i = 0; i < len; i++) {
        if (msg[i] == '\n') {
            die("bare LF");
        }
        if (msg[i] != '\r') {
            line++;
            continue;
        }
        if (i + 1 >= len || msg[i + 1] != '\n' || line > 998) {
            die("bare CR, or a line too long");
        }
        if (in_headers) {
            const unsigned char *l = msg + start;
            if (line == 0) {
                in_headers = 0; /* the empty line ends the header section */
            } else if (l[0] == ' ' || l[0] == '\t') {
                size_t k;
                for (k = 0; k < line && (l[k] == ' ' || l[k] == '\t'); k++) {
                }
                if (k == line || start == 0) {
                    die("whitespace-only continuation, or one first");
                }
            } else {
                size_t k;
                for (k = 0; k < line && l[k] != ':'; k++) {
                    if (l[k] < 33 || l[k] > 126) {
                        die("not a header name");
                    }
                }
                if (k == 0 || k == line) {
                    die("empty header name or no colon");
                }
                if (k == 3 && (l[0] | 32) == 'b' && (l[1] | 32) == 'c' && (l[2] | 32) == 'c') {
                    die("Bcc written");
                }
            }
        }
        i++;
        line = 0;
        start = i + 1;
    }
    if (line != 0 || in_headers) {
        die("must end with CRLF, after a header section");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char ctl[8] = {0};
    unsigned char rnd[16];
    char *copy, *f[NFIELDS];
    size_t flen[NFIELDS], i, p, k, len1, len2;
    setup s;
    postie_compose c;
    postie_status st;
    int crlf = 0;
    unsigned char *m1, *m2;

    if (size > 65536) {
        return 0;
    }
    memcpy(ctl, data, size < 8 ? size : 8);
    p = size < 8 ? size : 8;
    copy = malloc(size - p + NFIELDS + 1);
    memcpy(copy, data + p, size - p);
    memset(copy + (size - p), 0, NFIELDS + 1);
    /* NUL-separated fields; the last one takes the rest (NULs included) */
    k = 0;
    for (i = 0; i < NFIELDS - 1; i++) {
        f[i] = copy + k;
        flen[i] = strlen(f[i]);
        k += flen[i] + (k + flen[i] < size - p ? 1 : 0);
        if (k > size - p) {
            k = size - p;
        }
    }
    f[NFIELDS - 1] = copy + k;
    flen[NFIELDS - 1] = size - p - k;
    for (i = 0; i < 16; i++) {
        rnd[i] = (unsigned char)(ctl[i % 8] * 31u + i);
    }
    build(&s, ctl, f, flen, rnd);

    for (i = 0; i < 12; i++) {
        if (i == 8 && !(ctl[1] & 0xC0)) {
            continue; /* header name unused */
        }
        if (i == 9 && !(ctl[1] & 0x40)) {
            continue;
        }
        if ((i == 10 || i == 11) && !(ctl[1] & 4)) {
            continue;
        }
        if ((i == 4 || i == 5) && flen[5] == 0) {
            continue; /* no Cc */
        }
        if (i == 6 && flen[i] == 0) {
            continue;
        }
        crlf |= has_crlf(f[i], flen[i]);
    }

    st = postie_compose_begin(&c, &s.m);
    if (crlf && st != POSTIE_ERR_PARAM) {
        die("a CR or LF in a header field was accepted");
    }
    if (st == POSTIE_OK) {
        m1 = read_all(&c, 0, &len1);
        check_message(m1, len1);
        build(&s, ctl, f, flen, rnd); /* fresh readers */
        if (postie_compose_begin(&c, &s.m) != POSTIE_OK) {
            die("second begin failed");
        }
        m2 = read_all(&c, ctl[0] | 1u, &len2);
        if (len1 != len2 || memcmp(m1, m2, len1) != 0) {
            die("output depends on read sizes");
        }
        free(m1);
        free(m2);
    } else if (st != POSTIE_ERR_PARAM) {
        die("begin returned neither OK nor ERR_PARAM");
    }
    free(copy);
    return 0;
}
