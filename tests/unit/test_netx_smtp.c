/* NetX Duo SMTP client services (postie_netx) against an in-memory SMTP
 * server that answers by command and hands its bytes out in pieces of any
 * size. Includes one regression test for each defect of the original SMTP
 * client named in the issue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "nx_api.h"
#include "nxd_smtp_client.h"
#include "nx_postie_hooks.h"
#include "nx_postie_tls.h"

/* ---- the in-memory server ---------------------------------------------------- */

typedef struct mini_smtp {
    /* replies; NULL means the default */
    const char *greeting, *ehlo, *helo, *auth, *auth2, *auth3, *mail, *rcpt, *data, *dot, *quit;
    int quit_lost;          /* never answer QUIT: recv then gives at_end */
    long at_end;            /* recv result when nothing is pending */
    size_t chunk;           /* max bytes per recv, 0 = all */
    int refuse_connect;
    /* STARTTLS: offered in EHLO while plain (tls_offer), reply to it (NULL:
     * 220), transport with start_tls (tls_supported), its result */
    int tls_offer, tls_supported;
    const char *starttls, *ehlo_plain; /* ehlo_plain: EHLO reply before TLS */
    postie_status tls_result;
    int tls_active, tls_calls;
    char tls_name[256];
    size_t tls_sent_len;    /* sent_len when start_tls was called */
    /* recorded */
    char *sent; size_t sent_len, sent_cap;
    char line[4096]; size_t line_len;
    int in_data, auth_stage;
    char *data_buf; size_t data_len, data_cap;   /* message as received (stuffed) */
    int messages, quits, connects, closes;
    int mail_needs_auth;    /* MAIL before a 235 gets 530 */
    int authed;             /* a 235 was sent on this connection */
    /* pending server bytes */
    char out[8192]; size_t out_len, out_pos;
} mini_smtp;

static void grow(char **buf, size_t *cap, size_t need)
{
    if (need > *cap) {
        size_t c = *cap ? *cap : 4096;
        while (c < need) {
            c *= 2;
        }
        *buf = realloc(*buf, c);
        assert_non_null(*buf);
        *cap = c;
    }
}

static void answer(mini_smtp *m, const char *r)
{
    size_t n = strlen(r);
    assert_true(m->out_len + n <= sizeof m->out);
    memcpy(m->out + m->out_len, r, n);
    m->out_len += n;
}

static void on_line(mini_smtp *m, const char *l, size_t n)
{
    if (m->in_data) {
        if (n == 1 && l[0] == '.') {
            m->in_data = 0;
            m->messages++;
            answer(m, m->dot ? m->dot : "250 2.0.0 queued as 1234\r\n");
            return;
        }
        grow(&m->data_buf, &m->data_cap, m->data_len + n + 3);
        memcpy(m->data_buf + m->data_len, l, n);
        memcpy(m->data_buf + m->data_len + n, "\r\n", 2);
        m->data_len += n + 2;
        m->data_buf[m->data_len] = '\0';
        return;
    }
    if (m->auth_stage == 1) {
        m->auth_stage = 2;
        answer(m, m->auth2 ? m->auth2 : "334 UGFzc3dvcmQ6\r\n");
        return;
    }
    if (m->auth_stage == 2) {
        const char *r = m->auth3 ? m->auth3 : "235 2.7.0 ok\r\n";
        m->auth_stage = 0;
        m->authed = strncmp(r, "235", 3) == 0;
        answer(m, r);
        return;
    }
    if (n >= 4 && strncmp(l, "EHLO", 4) == 0 && m->tls_offer && !m->tls_active) {
        answer(m, m->ehlo_plain ? m->ehlo_plain
                                : "250-mail.example\r\n250-AUTH PLAIN LOGIN\r\n250-STARTTLS\r\n"
                                  "250 8BITMIME\r\n");
    } else if (n == 8 && strncmp(l, "STARTTLS", 8) == 0) {
        answer(m, m->starttls ? m->starttls : "220 2.0.0 go ahead\r\n");
    } else if (n >= 4 && strncmp(l, "EHLO", 4) == 0) {
        answer(m, m->ehlo ? m->ehlo : "250-mail.example\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n");
    } else if (n >= 4 && strncmp(l, "HELO", 4) == 0) {
        answer(m, m->helo ? m->helo : "250 mail.example\r\n");
    } else if (n >= 10 && strncmp(l, "AUTH LOGIN", 10) == 0) {
        m->auth_stage = 1;
        answer(m, m->auth ? m->auth : "334 VXNlcm5hbWU6\r\n");
    } else if (n >= 4 && strncmp(l, "AUTH", 4) == 0) {
        /* one response, then auth3 (default 235), after a 334 here */
        const char *r = m->auth ? m->auth : "235 2.7.0 ok\r\n";
        m->auth_stage = strncmp(r, "334", 3) == 0 ? 2 : 0;
        m->authed = strncmp(r, "235", 3) == 0;
        answer(m, r);
    } else if (n >= 4 && strncmp(l, "MAIL", 4) == 0) {
        answer(m, m->mail_needs_auth && !m->authed ? "530 5.7.0 Authentication required\r\n"
                  : m->mail ? m->mail : "250 2.1.0 ok\r\n");
    } else if (n >= 4 && strncmp(l, "RCPT", 4) == 0) {
        answer(m, m->rcpt ? m->rcpt : "250 2.1.5 ok\r\n");
    } else if (n == 4 && strncmp(l, "DATA", 4) == 0) {
        const char *r = m->data ? m->data : "354 go ahead\r\n";
        if (r[0] == '3') {
            m->in_data = 1;
        }
        answer(m, r);
    } else if (n == 4 && strncmp(l, "QUIT", 4) == 0) {
        m->quits++;
        if (!m->quit_lost) {
            answer(m, m->quit ? m->quit : "221 2.0.0 bye\r\n");
        }
    } else if (n == 4 && strncmp(l, "RSET", 4) == 0) {
        answer(m, "250 ok\r\n");
    } else {
        answer(m, "500 what\r\n");
    }
}

static long mini_send(void *ctx, const void *buf, size_t len, unsigned t)
{
    mini_smtp *m = ctx;
    const char *b = buf;
    size_t i;
    (void)t;
    grow(&m->sent, &m->sent_cap, m->sent_len + len + 1);
    memcpy(m->sent + m->sent_len, buf, len);
    m->sent_len += len;
    m->sent[m->sent_len] = '\0';
    for (i = 0; i < len; i++) {
        if (b[i] == '\n' && m->line_len > 0 && m->line[m->line_len - 1] == '\r') {
            on_line(m, m->line, m->line_len - 1);
            m->line_len = 0;
        } else {
            assert_true(m->line_len < sizeof m->line);
            m->line[m->line_len++] = b[i];
        }
    }
    return (long)len;
}

static long mini_recv(void *ctx, void *buf, size_t len, unsigned t)
{
    mini_smtp *m = ctx;
    size_t n = m->out_len - m->out_pos;
    (void)t;
    if (n == 0) {
        return m->at_end;
    }
    if (n > len) {
        n = len;
    }
    if (m->chunk && n > m->chunk) {
        n = m->chunk;
    }
    memcpy(buf, m->out + m->out_pos, n);
    m->out_pos += n;
    if (m->out_pos == m->out_len) {
        m->out_pos = m->out_len = 0;
    }
    return (long)n;
}

static postie_status mini_start_tls(void *ctx, const char *server_name)
{
    mini_smtp *m = ctx;
    m->tls_calls++;
    m->tls_sent_len = m->sent_len;
    snprintf(m->tls_name, sizeof m->tls_name, "%s", server_name ? server_name : "(null)");
    if (m->tls_result == POSTIE_OK) {
        m->tls_active = 1;
    }
    return m->tls_result;
}

static void mini_close(void *ctx)
{
    ((mini_smtp *)ctx)->closes++;
}

static postie_status mini_connect(void *user, const char *host, const char *port, unsigned t,
                                  postie_transport *out)
{
    mini_smtp *m = user;
    (void)t;
    assert_string_equal(host, "127.0.0.1");
    assert_string_equal(port, "2525");
    if (m->refuse_connect) {
        return POSTIE_ERR_CONNECT;
    }
    m->connects++;
    m->out_len = m->out_pos = 0;
    m->line_len = 0;
    m->in_data = m->auth_stage = 0;
    m->authed = 0;
    m->tls_active = 0;
    answer(m, m->greeting ? m->greeting : "220 mail.example ESMTP\r\n");
    out->ctx = m;
    out->send = mini_send;
    out->recv = mini_recv;
    out->start_tls = m->tls_supported ? mini_start_tls : NULL;
    out->close = mini_close;
    return POSTIE_OK;
}

static void mini_init(mini_smtp *m, size_t chunk)
{
    memset(m, 0, sizeof *m);
    m->chunk = chunk;
}

static void mini_reset_record(mini_smtp *m)
{
    m->sent_len = 0;
    m->data_len = 0;
    if (m->sent) m->sent[0] = '\0';
    if (m->data_buf) m->data_buf[0] = '\0';
}

static void mini_free(mini_smtp *m)
{
    free(m->sent);
    free(m->data_buf);
    m->sent = m->data_buf = NULL;
}

/* ---- fixtures ---------------------------------------------------------------- */

static ULONG pool_area[16384];
static NX_PACKET_POOL pool;
static NX_IP ip;

static void make_pool(ULONG payload, ULONG packets)
{
    memset(&pool, 0, sizeof pool);
    assert_int_equal(nx_packet_pool_create(&pool, "smtp", payload, pool_area,
                                           packets * (ULONG)(sizeof(NX_PACKET) + payload)), NX_SUCCESS);
}

static void drop_pool(void)
{
    ULONG total, avail;
    assert_int_equal(nx_packet_pool_info_get(&pool, &total, &avail, NULL, NULL, NULL), NX_SUCCESS);
    assert_int_equal(avail, total);
    assert_int_equal(nx_packet_pool_delete(&pool), NX_SUCCESS);
}

static void make_client(NX_SMTP_CLIENT *c, mini_smtp *m, UINT auth)
{
    NXD_ADDRESS a;
    memset(&a, 0, sizeof a);
    a.nxd_ip_version = NX_IP_VERSION_V4;
    a.nxd_ip_address.v4 = IP_ADDRESS(127, 0, 0, 1);
    assert_int_equal(nxd_smtp_client_create(c, &ip, &pool, "user", "pass", "<from@example.org>",
                                            "client.example", auth, &a, 2525), NX_SUCCESS);
    nx_postie_smtp_client_connector_set(c, mini_connect, m);
}

static const char *BODY = "Hello,\r\nthis is the body.\r\n";

static UINT send_one(NX_SMTP_CLIENT *c)
{
    return nx_smtp_mail_send(c, "to@example.org", NX_SMTP_MAIL_PRIORITY_NORMAL, "Hi", (CHAR *)BODY,
                             (UINT)strlen(BODY));
}

/* The commands the client sent, without the message content. */
static void commands_of(const mini_smtp *m, char *out, size_t cap)
{
    const char *d = strstr(m->sent, "DATA\r\n");
    const char *end = strstr(m->sent, "\r\n.\r\n");
    size_t o = 0;
    if (d == NULL || end == NULL) {
        snprintf(out, cap, "%s", m->sent);
        return;
    }
    o = (size_t)(d - m->sent) + 6;
    assert_true(o < cap);
    memcpy(out, m->sent, o);
    snprintf(out + o, cap - o, "<message>%s", end + 5);
}

static void assert_header(const mini_smtp *m, const char *h)
{
    if (strstr(m->data_buf, h) == NULL) {
        print_error("header %s missing from:\n%s\n", h, m->data_buf);
        fail();
    }
}

/* ---- tests ---------------------------------------------------------------- */

static void test_send_plain_every_chunk(void **state)
{
    static mini_smtp m;
    size_t chunk;
    (void)state;
    for (chunk = 1; chunk <= 64; chunk++) {
        NX_SMTP_CLIENT c;
        char cmds[2048];
        make_pool(64, 2);
        mini_init(&m, chunk);
        make_client(&c, &m, NX_SMTP_CLIENT_AUTH_PLAIN);
        assert_int_equal(send_one(&c), NX_SUCCESS);
        commands_of(&m, cmds, sizeof cmds);
        assert_string_equal(cmds, "EHLO client.example\r\n"
                                  "AUTH PLAIN AHVzZXIAcGFzcw==\r\n"
                                  "MAIL FROM:<from@example.org>\r\n"
                                  "RCPT TO:<to@example.org>\r\n"
                                  "DATA\r\n<message>QUIT\r\n");
        assert_int_equal(m.messages, 1);
        assert_int_equal(m.closes, 1);
        assert_header(&m, "\r\nFrom: from@example.org\r\n");
        assert_header(&m, "\r\nTo: to@example.org\r\n");
        assert_header(&m, "\r\nSubject: Hi\r\n");
        assert_header(&m, "\r\nMIME-Version: 1.0\r\n");
        assert_header(&m, "\r\nMessage-ID: <");
        assert_true(strncmp(m.data_buf, "Date: ", 6) == 0 || strstr(m.data_buf, "\r\nDate: ") != NULL);
        assert_null(strstr(m.data_buf, "X-Priority"));
        assert_non_null(strstr(m.data_buf, "\r\n\r\nHello,\r\nthis is the body.\r\n"));
        assert_int_equal(c.nx_smtp_client_reply_code_status, 250);
        assert_int_equal(nx_smtp_client_delete(&c), NX_SUCCESS);
        mini_free(&m);
        drop_pool();
    }
}

static void test_login_and_none(void **state)
{
    static mini_smtp m;
    NX_SMTP_CLIENT c;
    char cmds[2048];
    (void)state;
    make_pool(64, 1);
    mini_init(&m, 0);
    make_client(&c, &m, NX_SMTP_CLIENT_AUTH_LOGIN);
    assert_int_equal(send_one(&c), NX_SUCCESS);
    commands_of(&m, cmds, sizeof cmds);
    assert_string_equal(cmds, "EHLO client.example\r\nAUTH LOGIN\r\ndXNlcg==\r\ncGFzcw==\r\n"
                              "MAIL FROM:<from@example.org>\r\nRCPT TO:<to@example.org>\r\n"
                              "DATA\r\n<message>QUIT\r\n");
    nx_smtp_client_delete(&c);
    mini_free(&m);

    /* NONE, and the server offers AUTH: PLAIN, as documented */
    mini_init(&m, 0);
    make_client(&c, &m, NX_SMTP_CLIENT_AUTH_NONE);
    assert_int_equal(send_one(&c), NX_SUCCESS);
    assert_non_null(strstr(m.sent, "\r\nAUTH PLAIN AHVzZXIAcGFzcw==\r\n"));
    nx_smtp_client_delete(&c);
    mini_free(&m);

    /* PLAIN configured, only LOGIN offered: LOGIN */
    mini_init(&m, 0);
    m.ehlo = "250-mail.example\r\n250 AUTH LOGIN\r\n";
    make_client(&c, &m, NX_SMTP_CLIENT_AUTH_PLAIN);
    assert_int_equal(send_one(&c), NX_SUCCESS);
    assert_non_null(strstr(m.sent, "\r\nAUTH LOGIN\r\n"));
    nx_smtp_client_delete(&c);
    mini_free(&m);
    drop_pool();
}

/* Defect: AUTH was sent when the server offers none. */
static void test_defect_no_auth_when_not_offered(void **state)
{
    static mini_smtp m;
    NX_SMTP_CLIENT c;
    char cmds[2048];
    (void)state;
    make_pool(64, 1);
    mini_init(&m, 0);
    m.ehlo = "250-mail.example\r\n250 8BITMIME\r\n";
    make_client(&c, &m, NX_SMTP_CLIENT_AUTH_PLAIN);
    assert_int_equal(send_one(&c), NX_SUCCESS);
    commands_of(&m, cmds, sizeof cmds);
    assert_string_equal(cmds, "EHLO client.example\r\nMAIL FROM:<from@example.org>\r\n"
                              "RCPT TO:<to@example.org>\r\nDATA\r\n<message>QUIT\r\n");
    nx_smtp_client_delete(&c);
    mini_free(&m);
    drop_pool();
}

/* Defect: a body line "." followed by "QUIT" ended DATA early (and the rest
 * of the body was taken for commands). */
static void test_defect_dot_line_in_body(void **state)
{
    static mini_smtp m;
    static const char body[] = "first\r\n.\r\nQUIT\r\n.\nlast\n";
    NX_SMTP_CLIENT c;
    (void)state;
    make_pool(16, 1);
    mini_init(&m, 0);
    make_client(&c, &m, NX_SMTP_CLIENT_AUTH_PLAIN);
    assert_int_equal(nx_smtp_mail_send(&c, "to@example.org", NX_SMTP_MAIL_PRIORITY_NORMAL, "dots",
                                       (CHAR *)body, (UINT)strlen(body)), NX_SUCCESS);
    assert_int_equal(m.messages, 1);
    assert_int_equal(m.quits, 1); /* only the client's own QUIT */
    assert_non_null(strstr(m.data_buf, "\r\n\r\nfirst\r\n..\r\nQUIT\r\n..\r\nlast\r\n"));
    nx_smtp_client_delete(&c);
    mini_free(&m);
    drop_pool();
}

/* Defect: a reply code with no text ("250") was read as 0. */
static void test_defect_code_without_text(void **state)
{
    static mini_smtp m;
    NX_SMTP_CLIENT c;
    size_t chunk;
    (void)state;
    make_pool(64, 1);
    for (chunk = 1; chunk <= 5; chunk++) {
        mini_init(&m, chunk);
        m.greeting = "220\r\n";
        m.ehlo = "250-\r\n250 AUTH PLAIN\r\n";
        m.auth = "235\r\n";
        m.mail = "250\r\n";
        m.rcpt = "250\r\n";
        m.data = "354\r\n";
        m.dot = "250\r\n";
        m.quit = "221\r\n";
        make_client(&c, &m, NX_SMTP_CLIENT_AUTH_PLAIN);
        assert_int_equal(send_one(&c), NX_SUCCESS);
        assert_int_equal(c.nx_smtp_client_reply_code_status, 250);
        assert_int_equal(m.messages, 1);
        nx_smtp_client_delete(&c);
        mini_free(&m);
    }
    drop_pool();
}

/* Defect: a multi-line greeting or EHLO reply split across segments was
 * misparsed. Every split point, by replaying at every chunk size. */
static void test_defect_multiline_split(void **state)
{
    static mini_smtp m;
    NX_SMTP_CLIENT c;
    size_t chunk;
    (void)state;
    make_pool(64, 1);
    for (chunk = 1; chunk <= 80; chunk++) {
        mini_init(&m, chunk);
        m.greeting = "220-mail.example ESMTP first line\r\n220-second line\r\n220 ready\r\n";
        m.ehlo = "250-mail.example greets client.example\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
                 "250-AUTH LOGIN PLAIN\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n";
        make_client(&c, &m, NX_SMTP_CLIENT_AUTH_PLAIN);
        assert_int_equal(send_one(&c), NX_SUCCESS);
        /* EHLO sent once, and the AUTH line was understood */
        assert_int_equal(strncmp(m.sent, "EHLO client.example\r\nAUTH PLAIN ", 32), 0);
        assert_int_equal(m.messages, 1);
        nx_smtp_client_delete(&c);
        mini_free(&m);
    }
    drop_pool();
}

/* Defect: a message accepted with 250 was reported as failed because QUIT's
 * reply was lost. */
static void test_defect_quit_reply_lost(void **state)
{
    static mini_smtp m;
    NX_SMTP_CLIENT c;
    (void)state;
    make_pool(64, 1);
    mini_init(&m, 0);
    m.quit_lost = 1;
    m.at_end = 0; /* the server hangs up */
    make_client(&c, &m, NX_SMTP_CLIENT_AUTH_PLAIN);
    assert_int_equal(send_one(&c), NX_SUCCESS);
    assert_int_equal(m.messages, 1);
    m.at_end = POSTIE_ERR_TIMEOUT; /* the reply never comes */
    nx_postie_smtp_client_timeout_set(&c, 200);
    assert_int_equal(send_one(&c), NX_SUCCESS);
    assert_int_equal(m.messages, 2);
    assert_int_equal(m.closes, 2);
    nx_smtp_client_delete(&c);
    mini_free(&m);
    drop_pool();
}

/* Defect: a 4-digit reply code crashed the client. */
static void test_defect_four_digit_code(void **state)
{
    static mini_smtp m;
    NX_SMTP_CLIENT c;
    (void)state;
    make_pool(64, 1);
    mini_init(&m, 1);
    m.greeting = "2200 mail.example\r\n";
    make_client(&c, &m, NX_SMTP_CLIENT_AUTH_PLAIN);
    assert_int_equal(send_one(&c), NX_SMTP_INVALID_SERVER_REPLY);
    assert_int_equal(m.closes, 1);
    m.greeting = NULL;
    m.ehlo = "2500-mail.example\r\n2500 AUTH PLAIN\r\n";
    assert_int_equal(send_one(&c), NX_SMTP_INVALID_SERVER_REPLY);
    m.ehlo = NULL;
    m.mail = "25000 ok\r\n";
    assert_int_equal(send_one(&c), NX_SMTP_INVALID_SERVER_REPLY);
    m.mail = NULL;
    m.dot = "2501 ok\r\n";
    assert_int_equal(send_one(&c), NX_SMTP_INVALID_SERVER_REPLY);
    m.dot = NULL;
    /* and the client is fine for the next mail */
    assert_int_equal(send_one(&c), NX_SUCCESS);
    assert_int_equal(m.closes, 5);
    nx_smtp_client_delete(&c);
    mini_free(&m);
    drop_pool();
}

/* Defect: one global buffer shared by every SMTP client. Two clients, two
 * threads, at the same time, each with its own message. */
struct runner { NX_SMTP_CLIENT c; mini_smtp m; const char *body; int ok; };

static void *run_sends(void *arg)
{
    struct runner *r = arg;
    int i;
    for (i = 0; i < 150; i++) {
        UINT st;
        mini_reset_record(&r->m);
        st = nx_smtp_mail_send(&r->c, "to@example.org", NX_SMTP_MAIL_PRIORITY_NORMAL, "par",
                               (CHAR *)r->body, (UINT)strlen(r->body));
        if (st != NX_SUCCESS || strstr(r->m.data_buf, r->body) == NULL) {
            return NULL;
        }
        r->ok++;
    }
    return NULL;
}

static void test_defect_two_clients_two_threads(void **state)
{
    static struct runner a, b;
    static char body_a[3000], body_b[3000];
    pthread_t ta, tb;
    int i;
    (void)state;
    for (i = 0; i < 2990; i++) {
        body_a[i] = (char)(i % 70 == 69 ? '\n' : i % 70 == 68 ? '\r' : 'a' + i % 26);
        body_b[i] = (char)(i % 70 == 69 ? '\n' : i % 70 == 68 ? '\r' : 'Z' - i % 26);
    }
    make_pool(128, 2); /* one packet each */
    mini_init(&a.m, 7);
    mini_init(&b.m, 5);
    make_client(&a.c, &a.m, NX_SMTP_CLIENT_AUTH_PLAIN);
    make_client(&b.c, &b.m, NX_SMTP_CLIENT_AUTH_LOGIN);
    a.body = body_a;
    b.body = body_b;
    a.ok = b.ok = 0;
    assert_int_equal(pthread_create(&ta, NULL, run_sends, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, run_sends, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(a.ok, 150);
    assert_int_equal(b.ok, 150);
    assert_int_equal(a.m.messages, 150);
    assert_int_equal(b.m.messages, 150);
    nx_smtp_client_delete(&a.c);
    nx_smtp_client_delete(&b.c);
    mini_free(&a.m);
    mini_free(&b.m);
    drop_pool();
}

static void test_refusals_map_to_statuses(void **state)
{
    static mini_smtp m;
    NX_SMTP_CLIENT c;
    (void)state;
    make_pool(64, 1);
    mini_init(&m, 0);
    make_client(&c, &m, NX_SMTP_CLIENT_AUTH_PLAIN);
    m.greeting = "554 go away\r\n";
    assert_int_equal(send_one(&c), NX_SMTP_GREET_REPLY_ERROR);
    assert_int_equal(c.nx_smtp_client_reply_code_status, 554);
    m.greeting = NULL;
    m.ehlo = "502 no\r\n";
    m.helo = "502 no\r\n";
    assert_int_equal(send_one(&c), NX_SMTP_HELLO_REPLY_ERROR);
    m.ehlo = m.helo = NULL;
    m.auth = "535 5.7.8 bad credentials\r\n";
    assert_int_equal(send_one(&c), NX_SMTP_AUTH_REPLY_ERROR);
    m.auth = NULL;
    m.mail = "550 5.7.1 not you\r\n";
    assert_int_equal(send_one(&c), NX_SMTP_MAIL_REPLY_ERROR);
    m.mail = NULL;
    m.rcpt = "550 5.1.1 no such user\r\n";
    assert_int_equal(send_one(&c), NX_SMTP_RCPT_REPLY_ERROR);
    m.rcpt = NULL;
    m.data = "554 no data\r\n";
    assert_int_equal(send_one(&c), NX_SMTP_DATA_REPLY_ERROR);
    m.data = NULL;
    m.dot = "554 5.6.0 rejected\r\n";
    assert_int_equal(send_one(&c), NX_SMTP_MESSAGE_REPLY_ERROR);
    assert_int_equal(c.nx_smtp_client_reply_code_status, 554);
    m.dot = NULL;
    m.refuse_connect = 1;
    assert_int_equal(send_one(&c), NX_NOT_CONNECTED);
    m.refuse_connect = 0;
    assert_int_equal(send_one(&c), NX_SUCCESS);
    assert_int_equal(m.messages, 2); /* the refused one at its dot, and this one */
    assert_int_equal(m.connects, m.closes);
    nx_smtp_client_delete(&c);
    mini_free(&m);
    drop_pool();
}

static void test_params_and_priority(void **state)
{
    static mini_smtp m;
    NX_SMTP_CLIENT c;
    NXD_ADDRESS a;
    NX_PACKET *hold;
    (void)state;
    make_pool(64, 1);
    mini_init(&m, 0);
    memset(&a, 0, sizeof a);
    a.nxd_ip_version = NX_IP_VERSION_V4;
    a.nxd_ip_address.v4 = IP_ADDRESS(127, 0, 0, 1);
    memset(&c, 0, sizeof c);
    assert_int_equal(send_one(&c), NX_SMTP_CLIENT_NOT_INTIALIZED);
    assert_int_equal(nxd_smtp_client_create(&c, &ip, &pool, "u", "p", "f@x.org", "c.example", 7, &a, 25),
                     NX_SMTP_AUTHENTICATION_ERROR);
    assert_int_equal(nxd_smtp_client_create(&c, &ip, &pool, "", "p", "f@x.org", "c.example",
                                            NX_SMTP_CLIENT_AUTH_PLAIN, &a, 25), NX_SMTP_AUTHENTICATION_ERROR);
    assert_int_equal(nxd_smtp_client_create(&c, &ip, &pool, "u", "p", "f@x.org\r\nRCPT", "c.example",
                                            NX_SMTP_CLIENT_AUTH_PLAIN, &a, 25), NX_SMTP_INVALID_PARAM);
    assert_int_equal(nxd_smtp_client_create(&c, &ip, &pool, "u", "p", "f@x.org", "bad domain",
                                            NX_SMTP_CLIENT_AUTH_PLAIN, &a, 25), NX_SMTP_INVALID_PARAM);
    assert_int_equal(nxd_smtp_client_create(&c, &ip, &pool, "u", "p", "f@x.org", "c.example",
                                            NX_SMTP_CLIENT_AUTH_PLAIN, &a, 0), NX_SMTP_INVALID_PARAM);
    assert_int_equal(nxd_smtp_client_create(&c, &ip, NULL, "u", "p", "f@x.org", "c.example",
                                            NX_SMTP_CLIENT_AUTH_PLAIN, &a, 25), NX_PTR_ERROR);
    make_client(&c, &m, NX_SMTP_CLIENT_AUTH_NONE);
    assert_int_equal(nx_smtp_mail_send(&c, "to@x.org\r\nRCPT TO:<evil@x.org>", 2, "s", "b", 1),
                     NX_SMTP_INVALID_PARAM);
    assert_int_equal(nx_smtp_mail_send(&c, "to@x.org", 2, "s\r\nBcc: evil@x.org", "b", 1),
                     NX_SMTP_INVALID_PARAM);
    assert_int_equal(nx_smtp_mail_send(&c, NULL, 2, "s", "b", 1), NX_PTR_ERROR);
    assert_int_equal(m.messages, 0);
    /* <> or not, same envelope */
    assert_int_equal(nx_smtp_mail_send(&c, " <to@example.org> ", NX_SMTP_MAIL_PRIORITY_HIGH, "hi",
                                       "b", 1), NX_SUCCESS);
    assert_non_null(strstr(m.sent, "RCPT TO:<to@example.org>\r\n"));
    assert_header(&m, "X-Priority: 1");
    mini_reset_record(&m);
    assert_int_equal(nx_smtp_mail_send(&c, "to@example.org", NX_SMTP_MAIL_PRIORITY_LOW, "lo", "b", 1),
                     NX_SUCCESS);
    assert_header(&m, "X-Priority: 5");
    /* an empty pool: nothing is sent */
    assert_int_equal(nx_packet_allocate(&pool, &hold, 0, NX_NO_WAIT), NX_SUCCESS);
    assert_int_equal(send_one(&c), NX_SMTP_PACKET_ALLOCATE_ERROR);
    assert_int_equal(m.connects, 2);
    nx_packet_release(hold);
    assert_int_equal(nx_smtp_client_delete(&c), NX_SUCCESS);
    assert_int_equal(nx_smtp_client_delete(&c), NX_SMTP_CLIENT_NOT_INTIALIZED);
    mini_free(&m);
    drop_pool();
}

static void test_big_message_small_pool(void **state)
{
    static mini_smtp m;
    NX_SMTP_CLIENT c;
    size_t n = 1000000, i;
    char *body = malloc(n);
    (void)state;
    assert_non_null(body);
    for (i = 0; i < n; i++) {
        body[i] = (char)((i % 60 == 58) ? '\r' : (i % 60 == 59) ? '\n' : (i % 60 == 0) ? '.' : 'x');
    }
    make_pool(32, 1);
    mini_init(&m, 1000);
    make_client(&c, &m, NX_SMTP_CLIENT_AUTH_PLAIN);
    assert_int_equal(nx_smtp_mail_send(&c, "to@example.org", 2, "big", body, (UINT)n), NX_SUCCESS);
    assert_int_equal(m.messages, 1);
    /* every body line arrived dot-stuffed: 1 MB / 60 lines, each ".xxx" -> "..xxx" */
    {
        const char *b = strstr(m.data_buf, "\r\n\r\n") + 4;
        size_t lines = 0;
        while ((b = strstr(b, "..xxxx")) != NULL) {
            lines++;
            b += 6;
        }
        assert_int_equal(lines, (n + 59) / 60); /* the last, short line too */
    }
    free(body);
    nx_smtp_client_delete(&c);
    mini_free(&m);
    drop_pool();
}

/* ---- TLS (nx_postie_tls.h) ------------------------------------------------ */

/* ---- the quirks of issue 17, replayed through the NetX layer ---------------- */

/* "user" and "pass" as they would appear on the wire, in any form that shows
 * the password: PLAIN's response, LOGIN's second response, the bare base64. */
static void assert_password_not_sent(const mini_smtp *m)
{
    assert_null(strstr(m->sent, "AHVzZXIAcGFzcw"));
    assert_null(strstr(m->sent, "cGFzcw"));
    assert_null(strstr(m->sent, "pass"));
}

#define CRAM_CHALLENGE "334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n"
/* "user " + HMAC-MD5("pass", the challenge's "<1896.697170952@postoffice.reston.mci.net>") */
#define CRAM_RESPONSE "dXNlciAyMjRmOGFmMWJmOWJjZjI2ZjRlZjAzMjllMDYxNDA1Yw==\r\n"

/* Configured for LOGIN, the server offers only CRAM-MD5 (and names nobody
 * knows) and wants AUTH before MAIL: the client falls back to CRAM-MD5 with
 * the same password and the mail goes (it used to send no AUTH, and MAIL got
 * 530). Every chunk size. */
static void test_quirk_login_falls_back_to_cram_md5(void **state)
{
    static mini_smtp m;
    size_t chunk;
    (void)state;
    for (chunk = 0; chunk <= 48; chunk++) {
        NX_SMTP_CLIENT c;
        char cmds[2048];
        make_pool(64, 1);
        mini_init(&m, chunk);
        m.ehlo = "250-mail.example\r\n250-AUTH X-UNKNOWN CRAM-MD5 GSSAPI NTLM\r\n250 8BITMIME\r\n";
        m.auth = CRAM_CHALLENGE;
        m.mail_needs_auth = 1;
        make_client(&c, &m, NX_SMTP_CLIENT_AUTH_LOGIN);
        assert_int_equal(send_one(&c), NX_SUCCESS);
        commands_of(&m, cmds, sizeof cmds);
        assert_string_equal(cmds, "EHLO client.example\r\nAUTH CRAM-MD5\r\n" CRAM_RESPONSE
                                  "MAIL FROM:<from@example.org>\r\nRCPT TO:<to@example.org>\r\n"
                                  "DATA\r\n<message>QUIT\r\n");
        assert_int_equal(m.messages, 1);
        assert_int_equal(c.nx_smtp_client_reply_code_status, 250);
        assert_password_not_sent(&m);
        nx_smtp_client_delete(&c);
        mini_free(&m);
        drop_pool();
    }
}

/* The fallback takes the strongest offered mechanism the client can do with
 * the password: CRAM-MD5 before PLAIN, SCRAM-SHA-256 before CRAM-MD5. */
static void test_fallback_strongest(void **state)
{
    static mini_smtp m;
    NX_SMTP_CLIENT c;
    (void)state;
    make_pool(64, 1);

    /* LOGIN configured, PLAIN and CRAM-MD5 offered: CRAM-MD5 */
    mini_init(&m, 0);
    m.ehlo = "250-mail.example\r\n250 AUTH PLAIN CRAM-MD5\r\n";
    m.auth = CRAM_CHALLENGE;
    m.mail_needs_auth = 1;
    make_client(&c, &m, NX_SMTP_CLIENT_AUTH_LOGIN);
    assert_int_equal(send_one(&c), NX_SUCCESS);
    assert_non_null(strstr(m.sent, "EHLO client.example\r\nAUTH CRAM-MD5\r\n" CRAM_RESPONSE "MAIL"));
    assert_password_not_sent(&m);
    nx_smtp_client_delete(&c);
    mini_free(&m);

    /* PLAIN configured, SCRAM-SHA-256 and CRAM-MD5 offered: SCRAM-SHA-256
     * (client-first message "n,,n=user,r=<nonce>"); the server answers 235
     * without proving it knows the password, which SCRAM refuses */
    mini_init(&m, 0);
    m.ehlo = "250-mail.example\r\n250 AUTH CRAM-MD5 SCRAM-SHA-256\r\n";
    m.auth = "235 2.7.0 ok\r\n";
    make_client(&c, &m, NX_SMTP_CLIENT_AUTH_PLAIN);
    assert_int_equal(send_one(&c), NX_SMTP_AUTH_REPLY_ERROR);
    assert_int_equal(strncmp(m.sent, "EHLO client.example\r\nAUTH SCRAM-SHA-256 biwsbj11c2VyLHI9", 56), 0);
    assert_null(strstr(m.sent, "MAIL"));
    assert_int_equal(m.messages, 0);
    assert_password_not_sent(&m);
    nx_smtp_client_delete(&c);
    mini_free(&m);

    /* the configured mechanism, when offered, is used even if a stronger one is */
    mini_init(&m, 0);
    m.ehlo = "250-mail.example\r\n250 AUTH CRAM-MD5 SCRAM-SHA-256 LOGIN\r\n";
    make_client(&c, &m, NX_SMTP_CLIENT_AUTH_LOGIN);
    assert_int_equal(send_one(&c), NX_SUCCESS);
    assert_non_null(strstr(m.sent, "EHLO client.example\r\nAUTH LOGIN\r\ndXNlcg==\r\ncGFzcw==\r\nMAIL"));
    nx_smtp_client_delete(&c);
    mini_free(&m);
    drop_pool();
}

/* Configured for CRAM-MD5 (the password never on the wire), a plain
 * connection and a server offering only PLAIN and LOGIN: no fallback that
 * would show the password. No AUTH goes out; MAIL's 530 decides. */
static void test_fallback_never_reveals(void **state)
{
    static mini_smtp m;
    NX_SMTP_CLIENT c;
    (void)state;
    make_pool(64, 1);
    mini_init(&m, 0);
    m.ehlo = "250-mail.example\r\n250 AUTH PLAIN LOGIN X-UNKNOWN\r\n";
    m.mail_needs_auth = 1;
    make_client(&c, &m, NX_SMTP_CLIENT_AUTH_CRAM_MD5);
    assert_int_equal(send_one(&c), NX_SMTP_MAIL_REPLY_ERROR);
    assert_int_equal(c.nx_smtp_client_reply_code_status, 530);
    assert_string_equal(m.sent, "EHLO client.example\r\nMAIL FROM:<from@example.org>\r\nQUIT\r\n");
    assert_int_equal(m.messages, 0);
    nx_smtp_client_delete(&c);
    mini_free(&m);

    /* the same server also offering CRAM-MD5: used, as configured */
    mini_init(&m, 0);
    m.ehlo = "250-mail.example\r\n250 AUTH PLAIN LOGIN CRAM-MD5\r\n";
    m.auth = CRAM_CHALLENGE;
    m.mail_needs_auth = 1;
    make_client(&c, &m, NX_SMTP_CLIENT_AUTH_CRAM_MD5);
    assert_int_equal(send_one(&c), NX_SUCCESS);
    assert_non_null(strstr(m.sent, "EHLO client.example\r\nAUTH CRAM-MD5\r\n" CRAM_RESPONSE "MAIL"));
    assert_password_not_sent(&m);
    nx_smtp_client_delete(&c);
    mini_free(&m);
    drop_pool();
}

/* A server that answers AUTH PLAIN's initial response with an empty "334 "
 * (as if it had not seen it): the client sends the response again and logs
 * in (it used to cancel with "*" and return NX_SMTP_AUTH_REPLY_ERROR), every
 * chunk size. Also with a bare "334". */
static void test_quirk_empty_334_after_initial_response(void **state)
{
    static mini_smtp m;
    static const char *const empties[] = {"334 \r\n", "334\r\n"};
    size_t chunk, e;
    (void)state;
    for (e = 0; e < 2; e++) {
        for (chunk = 0; chunk <= 32; chunk++) {
            NX_SMTP_CLIENT c;
            char cmds[2048];
            make_pool(64, 1);
            mini_init(&m, chunk);
            m.ehlo = "250-mail.example\r\n250 AUTH PLAIN\r\n";
            m.auth = empties[e];
            m.mail_needs_auth = 1;
            make_client(&c, &m, NX_SMTP_CLIENT_AUTH_PLAIN);
            assert_int_equal(send_one(&c), NX_SUCCESS);
            commands_of(&m, cmds, sizeof cmds);
            assert_string_equal(cmds, "EHLO client.example\r\nAUTH PLAIN AHVzZXIAcGFzcw==\r\n"
                                      "AHVzZXIAcGFzcw==\r\n"
                                      "MAIL FROM:<from@example.org>\r\nRCPT TO:<to@example.org>\r\n"
                                      "DATA\r\n<message>QUIT\r\n");
            assert_int_equal(m.messages, 1);
            nx_smtp_client_delete(&c);
            mini_free(&m);
            drop_pool();
        }
    }
}

/* A malformed greeting ("222222220 ..."): the client says QUIT before it
 * closes (RFC 5321 sec. 3.8) and nothing else; it does not wait for more
 * than QUIT's reply, which may never come. Every chunk size. */
static void test_quirk_malformed_greeting_quit(void **state)
{
    static mini_smtp m;
    size_t chunk;
    int lost;
    (void)state;
    for (lost = 0; lost <= 1; lost++) {
        for (chunk = 0; chunk <= 40; chunk++) {
            NX_SMTP_CLIENT c;
            make_pool(64, 1);
            mini_init(&m, chunk);
            m.greeting = "222222220 mail.example ESMTP\r\n";
            m.quit_lost = lost;
            m.at_end = lost ? POSTIE_ERR_TIMEOUT : 0;
            make_client(&c, &m, NX_SMTP_CLIENT_AUTH_PLAIN);
            assert_int_equal(send_one(&c), NX_SMTP_INVALID_SERVER_REPLY);
            assert_string_equal(m.sent, "QUIT\r\n");
            assert_int_equal(m.quits, 1);
            assert_int_equal(m.closes, 1);
            assert_int_equal(m.messages, 0);
            nx_smtp_client_delete(&c);
            mini_free(&m);
            drop_pool();
        }
    }
}

static NX_POSTIE_TLS_CONFIG tls_cfg(UINT mode, const char *name)
{
    NX_POSTIE_TLS_CONFIG cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.nx_postie_tls_mode = mode;
    cfg.nx_postie_tls_server_name = (CHAR *)name;
    return cfg;
}

static const char *AFTER_HELLO = "AUTH PLAIN AHVzZXIAcGFzcw==\r\n"
                                 "MAIL FROM:<from@example.org>\r\n"
                                 "RCPT TO:<to@example.org>\r\n"
                                 "DATA\r\n<message>QUIT\r\n";

/* Without nx_postie_smtp_client_tls_set nothing changes, even when the
 * server offers STARTTLS and the transport could do it. */
static void test_tls_off_by_default(void **state)
{
    static mini_smtp m;
    NX_SMTP_CLIENT c;
    char cmds[2048], want[2048];
    (void)state;
    make_pool(64, 1);
    mini_init(&m, 0);
    m.tls_offer = 1;
    m.tls_supported = 1;
    make_client(&c, &m, NX_SMTP_CLIENT_AUTH_PLAIN);
    assert_int_equal(send_one(&c), NX_SUCCESS);
    commands_of(&m, cmds, sizeof cmds);
    snprintf(want, sizeof want, "EHLO client.example\r\n%s", AFTER_HELLO);
    assert_string_equal(cmds, want);
    assert_int_equal(m.tls_calls, 0);
    nx_smtp_client_delete(&c);
    mini_free(&m);
    drop_pool();
}

#ifdef POSTIE_HAVE_OPENSSL

/* STARTTLS, required: EHLO, STARTTLS, start_tls with the configured name,
 * EHLO again, then AUTH (only now: over TLS), every chunk size; every mail
 * of the client does it again. */
static void test_tls_starttls_every_chunk(void **state)
{
    static mini_smtp m;
    size_t chunk;
    (void)state;
    for (chunk = 1; chunk <= 64; chunk++) {
        NX_SMTP_CLIENT c;
        NX_POSTIE_TLS_CONFIG cfg = tls_cfg(NX_POSTIE_TLS_STARTTLS, "mx.example.org");
        char cmds[2048], want[2048];
        make_pool(64, 1);
        mini_init(&m, chunk);
        m.tls_offer = 1;
        m.tls_supported = 1;
        /* no AUTH before TLS: the AUTH that follows comes from the second EHLO */
        m.ehlo_plain = "250-mail.example\r\n250 STARTTLS\r\n";
        make_client(&c, &m, NX_SMTP_CLIENT_AUTH_PLAIN);
        assert_int_equal(nx_postie_smtp_client_tls_set(&c, &cfg), NX_SUCCESS);
        assert_int_equal(send_one(&c), NX_SUCCESS);
        commands_of(&m, cmds, sizeof cmds);
        snprintf(want, sizeof want, "EHLO client.example\r\nSTARTTLS\r\nEHLO client.example\r\n%s",
                 AFTER_HELLO);
        assert_string_equal(cmds, want);
        assert_int_equal(m.tls_calls, 1);
        assert_string_equal(m.tls_name, "mx.example.org");
        assert_int_equal(m.tls_sent_len, strlen("EHLO client.example\r\nSTARTTLS\r\n"));
        assert_int_equal(m.messages, 1);
        assert_non_null(strstr(m.data_buf, "\r\n\r\nHello,\r\nthis is the body.\r\n"));
        assert_int_equal(c.nx_smtp_client_reply_code_status, 250);
        /* the next mail: a new connection, secured again */
        mini_reset_record(&m);
        assert_int_equal(send_one(&c), NX_SUCCESS);
        assert_int_equal(m.tls_calls, 2);
        assert_int_equal(m.messages, 2);
        assert_int_equal(m.closes, 2);
        assert_int_equal(nx_smtp_client_delete(&c), NX_SUCCESS);
        mini_free(&m);
        drop_pool();
    }
}

/* Required STARTTLS and a server or transport that cannot: the mail is not
 * sent, and no AUTH (nor MAIL) went out. */
static void test_tls_required_refusals(void **state)
{
    static mini_smtp m;
    NX_SMTP_CLIENT c;
    NX_POSTIE_TLS_CONFIG cfg = tls_cfg(NX_POSTIE_TLS_STARTTLS, "mx.example.org");
    (void)state;
    make_pool(64, 1);

    /* not offered (the default EHLO reply has AUTH but no STARTTLS) */
    mini_init(&m, 0);
    m.tls_supported = 1;
    make_client(&c, &m, NX_SMTP_CLIENT_AUTH_PLAIN);
    assert_int_equal(nx_postie_smtp_client_tls_set(&c, &cfg), NX_SUCCESS);
    assert_int_equal(send_one(&c), NX_POSTIE_TLS_NOT_OFFERED);
    assert_string_equal(m.sent, "EHLO client.example\r\nQUIT\r\n");
    assert_int_equal(m.tls_calls, 0);
    assert_int_equal(m.messages, 0);
    assert_int_equal(m.closes, 1);
    nx_smtp_client_delete(&c);
    mini_free(&m);

    /* offered, refused with 454 */
    mini_init(&m, 0);
    m.tls_offer = 1;
    m.tls_supported = 1;
    m.starttls = "454 4.7.0 TLS not available\r\n";
    make_client(&c, &m, NX_SMTP_CLIENT_AUTH_PLAIN);
    assert_int_equal(nx_postie_smtp_client_tls_set(&c, &cfg), NX_SUCCESS);
    assert_int_equal(send_one(&c), NX_POSTIE_TLS_NOT_OFFERED);
    assert_string_equal(m.sent, "EHLO client.example\r\nSTARTTLS\r\nQUIT\r\n");
    assert_int_equal(m.tls_calls, 0);
    assert_int_equal(m.closes, 1);
    nx_smtp_client_delete(&c);
    mini_free(&m);

    /* offered, but the transport cannot upgrade */
    mini_init(&m, 0);
    m.tls_offer = 1;
    make_client(&c, &m, NX_SMTP_CLIENT_AUTH_PLAIN);
    assert_int_equal(nx_postie_smtp_client_tls_set(&c, &cfg), NX_SUCCESS);
    assert_int_equal(send_one(&c), NX_POSTIE_TLS_NOT_OFFERED);
    assert_string_equal(m.sent, "EHLO client.example\r\nQUIT\r\n");
    assert_int_equal(m.closes, 1);
    nx_smtp_client_delete(&c);
    mini_free(&m);
    drop_pool();
}

/* The handshake fails: the status says why; nothing follows STARTTLS. */
static void test_tls_handshake_failures(void **state)
{
    static mini_smtp m;
    NX_SMTP_CLIENT c;
    NX_POSTIE_TLS_CONFIG cfg = tls_cfg(NX_POSTIE_TLS_STARTTLS, "mx.example.org");
    static const postie_status results[2] = {POSTIE_ERR_TLS_VERIFY, POSTIE_ERR_TLS};
    static const UINT want[2] = {NX_POSTIE_TLS_VERIFY_FAILED, NX_POSTIE_TLS_FAILED};
    int i;
    (void)state;
    make_pool(64, 1);
    for (i = 0; i < 2; i++) {
        mini_init(&m, 0);
        m.tls_offer = 1;
        m.tls_supported = 1;
        m.tls_result = results[i];
        make_client(&c, &m, NX_SMTP_CLIENT_AUTH_PLAIN);
        assert_int_equal(nx_postie_smtp_client_tls_set(&c, &cfg), NX_SUCCESS);
        assert_int_equal(send_one(&c), want[i]);
        assert_string_equal(m.sent, "EHLO client.example\r\nSTARTTLS\r\n");
        assert_int_equal(m.tls_calls, 1);
        assert_int_equal(m.closes, 1);
        nx_smtp_client_delete(&c);
        mini_free(&m);
    }
    drop_pool();
}

/* Opportunistic: upgrades when offered; otherwise plain, where AUTH PLAIN
 * and LOGIN are refused (nothing sent) but a mail without AUTH goes. */
static void test_tls_opportunistic(void **state)
{
    static mini_smtp m;
    NX_SMTP_CLIENT c;
    NX_POSTIE_TLS_CONFIG cfg = tls_cfg(NX_POSTIE_TLS_STARTTLS_OPPORTUNISTIC, "mx.example.org");
    char cmds[2048], want[2048];
    (void)state;
    make_pool(64, 1);

    mini_init(&m, 0);
    m.tls_offer = 1;
    m.tls_supported = 1;
    make_client(&c, &m, NX_SMTP_CLIENT_AUTH_PLAIN);
    assert_int_equal(nx_postie_smtp_client_tls_set(&c, &cfg), NX_SUCCESS);
    assert_int_equal(send_one(&c), NX_SUCCESS);
    commands_of(&m, cmds, sizeof cmds);
    snprintf(want, sizeof want, "EHLO client.example\r\nSTARTTLS\r\nEHLO client.example\r\n%s",
             AFTER_HELLO);
    assert_string_equal(cmds, want);
    nx_smtp_client_delete(&c);
    mini_free(&m);

    /* no STARTTLS, AUTH offered: the password is not shown */
    mini_init(&m, 0);
    m.tls_supported = 1;
    make_client(&c, &m, NX_SMTP_CLIENT_AUTH_LOGIN);
    assert_int_equal(nx_postie_smtp_client_tls_set(&c, &cfg), NX_SUCCESS);
    assert_int_equal(send_one(&c), NX_POSTIE_TLS_NOT_OFFERED);
    assert_string_equal(m.sent, "EHLO client.example\r\nQUIT\r\n");
    assert_int_equal(m.messages, 0);
    nx_smtp_client_delete(&c);
    mini_free(&m);

    /* no STARTTLS, no AUTH: the mail goes in plain text */
    mini_init(&m, 0);
    m.ehlo = "250-mail.example\r\n250 8BITMIME\r\n";
    make_client(&c, &m, NX_SMTP_CLIENT_AUTH_NONE);
    assert_int_equal(nx_postie_smtp_client_tls_set(&c, &cfg), NX_SUCCESS);
    assert_int_equal(send_one(&c), NX_SUCCESS);
    assert_int_equal(m.messages, 1);
    assert_int_equal(m.tls_calls, 0);
    nx_smtp_client_delete(&c);
    mini_free(&m);
    drop_pool();
}

/* Implicit TLS: the connector's transport is TLS already; no STARTTLS even
 * when offered, and AUTH goes. */
static void test_tls_implicit(void **state)
{
    static mini_smtp m;
    NX_SMTP_CLIENT c;
    NX_POSTIE_TLS_CONFIG cfg = tls_cfg(NX_POSTIE_TLS_IMPLICIT, "mx.example.org");
    char cmds[2048], want[2048];
    (void)state;
    make_pool(64, 1);
    mini_init(&m, 0);
    m.tls_offer = 1;
    m.tls_supported = 1;
    make_client(&c, &m, NX_SMTP_CLIENT_AUTH_PLAIN);
    assert_int_equal(nx_postie_smtp_client_tls_set(&c, &cfg), NX_SUCCESS);
    assert_int_equal(send_one(&c), NX_SUCCESS);
    commands_of(&m, cmds, sizeof cmds);
    snprintf(want, sizeof want, "EHLO client.example\r\n%s", AFTER_HELLO);
    assert_string_equal(cmds, want);
    assert_int_equal(m.tls_calls, 0);
    nx_smtp_client_delete(&c);
    mini_free(&m);
    drop_pool();
}

/* nx_postie_smtp_client_tls_set refuses what cannot be used and keeps the
 * configuration it had. */
static void test_tls_set_checks(void **state)
{
    static mini_smtp m;
    NX_SMTP_CLIENT c;
    NX_POSTIE_TLS_CONFIG cfg = tls_cfg(NX_POSTIE_TLS_IMPLICIT, "mx.example.org");
    static char long_name[300];
    (void)state;
    make_pool(64, 1);
    mini_init(&m, 0);
    memset(&c, 0, sizeof c);
    assert_int_equal(nx_postie_smtp_client_tls_set(&c, &cfg), NX_SMTP_CLIENT_NOT_INTIALIZED);
    assert_int_equal(nx_postie_smtp_client_tls_set(NULL, &cfg), NX_PTR_ERROR);
    make_client(&c, &m, NX_SMTP_CLIENT_AUTH_PLAIN);
    assert_int_equal(nx_postie_smtp_client_tls_set(&c, NULL), NX_PTR_ERROR);
    assert_int_equal(nx_postie_smtp_client_tls_set(&c, &cfg), NX_SUCCESS);

    cfg = tls_cfg(0, "mx.example.org");
    assert_int_equal(nx_postie_smtp_client_tls_set(&c, &cfg), NX_SMTP_INVALID_PARAM);
    cfg = tls_cfg(NX_POSTIE_TLS_STARTTLS, "mx.example.org\r\nRSET");
    assert_int_equal(nx_postie_smtp_client_tls_set(&c, &cfg), NX_SMTP_INVALID_PARAM);
    memset(long_name, 'a', sizeof long_name - 1);
    cfg = tls_cfg(NX_POSTIE_TLS_STARTTLS, long_name);
    assert_int_equal(nx_postie_smtp_client_tls_set(&c, &cfg), NX_SMTP_INVALID_PARAM);
    cfg = tls_cfg(NX_POSTIE_TLS_STARTTLS, "mx.example.org");
    cfg.nx_postie_tls_ca_file = "";
    assert_int_equal(nx_postie_smtp_client_tls_set(&c, &cfg), NX_SMTP_INVALID_PARAM);
    cfg = tls_cfg(NX_POSTIE_TLS_STARTTLS, "mx.example.org");
    cfg.nx_postie_tls_pin_type = NX_POSTIE_TLS_PIN_CERT;
    cfg.nx_postie_tls_pin_sha256 = NULL;
    assert_int_equal(nx_postie_smtp_client_tls_set(&c, &cfg), NX_SMTP_INVALID_PARAM);
    cfg.nx_postie_tls_pin_sha256 = "zz";
    assert_int_equal(nx_postie_smtp_client_tls_set(&c, &cfg), NX_SMTP_INVALID_PARAM);
    cfg.nx_postie_tls_pin_sha256 =
        "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff";
    assert_int_equal(nx_postie_smtp_client_tls_set(&c, &cfg), NX_SUCCESS);
    assert_int_equal(c.nx_smtp_client_tls_pin_type, NX_POSTIE_TLS_PIN_CERT);
    assert_int_equal(c.nx_smtp_client_tls_pin[10], 0xaa);

    /* after refusals, the implicit configuration is still in force */
    cfg = tls_cfg(NX_POSTIE_TLS_IMPLICIT, "mx.example.org");
    assert_int_equal(nx_postie_smtp_client_tls_set(&c, &cfg), NX_SUCCESS);
    cfg = tls_cfg(9, "mx.example.org");
    assert_int_equal(nx_postie_smtp_client_tls_set(&c, &cfg), NX_SMTP_INVALID_PARAM);
    m.tls_offer = 1;
    m.tls_supported = 1;
    assert_int_equal(send_one(&c), NX_SUCCESS);
    assert_int_equal(m.tls_calls, 0); /* implicit: no STARTTLS */
    assert_null(strstr(m.sent, "STARTTLS"));
    nx_smtp_client_delete(&c);
    mini_free(&m);
    drop_pool();
}

/* Configured for CRAM-MD5, the server offers only PLAIN and LOGIN, but the
 * connection is encrypted (STARTTLS): falling back to PLAIN shows the
 * password to no one but the server, so it is used. */
static void test_tls_cram_md5_falls_back_to_plain(void **state)
{
    static mini_smtp m;
    NX_SMTP_CLIENT c;
    NX_POSTIE_TLS_CONFIG cfg = tls_cfg(NX_POSTIE_TLS_STARTTLS, "mx.example.org");
    char cmds[2048], want[2048];
    (void)state;
    make_pool(64, 1);
    mini_init(&m, 0);
    m.tls_offer = 1;
    m.tls_supported = 1;
    m.ehlo_plain = "250-mail.example\r\n250 STARTTLS\r\n";
    m.mail_needs_auth = 1;
    make_client(&c, &m, NX_SMTP_CLIENT_AUTH_CRAM_MD5);
    assert_int_equal(nx_postie_smtp_client_tls_set(&c, &cfg), NX_SUCCESS);
    assert_int_equal(send_one(&c), NX_SUCCESS);
    commands_of(&m, cmds, sizeof cmds);
    snprintf(want, sizeof want, "EHLO client.example\r\nSTARTTLS\r\nEHLO client.example\r\n%s",
             AFTER_HELLO);
    assert_string_equal(cmds, want);
    assert_int_equal(m.tls_calls, 1);
    nx_smtp_client_delete(&c);
    mini_free(&m);
    drop_pool();
}


#else /* built without OpenSSL */

/* nx_postie_smtp_client_tls_set says NX_POSTIE_TLS_NOT_AVAILABLE and the
 * client stays as it was: plain. */
static void test_tls_not_available(void **state)
{
    static mini_smtp m;
    NX_SMTP_CLIENT c;
    NX_POSTIE_TLS_CONFIG cfg = tls_cfg(NX_POSTIE_TLS_STARTTLS, "mx.example.org");
    (void)state;
    assert_int_equal(NX_POSTIE_TLS_NOT_AVAILABLE, NX_NOT_SUPPORTED);
    make_pool(64, 1);
    mini_init(&m, 0);
    m.tls_offer = 1;
    m.tls_supported = 1;
    make_client(&c, &m, NX_SMTP_CLIENT_AUTH_PLAIN);
    assert_int_equal(nx_postie_smtp_client_tls_set(&c, &cfg), NX_POSTIE_TLS_NOT_AVAILABLE);
    assert_int_equal(m.connects, 0);
    assert_int_equal(c.nx_smtp_client_tls_mode, 0);
    assert_int_equal(send_one(&c), NX_SUCCESS);
    assert_int_equal(m.tls_calls, 0);
    assert_null(strstr(m.sent, "STARTTLS"));
    nx_smtp_client_delete(&c);
    mini_free(&m);
    drop_pool();
}

#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_plain_every_chunk),
        cmocka_unit_test(test_login_and_none),
        cmocka_unit_test(test_quirk_login_falls_back_to_cram_md5),
        cmocka_unit_test(test_fallback_strongest),
        cmocka_unit_test(test_fallback_never_reveals),
        cmocka_unit_test(test_quirk_empty_334_after_initial_response),
        cmocka_unit_test(test_quirk_malformed_greeting_quit),
        cmocka_unit_test(test_defect_no_auth_when_not_offered),
        cmocka_unit_test(test_defect_dot_line_in_body),
        cmocka_unit_test(test_defect_code_without_text),
        cmocka_unit_test(test_defect_multiline_split),
        cmocka_unit_test(test_defect_quit_reply_lost),
        cmocka_unit_test(test_defect_four_digit_code),
        cmocka_unit_test(test_defect_two_clients_two_threads),
        cmocka_unit_test(test_refusals_map_to_statuses),
        cmocka_unit_test(test_params_and_priority),
        cmocka_unit_test(test_big_message_small_pool),
        cmocka_unit_test(test_tls_off_by_default),
#ifdef POSTIE_HAVE_OPENSSL
        cmocka_unit_test(test_tls_starttls_every_chunk),
        cmocka_unit_test(test_tls_required_refusals),
        cmocka_unit_test(test_tls_handshake_failures),
        cmocka_unit_test(test_tls_opportunistic),
        cmocka_unit_test(test_tls_implicit),
        cmocka_unit_test(test_tls_set_checks),
        cmocka_unit_test(test_tls_cram_md5_falls_back_to_plain),
#else
        cmocka_unit_test(test_tls_not_available),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
