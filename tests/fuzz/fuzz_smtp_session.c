/* libFuzzer: a whole SMTP session driven by fuzzed server bytes through an
 * in-memory transport: greeting, EHLO/HELO, STARTTLS, AUTH, MAIL, RCPTs,
 * DATA (streamed and from a buffer), NOOP, RSET, QUIT.
 * Input: byte 0 = recv chunk size (0 = as much as asked), byte 1 = options
 * (which AUTH mechanisms, refused-recipient policy, end-of-input = closed or
 * timeout, STARTTLS), the rest = everything the server says.
 * Checks: no crash or hang, and the smuggling payload written as message
 * content never reaches the wire as an end-of-data sequence. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postie/smtp.h"

typedef struct mem {
    const uint8_t *in;
    size_t len, pos, chunk;
    long at_end;
    char sent[16384];
    size_t sent_len;
} mem;

static long mem_send(void *ctx, const void *buf, size_t len, unsigned timeout_ms)
{
    mem *m = ctx;
    size_t k = len < sizeof m->sent - m->sent_len ? len : sizeof m->sent - m->sent_len;
    (void)timeout_ms;
    memcpy(m->sent + m->sent_len, buf, k);
    m->sent_len += k;
    return (long)len;
}

static long mem_recv(void *ctx, void *buf, size_t len, unsigned timeout_ms)
{
    mem *m = ctx;
    size_t k = m->len - m->pos;
    (void)timeout_ms;
    if (k == 0) {
        return m->at_end;
    }
    if (k > len) {
        k = len;
    }
    if (m->chunk && k > m->chunk) {
        k = m->chunk;
    }
    memcpy(buf, m->in + m->pos, k);
    m->pos += k;
    return (long)k;
}

static postie_status mem_tls(void *ctx, const char *name)
{
    (void)ctx;
    (void)name;
    return POSTIE_OK;
}

static void mem_close(void *ctx)
{
    (void)ctx;
}

static int contains(const char *h, size_t hn, const char *needle)
{
    size_t nn = strlen(needle), i;
    for (i = 0; i + nn <= hn; i++) {
        if (memcmp(h + i, needle, nn) == 0) {
            return 1;
        }
    }
    return 0;
}

static const char payload[] = "Subject: t\n\nx\r\n.\r\nEVIL\n.\nEVIL\r.\rEVIL\r\n.\r";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mem m;
    static postie_smtp s;
    postie_transport t;
    postie_smtp_rcpt r[3];
    postie_smtp_envelope env;
    unsigned opt;
    size_t i;

    if (size < 2) {
        return 0;
    }
    m.in = data + 2;
    m.len = size - 2;
    m.pos = 0;
    m.chunk = data[0] % 17;
    opt = data[1];
    m.at_end = (opt & 0x80) ? POSTIE_ERR_TIMEOUT : 0;
    m.sent_len = 0;
    memset(&t, 0, sizeof t);
    t.ctx = &m;
    t.send = mem_send;
    t.recv = mem_recv;
    t.start_tls = mem_tls;
    t.close = mem_close;
    if (postie_smtp_init(&s, &t) != POSTIE_OK || postie_smtp_set_domain(&s, "fuzz.example") != POSTIE_OK) {
        abort();
    }
    if (postie_smtp_open(&s) == POSTIE_OK) {
        if (opt & 0x40) {
            (void)postie_smtp_starttls(&s, "mx.example");
        }
        (void)postie_smtp_auth(&s, (opt & 0x20) ? POSTIE_SASL_TOKEN_MECHS : POSTIE_SASL_PASSWORD_MECHS,
                               "user@example.org", "secret");
        memset(&env, 0, sizeof env);
        memset(r, 0, sizeof r);
        r[0].addr = "a@example.org";
        r[1].addr = "b@example.org";
        r[2].addr = "c@example.org";
        r[2].params = "NOTIFY=NEVER";
        env.from = "me@example.org";
        env.rcpts = r;
        env.nrcpts = 3;
        env.size = 60;
        env.on_refused = (opt & 0x10) ? POSTIE_SMTP_REFUSED_CONTINUE : POSTIE_SMTP_REFUSED_ABORT;
        if (postie_smtp_mail(&s, &env) == POSTIE_OK) {
            if (env.accepted == 0 || env.accepted > 3) {
                abort();
            }
            if (postie_smtp_data_begin(&s) == POSTIE_OK) {
                for (i = 0; i < sizeof payload - 1; i += 5) {
                    size_t n = sizeof payload - 1 - i < 5 ? sizeof payload - 1 - i : 5;
                    if (postie_smtp_data_write(&s, payload + i, n) != POSTIE_OK) {
                        break;
                    }
                }
                {
                    unsigned long before = postie_smtp_messages_sent(&s);
                    postie_status st = postie_smtp_data_end(&s);
                    /* sent exactly when the dot got 250 */
                    if ((st == POSTIE_OK) != (postie_smtp_reply_code(&s) == 250 &&
                                              postie_smtp_messages_sent(&s) == before + 1) ||
                        (st != POSTIE_OK && postie_smtp_messages_sent(&s) != before)) {
                        abort();
                    }
                }
            }
        }
        for (i = 0; i < env.nrcpts; i++) {
            if (r[i].status != POSTIE_OK && r[i].status != POSTIE_ERR_TRANSIENT &&
                r[i].status != POSTIE_ERR_SERVER && r[i].status != POSTIE_ERR_STATE) {
                abort();
            }
        }
        memset(&env, 0, sizeof env);
        env.from = "";
        env.rcpts = r;
        env.nrcpts = 1;
        env.on_refused = POSTIE_SMTP_REFUSED_CONTINUE;
        (void)postie_smtp_send_buf(&s, &env, payload, sizeof payload - 1);
        (void)postie_smtp_noop(&s);
        (void)postie_smtp_rset(&s);
    }
    (void)postie_smtp_quit(&s);
    postie_smtp_close(&s);
    if (contains(m.sent, m.sent_len, "\n.\r\nEVIL") || contains(m.sent, m.sent_len, "\r.\r")) {
        abort();
    }
    return 0;
}
