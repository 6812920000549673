/*
 * libFuzzer target: a whole POP3 client session against fuzzed server bytes.
 *
 * Input: byte 0 = flags (bit 0: when the bytes run out the server stalls
 * (POSTIE_ERR_TIMEOUT) rather than closing; bits 1-3 pick the read buffer
 * size), byte 1 seeds the recv split points, the rest is everything the
 * server says, in order. The session: open, login AUTO, STAT, LIST all, UIDL
 * all, RETR of every message (up to 16), TOP, DELE, RSET, NOOP, QUIT.
 *
 * It must never crash, hang or loop without consuming input. Checks: every
 * command sent is one line ending in CRLF with no other CR or LF; a message
 * never yields more bytes than the server sent; once CLOSED, calls say so.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postie/pop3.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

typedef struct mem_server {
    const char *data;
    size_t len, pos;
    uint32_t seed;
    size_t maxchunk;
    long at_end;
    size_t recv_calls_at_end;
    int closed;
} mem_server;

static uint32_t next_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static long mem_send(void *ctx, const void *buf, size_t len, unsigned timeout_ms)
{
    const char *b = buf;
    size_t i;
    mem_server *m = ctx;
    (void)timeout_ms;
    CHECK(!m->closed);
    /* the client sends whole commands: one line, CRLF only at the end */
    CHECK(len >= 2 && b[len - 2] == '\r' && b[len - 1] == '\n');
    for (i = 0; i + 2 < len; i++) {
        CHECK(b[i] != '\r' && b[i] != '\n' && b[i] != '\0');
    }
    return (long)len;
}

static long mem_recv(void *ctx, void *buf, size_t len, unsigned timeout_ms)
{
    mem_server *m = ctx;
    size_t n;
    (void)timeout_ms;
    CHECK(!m->closed);
    CHECK(len >= 1);
    if (m->pos >= m->len) {
        /* a client that keeps asking after the end would be looping */
        CHECK(++m->recv_calls_at_end < 64);
        return m->at_end;
    }
    n = 1 + next_rand(&m->seed) % m->maxchunk;
    if (n > len) {
        n = len;
    }
    if (n > m->len - m->pos) {
        n = m->len - m->pos;
    }
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (long)n;
}

static void mem_close(void *ctx)
{
    mem_server *m = ctx;
    CHECK(!m->closed);
    m->closed = 1;
}

static int list_cb(void *user, unsigned long msg, unsigned long octets)
{
    (void)octets;
    CHECK(msg >= 1);
    return ++*(int *)user > 10000;
}

static int uidl_cb(void *user, unsigned long msg, const char *uid)
{
    size_t len = strlen(uid);
    (void)user;
    CHECK(msg >= 1 && len >= 1 && len <= 70);
    return 0;
}

static void read_message(postie_pop3 *p, size_t cap, const mem_server *m)
{
    static char buf[512];
    size_t n, total = 0;
    postie_status st;
    size_t before = m->pos;
    while ((st = postie_pop3_read(p, buf, cap, &n)) == POSTIE_OK) {
        CHECK(n >= 1 && n <= cap);
        total += n;
        /* output never runs ahead of input (plus bytes already buffered) */
        CHECK(total <= m->pos - before + POSTIE_RECV_BUF_SIZE);
    }
    CHECK(n == 0);
    if (st == POSTIE_DONE) {
        CHECK(postie_pop3_read(p, buf, cap, &n) == POSTIE_ERR_STATE);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t caps[] = {1, 2, 3, 7, 64, 100, 333, 512};
    mem_server m;
    postie_transport tr;
    postie_pop3 p;
    unsigned long count = 0, octets = 0, i;
    int committed = 5, entries = 0;
    size_t cap;
    char uid[POSTIE_POP3_UID_MAX];

    if (size < 2) {
        return 0;
    }
    memset(&m, 0, sizeof m);
    m.data = (const char *)data + 2;
    m.len = size - 2;
    m.seed = 0x6b43a9b5u ^ data[1];
    m.maxchunk = 1 + data[1] % 128;
    m.at_end = (data[0] & 1) ? POSTIE_ERR_TIMEOUT : 0;
    cap = caps[(data[0] >> 1) & 7];

    memset(&tr, 0, sizeof tr);
    tr.ctx = &m;
    tr.send = mem_send;
    tr.recv = mem_recv;
    tr.close = mem_close;
    CHECK(postie_pop3_init(&p, &tr) == POSTIE_OK);
    postie_pop3_set_timeout(&p, 10);

    if (postie_pop3_open(&p) == POSTIE_OK) {
        CHECK(postie_pop3_get_state(&p) == POSTIE_POP3_STATE_AUTHORIZATION);
        CHECK(strlen(postie_pop3_sasl_mechs(&p)) < POSTIE_SASL_MECHS_MAX);
        CHECK(strlen(postie_pop3_timestamp(&p)) < POSTIE_POP3_TIMESTAMP_MAX);
    }
    CHECK(strlen(postie_pop3_reply_text(&p)) < POSTIE_REPLY_TEXT_MAX);
    if (postie_pop3_login(&p, "mrose", "tanstaaf", POSTIE_POP3_LOGIN_AUTO) == POSTIE_OK) {
        CHECK(postie_pop3_get_state(&p) == POSTIE_POP3_STATE_TRANSACTION);
    }
    if (postie_pop3_stat(&p, &count, &octets) == POSTIE_OK) {
        CHECK(p.count >= 0 && (unsigned long)p.count >= count);
    }
    (void)postie_pop3_list_all(&p, list_cb, &entries);
    (void)postie_pop3_uidl_all(&p, uidl_cb, NULL);
    (void)postie_pop3_list(&p, 1, &octets);
    (void)postie_pop3_uidl(&p, 1, uid, sizeof uid);
    for (i = 1; i <= 16 && p.count >= 0 && i <= (unsigned long)p.count; i++) {
        if (postie_pop3_retr_begin(&p, i, &octets) == POSTIE_OK) {
            read_message(&p, cap, &m);
        }
        CHECK(!p.busy || postie_pop3_get_state(&p) == POSTIE_POP3_STATE_CLOSED);
    }
    if (postie_pop3_top_begin(&p, 1, 3) == POSTIE_OK) {
        /* leave it half read sometimes: drain must finish it */
        size_t n;
        char b[3];
        (void)postie_pop3_read(&p, b, sizeof b, &n);
        CHECK(postie_pop3_noop(&p) == POSTIE_ERR_BUSY || !p.busy);
        (void)postie_pop3_drain(&p);
    }
    (void)postie_pop3_dele(&p, 1);
    (void)postie_pop3_rset(&p);
    (void)postie_pop3_noop(&p);
    (void)postie_pop3_quit(&p, &committed);
    CHECK(committed == 0 || committed == 1);
    CHECK(postie_pop3_get_state(&p) == POSTIE_POP3_STATE_CLOSED);
    CHECK(postie_pop3_noop(&p) == POSTIE_ERR_STATE);
    postie_pop3_close(&p);
    postie_pop3_close(&p);
    CHECK(m.closed == 1);
    return 0;
}
