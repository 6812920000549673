/*
 * libFuzzer target: a whole POP3 client session against fuzzed server bytes.
 *
 * Input: byte 0 = flags (bit 0: when the bytes run out the server stalls
 * (POSTIE_ERR_TIMEOUT) rather than closing; bits 1-3 pick the read buffer
 * size), byte 1 seeds the recv split points (its bit 7 also forbids
 * pipelining), the rest is everything the server says, in order. The
 * session: open, login AUTO, STAT, LIST all, UIDL all, RETR of every message
 * (up to 16), TOP, DELE, then a pipelined batch (postie_pop3_queue_*: RETR,
 * TOP, DELE, NOOP, LIST, UIDL, up to the queue's size and one more, flushed, replies
 * read in order, queue refilled once mid-way), RSET, NOOP, QUIT.
 *
 * It must never crash, hang or loop without consuming input. Checks: every
 * send is whole command lines, each ending in CRLF with no other CR or LF
 * (several lines only when the server announced PIPELINING); a message never
 * yields more bytes than the server sent; the queue never holds more than
 * POSTIE_POP3_PIPELINE_MAX entries and replies come back for the entries in
 * the order they were queued; once CLOSED, calls say so.
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
    int tls_on;        /* start_tls was called (and "succeeded") */
    int plain_secrets; /* the client may show secrets without TLS */
    int may_pipeline;  /* set by the harness: several lines per send are fine */
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
    /* the client sends whole commands: lines ending in CRLF, no other CR,
     * LF or NUL; more than one line only when pipelining (an empty line is a
     * SASL response) */
    CHECK(len >= 2 && b[len - 2] == '\r' && b[len - 1] == '\n');
    {
        size_t lines = 0;
        for (i = 0; i < len; i++) {
            if (b[i] == '\r') {
                CHECK(i + 1 < len && b[i + 1] == '\n');
                lines++;
                i++;
                continue;
            }
            CHECK(b[i] != '\n' && b[i] != '\0');
        }
        CHECK(lines == 1 || m->may_pipeline);
    }
    /* no command that shows the secret ever goes out in clear unless allowed */
    if (!m->tls_on && !m->plain_secrets) {
        CHECK(strncmp(b, "PASS ", 5) != 0 && strncmp(b, "AUTH PLAIN", 10) != 0 &&
              strncmp(b, "AUTH LOGIN", 10) != 0 && strncmp(b, "AUTH XOAUTH2", 12) != 0 &&
              strncmp(b, "AUTH OAUTHBEARER", 16) != 0);
    }
    return (long)len;
}

static postie_status mem_tls(void *ctx, const char *server_name)
{
    mem_server *m = ctx;
    CHECK(!m->closed && server_name != NULL);
    m->tls_on = 1;
    return POSTIE_OK;
}

static postie_status mem_random(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    memset(buf, 0x5a, len);
    return POSTIE_OK;
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
    /* bits 4-6 of data[0]: TLS in the transport, policy, plaintext allowance */
    tr.start_tls = (data[0] & 0x10) ? mem_tls : NULL;
    CHECK(postie_pop3_init(&p, &tr) == POSTIE_OK);
    CHECK(postie_pop3_set_tls(&p, (data[0] & 0x20) ? POSTIE_TLS_REQUIRED : POSTIE_TLS_OPPORTUNISTIC,
                              "pop.example") == POSTIE_OK);
    m.plain_secrets = (data[0] & 0x40) != 0;
    postie_pop3_allow_plaintext_credentials(&p, m.plain_secrets);
    postie_pop3_set_random(&p, mem_random, NULL);
    postie_pop3_set_timeout(&p, 10);

    if (postie_pop3_open(&p) == POSTIE_OK) {
        CHECK(postie_pop3_get_state(&p) == POSTIE_POP3_STATE_AUTHORIZATION);
        CHECK(strlen(postie_pop3_sasl_mechs(&p)) < POSTIE_SASL_MECHS_MAX);
        CHECK(strlen(postie_pop3_timestamp(&p)) < POSTIE_POP3_TIMESTAMP_MAX);
    }
    CHECK(strlen(postie_pop3_reply_text(&p)) < POSTIE_REPLY_TEXT_MAX);
    CHECK(postie_pop3_tls_active(&p) == m.tls_on);
    if (postie_pop3_auth(&p, (data[0] & 0x80) ? POSTIE_SASL_PASSWORD_MECHS : POSTIE_SASL_TOKEN_MECHS,
                         "user", "pencil") == POSTIE_OK) {
        CHECK(postie_pop3_get_state(&p) == POSTIE_POP3_STATE_TRANSACTION);
    }
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

    /* a pipelined batch */
    if (data[1] & 0x80) {
        postie_pop3_set_pipelining(&p, 0);
    }
    m.may_pipeline = postie_pop3_pipelining(&p);
    CHECK(!m.may_pipeline || (postie_pop3_caps(&p) & POSTIE_POP3_CAP_PIPELINING));
    {
        postie_pop3_cmd_kind want_kind[POSTIE_POP3_PIPELINE_MAX + 8];
        unsigned long want_msg[POSTIE_POP3_PIPELINE_MAX + 8];
        size_t nq = 0, head = 0, k, refilled = 0;
        unsigned long top = p.count > 0 ? (unsigned long)p.count : 1;
        postie_status st;
        for (k = 0; k < POSTIE_POP3_PIPELINE_MAX + 1; k++) {
            unsigned long msg = 1 + k % (top + 1); /* top + 1 is refused */
            postie_pop3_cmd_kind kind = (postie_pop3_cmd_kind)(1 + k % 6);
            switch (kind) {
            case POSTIE_POP3_CMD_RETR: st = postie_pop3_queue_retr(&p, msg); break;
            case POSTIE_POP3_CMD_TOP: st = postie_pop3_queue_top(&p, msg, k); break;
            case POSTIE_POP3_CMD_DELE: st = postie_pop3_queue_dele(&p, msg); break;
            case POSTIE_POP3_CMD_LIST: st = postie_pop3_queue_list(&p); msg = 0; break;
            case POSTIE_POP3_CMD_UIDL: st = postie_pop3_queue_uidl(&p); msg = 0; break;
            default: st = postie_pop3_queue_noop(&p); msg = 0; break;
            }
            if (st == POSTIE_OK) {
                CHECK(nq < POSTIE_POP3_PIPELINE_MAX);
                want_kind[nq] = kind;
                want_msg[nq++] = msg;
            } else if (st == POSTIE_ERR_BUFFER) {
                CHECK(nq == POSTIE_POP3_PIPELINE_MAX);
            }
            CHECK(postie_pop3_queued(&p) == nq - head);
        }
        (void)postie_pop3_flush(&p);
        for (;;) {
            postie_pop3_cmd_kind kind;
            unsigned long msg, oct;
            st = postie_pop3_next(&p, &kind, &msg, &oct);
            if (st == POSTIE_DONE) {
                CHECK(head == nq);
                break;
            }
            if (st == POSTIE_ERR_STATE) {
                /* never logged in (nothing could be queued), or closed */
                CHECK((postie_pop3_get_state(&p) != POSTIE_POP3_STATE_TRANSACTION && nq == 0) ||
                      postie_pop3_get_state(&p) == POSTIE_POP3_STATE_CLOSED);
                break;
            }
            if (st == POSTIE_ERR_BUSY) {
                CHECK(p.busy && nq == 0); /* a reply left over from before: nothing queued */
                break;
            }
            CHECK(head < nq && kind == want_kind[head] && msg == want_msg[head]);
            head++;
            if (st == POSTIE_OK && (kind == POSTIE_POP3_CMD_RETR || kind == POSTIE_POP3_CMD_TOP)) {
                CHECK(postie_pop3_next(&p, NULL, NULL, NULL) == POSTIE_ERR_BUSY);
                read_message(&p, cap, &m);
            } else if (st == POSTIE_OK &&
                       (kind == POSTIE_POP3_CMD_LIST || kind == POSTIE_POP3_CMD_UIDL)) {
                /* a queued listing: its entries, then the "." */
                unsigned long n, o;
                CHECK(postie_pop3_next(&p, NULL, NULL, NULL) == POSTIE_ERR_BUSY);
                do {
                    st = kind == POSTIE_POP3_CMD_LIST ? postie_pop3_list_next(&p, &n, &o)
                                                      : postie_pop3_uidl_next(&p, &n, uid, sizeof uid);
                } while (st == POSTIE_OK || st == POSTIE_ERR_BUFFER);
                CHECK(st == POSTIE_DONE || postie_pop3_get_state(&p) == POSTIE_POP3_STATE_CLOSED);
            } else if (st != POSTIE_OK && st != POSTIE_ERR_SERVER) {
                CHECK(postie_pop3_get_state(&p) == POSTIE_POP3_STATE_CLOSED);
                CHECK(postie_pop3_queued(&p) == 0);
                break;
            }
            if (!refilled && head == 2 && !p.busy &&
                postie_pop3_queue_noop(&p) == POSTIE_OK) {
                refilled = 1; /* the ring wraps: a new entry behind the rest */
                CHECK(nq < sizeof want_kind / sizeof want_kind[0]);
                want_kind[nq] = POSTIE_POP3_CMD_NOOP;
                want_msg[nq++] = 0;
                (void)postie_pop3_flush(&p);
            }
            if (p.busy) {
                (void)postie_pop3_drain(&p);
            }
        }
    }
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
