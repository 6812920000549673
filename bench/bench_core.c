/*
 * bench/bench_core.c - throughput of Postie's no-I/O core on synthetic data
 * held in memory: the POP3 body decoder, the SMTP dot-stuffer, the line
 * framer (alone and with the SMTP reply parser), the streaming base64
 * encoder and the message composer.
 *
 *   bench_core [--reps N] [--scale D] [--case NAME] [--list]
 *
 * Sizes at scale 1: a 64 MiB message (76-character lines, one line in 40
 * starting with '.'), 16 MiB of short reply lines, 16 MiB for base64, a
 * 16 MiB attachment for the composer. --scale D divides every size by D
 * (bench/callgrind.sh uses a small input). Each case is run N times (default
 * 5) and the median time is reported; every case is checked once for correct
 * output before it is timed, outside the timed region.
 *
 * The timed work of every case happens inside bench_measured(), which is
 * never inlined, so that `valgrind --tool=callgrind
 * --toggle-collect='bench_measured*'` counts exactly the instructions of the
 * work (data generation excluded; the pattern also catches the clone gcc
 * makes of it, bench_measured.constprop.0).
 *
 * Output: one Markdown table, one row per case; and, with --case, a line
 * "bytes N" giving the byte count the per-byte figures divide by.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "postie/base64_stream.h"
#include "postie/compose.h"
#include "postie/line.h"
#include "postie/pop3_proto.h"
#include "postie/smtp_proto.h"

#define MIB (1024u * 1024u)

static void die(const char *what)
{
    fprintf(stderr, "bench_core: %s\n", what);
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) die("out of memory");
    return p;
}

/* ------------------------------------------------------------- test data */

typedef struct buf {
    char *p;
    size_t len;
} buf;

static uint32_t rng_state = 12345u;
static uint32_t rng(void) /* xorshift32: deterministic data, run after run */
{
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng_state = x;
}

/* A message of exactly `size` bytes: lines of 76 printable characters and
 * CRLF; one line in 40 starts with '.', one in 400 is a lone "." line. */
static buf make_message(size_t size)
{
    static const char chars[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 +/=-_,;:";
    buf m;
    size_t i = 0, line = 0;
    m.p = xmalloc(size);
    m.len = size;
    while (i < size) {
        size_t k, n = 76;
        if (size - i < 80) n = size - i - 2; /* the last line ends the message exactly */
        for (k = 0; k < n; k++) m.p[i + k] = chars[rng() % (sizeof chars - 1)];
        if (n > 0 && line % 40 == 7) m.p[i] = '.';
        if (n > 0 && line % 400 == 123) n = 1, m.p[i] = '.';
        i += n;
        if (i < size) m.p[i++] = '\r';
        if (i < size) m.p[i++] = '\n';
        line++;
    }
    return m;
}

/* The POP3 wire form of m (written here, not with the library's encoder):
 * dot-stuffed, then ".\r\n". m ends with CRLF. */
static buf make_wire(const buf *m)
{
    buf w;
    size_t i, o = 0;
    int bol = 1;
    w.p = xmalloc(m->len + m->len / 40 + 16);
    for (i = 0; i < m->len; i++) {
        if (bol && m->p[i] == '.') w.p[o++] = '.';
        w.p[o++] = m->p[i];
        bol = m->p[i] == '\n';
    }
    memcpy(w.p + o, ".\r\n", 3);
    w.len = o + 3;
    return w;
}

/* Short reply lines (SMTP EHLO/reply lines, POP3 LIST/UIDL lines), CRLF. */
static buf make_reply_lines(size_t size, int smtp_replies)
{
    static const char *const kw[] = {"250-PIPELINING", "250-SIZE 41943040", "250-8BITMIME",
                                     "250-ENHANCEDSTATUSCODES", "250-AUTH PLAIN LOGIN CRAM-MD5",
                                     "250-DSN", "250-SMTPUTF8"};
    buf b;
    size_t o = 0;
    unsigned long n = 1;
    b.p = xmalloc(size + 128);
    while (o < size) {
        int len;
        if (smtp_replies) {
            /* 7 continuation lines, then the last line of the reply */
            if (n % 8 == 0)
                len = sprintf(b.p + o, "250 2.0.0 Ok: queued as %08lX\r\n", (unsigned long)rng());
            else
                len = sprintf(b.p + o, "%s\r\n", kw[n % 8 - 1]);
        } else if (n % 2) {
            len = sprintf(b.p + o, "%lu %lu\r\n", n, (unsigned long)(rng() % 100000));
        } else {
            len = sprintf(b.p + o, "%lu %u.P%uQ%lu.postie\r\n", n, 1700000000u + rng() % 1000u,
                          rng() % 65536u, n);
        }
        o += (size_t)len;
        n++;
    }
    /* cut after the last complete reply (SMTP) or line */
    while (o > 0 && b.p[o - 1] != '\n') o--;
    if (smtp_replies) {
        while (o > 0) {
            size_t s = o - 1;
            while (s > 0 && b.p[s - 1] != '\n') s--;
            if (b.p[s + 3] == ' ') break;
            o = s;
        }
    }
    b.len = o;
    return b;
}

static buf make_random(size_t size)
{
    buf b;
    size_t i;
    b.p = xmalloc(size);
    b.len = size;
    for (i = 0; i < size; i++) b.p[i] = (char)(rng() >> 24);
    return b;
}

/* ----------------------------------------------------------------- cases */

typedef enum kind { K_POP3, K_SMTP, K_LINE, K_REPLY, K_B64, K_COMPOSE } kind;

typedef struct bench_case {
    const char *name;
    kind k;
    size_t chunk; /* input chunk (decoder, stuffer, framer, base64) */
    size_t cap;   /* output buffer (decoder, stuffer, composer) */
} bench_case;

static const bench_case cases[] = {
    {"pop3-body in=1 out=1", K_POP3, 1, 1},
    {"pop3-body in=64 out=1", K_POP3, 64, 1},
    {"pop3-body in=1460 out=1", K_POP3, 1460, 1},
    {"pop3-body in=16384 out=1", K_POP3, 16384, 1},
    {"pop3-body in=1 out=4096", K_POP3, 1, 4096},
    {"pop3-body in=64 out=4096", K_POP3, 64, 4096},
    {"pop3-body in=1460 out=4096", K_POP3, 1460, 4096},
    {"pop3-body in=16384 out=4096", K_POP3, 16384, 4096},
    {"smtp-dot in=1 out=2", K_SMTP, 1, 2},
    {"smtp-dot in=64 out=2", K_SMTP, 64, 2},
    {"smtp-dot in=1460 out=2", K_SMTP, 1460, 2},
    {"smtp-dot in=16384 out=2", K_SMTP, 16384, 2},
    {"smtp-dot in=1 out=4096", K_SMTP, 1, 4096},
    {"smtp-dot in=64 out=4096", K_SMTP, 64, 4096},
    {"smtp-dot in=1460 out=4096", K_SMTP, 1460, 4096},
    {"smtp-dot in=16384 out=4096", K_SMTP, 16384, 4096},
    {"line-framer in=1", K_LINE, 1, 0},
    {"line-framer in=1460", K_LINE, 1460, 0},
    {"line-framer in=16384", K_LINE, 16384, 0},
    {"smtp-reply in=1460", K_REPLY, 1460, 0},
    {"base64-stream in=57", K_B64, 57, 0},
    {"base64-stream in=228", K_B64, 228, 0},
    {"base64-stream in=16384", K_B64, 16384, 0},
    {"compose out=1", K_COMPOSE, 0, 1},
    {"compose out=1460", K_COMPOSE, 0, 1460},
    {"compose out=4096", K_COMPOSE, 0, 4096},
};
#define NCASES (sizeof cases / sizeof cases[0])

/* Everything a case works on. */
typedef struct data {
    buf msg, wire, lines, replies, rnd, att;
    char *out;        /* output scratch (size out_cap) */
    size_t out_cap;
    char *check;      /* verification copy of an output (size check_cap) */
    size_t check_cap;
    postie_compose *compose;
} data;

typedef struct result {
    unsigned long long in_bytes, out_bytes, units; /* units: lines, replies */
    unsigned long calls;
} result;

/* Copies produced bytes to d->check when verifying (never when timed). */
static void keep(data *d, size_t *kept, const char *p, size_t n, int verify)
{
    if (!verify) return;
    if (*kept + n > d->check_cap) die("verification buffer too small");
    memcpy(d->check + *kept, p, n);
    *kept += n;
}

static void run_pop3(const bench_case *c, data *d, result *r, int verify)
{
    postie_pop3_body b;
    size_t off = 0, kept = 0;
    int done = 0;
    postie_pop3_body_init(&b);
    while (off < d->wire.len && !done) {
        size_t len = d->wire.len - off < c->chunk ? d->wire.len - off : c->chunk;
        const char *p = d->wire.p + off;
        off += len;
        while (len > 0) {
            size_t used, made;
            postie_status st = postie_pop3_body_feed(&b, p, len, &used, d->out, c->cap, &made);
            r->calls++;
            if (st < 0) die("pop3 body decoder failed");
            if (used == 0 && made == 0 && st != POSTIE_DONE) die("pop3 body decoder stuck");
            p += used;
            len -= used;
            r->out_bytes += made;
            keep(d, &kept, d->out, made, verify);
            if (st == POSTIE_DONE) {
                done = 1;
                break;
            }
        }
    }
    if (!done) die("pop3 body decoder: no end of message");
    r->in_bytes = d->wire.len;
    if (verify && (kept != d->msg.len || memcmp(d->check, d->msg.p, kept) != 0))
        die("pop3 body decoder: output differs from the message");
}

static void run_smtp(const bench_case *c, data *d, result *r, int verify)
{
    postie_smtp_dot dot;
    size_t off = 0, kept = 0, made;
    postie_smtp_dot_init(&dot);
    while (off < d->msg.len) {
        size_t len = d->msg.len - off < c->chunk ? d->msg.len - off : c->chunk;
        const char *p = d->msg.p + off;
        off += len;
        while (len > 0) {
            size_t used;
            if (postie_smtp_dot_feed(&dot, p, len, &used, d->out, c->cap, &made) != POSTIE_OK)
                die("smtp dot-stuffer failed");
            r->calls++;
            if (used == 0) die("smtp dot-stuffer stuck");
            p += used;
            len -= used;
            r->out_bytes += made;
            keep(d, &kept, d->out, made, verify);
        }
    }
    if (postie_smtp_dot_finish(&dot, d->out, d->out_cap, &made) != POSTIE_OK)
        die("smtp dot-stuffer finish failed");
    r->out_bytes += made;
    keep(d, &kept, d->out, made, verify);
    r->in_bytes = d->msg.len;
    if (verify && (kept != d->wire.len || memcmp(d->check, d->wire.p, kept) != 0))
        die("smtp dot-stuffer: output differs from the wire form");
}

static void run_line(const bench_case *c, data *d, result *r, int verify)
{
    static postie_line l; /* large with some configurations: not on the stack */
    size_t off = 0, kept = 0;
    postie_line_init(&l);
    while (off < d->lines.len) {
        size_t len = d->lines.len - off < c->chunk ? d->lines.len - off : c->chunk;
        const char *p = d->lines.p + off;
        off += len;
        while (len > 0) {
            size_t used;
            postie_status st = postie_line_feed(&l, p, len, &used);
            r->calls++;
            if (st < 0) die("line framer failed");
            p += used;
            len -= used;
            if (st == POSTIE_DONE) {
                r->units++;
                keep(d, &kept, l.buf, l.len, verify);
                keep(d, &kept, "\r\n", 2, verify);
            }
        }
    }
    r->in_bytes = d->lines.len;
    if (verify && (kept != d->lines.len || memcmp(d->check, d->lines.p, kept) != 0))
        die("line framer: lines differ from the input");
}

static void run_reply(const bench_case *c, data *d, result *r, int verify)
{
    /* the reply engine as the SMTP session runs it: a connection engine
     * frames the lines, postie_smtp_reply_read assembles the replies */
    static postie_conn conn;
    static postie_smtp_reply rep;
    size_t off = 0;
    postie_conn_init(&conn);
    postie_smtp_reply_init(&rep);
    while (off < d->replies.len) {
        size_t len = d->replies.len - off < c->chunk ? d->replies.len - off : c->chunk, cap = 0;
        char *room = postie_conn_in(&conn, &cap);
        postie_status st;
        if (len > cap) len = cap;
        memcpy(room, d->replies.p + off, len);
        postie_conn_in_done(&conn, len);
        off += len;
        while ((st = postie_smtp_reply_read(&rep, &conn, NULL)) == POSTIE_DONE) {
            r->calls++;
            r->units++;
            if (verify && (rep.code != 250 || rep.lines != 8))
                die("smtp reply parser: unexpected reply");
            postie_smtp_reply_init(&rep);
        }
        r->calls++;
        if (st != POSTIE_AGAIN) die("smtp reply parser failed");
    }
    r->in_bytes = d->replies.len;
    if (verify && r->units == 0) die("smtp reply parser: no reply");
}

static void run_b64(const bench_case *c, data *d, result *r, int verify)
{
    postie_base64_stream s;
    size_t off = 0, kept = 0, n;
    postie_base64_stream_init(&s, 76);
    while (off < d->rnd.len) {
        size_t len = d->rnd.len - off < c->chunk ? d->rnd.len - off : c->chunk;
        n = postie_base64_stream_update(&s, d->rnd.p + off, len, d->out, d->out_cap);
        if (n == 0 && len >= 3) die("base64 encoder wrote nothing");
        r->calls++;
        r->out_bytes += n;
        keep(d, &kept, d->out, n, verify);
        off += len;
    }
    n = postie_base64_stream_final(&s, d->out, d->out_cap);
    r->out_bytes += n;
    keep(d, &kept, d->out, n, verify);
    r->in_bytes = d->rnd.len;
    if (verify) {
        /* expected: 4 characters per 3 bytes, padded, CRLF between 76-char lines */
        size_t chars = (d->rnd.len + 2) / 3 * 4;
        size_t want = chars + (chars - 1) / 76 * 2;
        if (kept != want || kept < 80 || memcmp(d->check + 76, "\r\n", 2) != 0)
            die("base64 encoder: unexpected output length or layout");
    }
}

static const unsigned char compose_random[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void run_compose(const bench_case *c, data *d, result *r, int verify)
{
    static const char body[] = "Hello,\r\n\r\nthe measurements are attached.\r\n\r\n-- \r\nbench\r\n";
    postie_compose_message m;
    postie_compose_attachment att;
    postie_compose_address to = {"Bob", "bob@postie.test"};
    postie_status st;
    size_t n, kept = 0;
    postie_compose_message_init(&m);
    m.time = 1763776800; /* fixed: the output is the same every run */
    m.utc_offset_minutes = 60;
    m.random = compose_random;
    m.random_len = sizeof compose_random;
    m.from.name = "Alice";
    m.from.address = "alice@postie.test";
    m.to = &to;
    m.to_count = 1;
    m.subject = "Benchmark attachment";
    m.body = body;
    m.body_len = sizeof body - 1;
    memset(&att, 0, sizeof att);
    att.filename = "data.bin";
    att.data = d->att.p;
    att.len = d->att.len;
    m.attachments = &att;
    m.attachment_count = 1;
    if (postie_compose_begin(d->compose, &m) != POSTIE_OK) die("compose_begin failed");
    while ((st = postie_compose_read(d->compose, d->out, c->cap, &n)) == POSTIE_OK) {
        r->calls++;
        r->out_bytes += n;
        keep(d, &kept, d->out, n, verify);
    }
    if (st != POSTIE_DONE) die("compose_read failed");
    r->in_bytes = d->att.len;
    if (verify) {
        /* the attachment's base64 is in the output, whole */
        size_t chars = (d->att.len + 2) / 3 * 4;
        size_t lines = (chars + 75) / 76;
        if (kept < chars + lines * 2 || kept > chars + lines * 2 + 2048)
            die("composer: unexpected message size");
    }
}

/* The timed work. Never inlined: callgrind.sh counts instructions inside it. */
__attribute__((noinline)) void bench_measured(const bench_case *c, data *d, result *r, int verify);
__attribute__((noinline)) void bench_measured(const bench_case *c, data *d, result *r, int verify)
{
    switch (c->k) {
    case K_POP3: run_pop3(c, d, r, verify); break;
    case K_SMTP: run_smtp(c, d, r, verify); break;
    case K_LINE: run_line(c, d, r, verify); break;
    case K_REPLY: run_reply(c, d, r, verify); break;
    case K_B64: run_b64(c, d, r, verify); break;
    case K_COMPOSE: run_compose(c, d, r, verify); break;
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static const char *unit_name(kind k)
{
    switch (k) {
    case K_POP3: return "wire bytes in";
    case K_SMTP: return "message bytes in";
    case K_LINE: return "bytes in";
    case K_REPLY: return "bytes in";
    case K_B64: return "binary bytes in";
    case K_COMPOSE: return "attachment bytes";
    }
    return "";
}

int main(int argc, char **argv)
{
    int reps = 5, i;
    size_t scale = 1, k;
    const char *only = NULL;
    data d;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc) scale = (size_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--case") == 0 && i + 1 < argc) only = argv[++i];
        else if (strcmp(argv[i], "--list") == 0) {
            for (k = 0; k < NCASES; k++) printf("%s\n", cases[k].name);
            return 0;
        } else {
            fprintf(stderr, "usage: bench_core [--reps N] [--scale D] [--case NAME] [--list]\n");
            return 2;
        }
    }
    if (reps < 1 || reps > 100 || scale < 1 || scale > 64) die("--reps 1..100, --scale 1..64");
    if (only) {
        for (k = 0; k < NCASES && strcmp(cases[k].name, only) != 0; k++) {}
        if (k == NCASES) die("no such case (see --list)");
    }

    memset(&d, 0, sizeof d);
    d.msg = make_message(64u * MIB / scale);
    d.wire = make_wire(&d.msg);
    d.lines = make_reply_lines(16u * MIB / scale, 0);
    d.replies = make_reply_lines(16u * MIB / scale, 1);
    d.rnd = make_random(16u * MIB / scale);
    d.att = d.rnd; /* the composer's attachment: the same 16 MiB of random bytes */
    d.out_cap = 32768; /* >= base64 of the largest chunk (16384 -> 22422 characters) */
    d.out = xmalloc(d.out_cap);
    d.check_cap = d.wire.len + d.att.len / 3 * 4 + d.att.len / 20 + 4096;
    d.check = xmalloc(d.check_cap);
    d.compose = xmalloc(sizeof *d.compose);

    if (!only) {
        printf("| case | size (MiB) | MB/s (median of %d) | min..max MB/s | calls |\n", reps);
        printf("|---|---:|---:|---:|---:|\n");
    }
    for (k = 0; k < NCASES; k++) {
        const bench_case *c = &cases[k];
        double t[100], mbs, lo, hi;
        result r;
        if (only && strcmp(c->name, only) != 0) continue;
        memset(&r, 0, sizeof r);
        if (!only) bench_measured(c, &d, &r, 1); /* checks the output; untimed */
        for (i = 0; i < reps; i++) {
            double t0;
            memset(&r, 0, sizeof r);
            t0 = now_s();
            bench_measured(c, &d, &r, 0);
            t[i] = now_s() - t0;
        }
        if (only) {
            printf("case %s\nbytes %llu\nunit %s\nout_bytes %llu\ncalls %lu\nunits %llu\nreps %d\n",
                   c->name, r.in_bytes, unit_name(c->k), r.out_bytes, r.calls, r.units, reps);
            continue;
        }
        qsort(t, (size_t)reps, sizeof t[0], cmp_double);
        mbs = (double)r.in_bytes / 1e6 / t[reps / 2];
        lo = (double)r.in_bytes / 1e6 / t[reps - 1];
        hi = (double)r.in_bytes / 1e6 / t[0];
        printf("| %s | %.1f | %.1f | %.1f..%.1f | %lu |\n", c->name, (double)r.in_bytes / MIB, mbs, lo,
               hi, r.calls);
        fflush(stdout);
    }
    if (!only)
        printf("\nMB = 10^6 bytes of input: POP3 wire bytes (dot-stuffed, with the final \".\"), "
               "message bytes for the SMTP stuffer, binary bytes for base64, attachment bytes "
               "for the composer (its output is about 4/3 of that).\n");
    return 0;
}
