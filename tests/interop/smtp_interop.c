/*
 * smtp_interop.c - Postie's SMTP client against a real Postfix (SASL through
 * Dovecot), with every message fetched back with Postie's POP3 client from
 * the Dovecot that serves the Maildirs Postfix delivers into.
 *
 * Uses only the public API (postie/smtp.h, postie/compose.h, postie/pop3.h,
 * postie/posix_tcp.h).
 * A message counts as delivered intact when the fetched message ends with
 * exactly the bytes we meant to send (line ends normalised to CRLF, as the
 * client puts them on the wire) and everything before them is header lines
 * that Postfix added (Return-Path, Delivered-To, Received).
 *
 * Settings come from the environment (tests/interop/run.sh sources the
 * stack's env file): STACK_SCRIPT STACK_DIR STACK_HOST SMTP_PORT POP3_PORT
 * USER1 PASS1 USER2 PASS2 MAILDIR2 DOMAIN SMTP_MAX_SIZE.
 *
 * Prints "ok - name" / "not ok - name" per check, "# ..." diagnostics, and
 * "N passed, N failed" last; exits 1 when a check failed, 2 on a set-up error.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "interop_util.h"

#include "postie/base64.h"
#include "postie/compose.h"
#include "postie/pop3.h"
#include "postie/posix_tcp.h"
#include "postie/smtp.h"

static const char *cfg_script, *cfg_dir, *cfg_host, *cfg_smtp_port, *cfg_pop3_port;
static const char *cfg_user1, *cfg_pass1, *cfg_user2, *cfg_pass2, *cfg_maildir2, *cfg_domain;
static unsigned long long cfg_max_size;

/* ---- growable buffer ------------------------------------------------------ */

/* What the client puts on the wire for content c (before stuffing): every
 * CRLF, bare CR and bare LF becomes CRLF; CRLF is added when missing. */
static void normalised(const char *c, size_t n, buf *out)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (c[i] == '\r') {
            buf_put(out, "\r\n", 2);
            if (i + 1 < n && c[i + 1] == '\n') {
                i++;
            }
        } else if (c[i] == '\n') {
            buf_put(out, "\r\n", 2);
        } else {
            buf_put(out, c + i, 1);
        }
    }
    if (out->len < 2 || memcmp(out->p + out->len - 2, "\r\n", 2) != 0) {
        buf_put(out, "\r\n", 2);
    }
}

/* ---- stack helpers -------------------------------------------------------- */

static void reset_box(const char *user)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' reset '%s' '%s' >/dev/null 2>&1", cfg_script, cfg_dir, user);
    if (system(cmd) != 0) {
        printf("# set-up: %s failed\n0 passed, 1 failed\n", cmd);
        exit(2);
    }
}

static size_t count_dir(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    size_t n = 0;
    if (d == NULL) {
        return 0;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            n++;
        }
    }
    closedir(d);
    return n;
}

/* Waits (up to 30 s) until the Maildir holds at least n messages. */
static size_t wait_delivered(const char *maildir, size_t n)
{
    char p1[1024], p2[1024];
    size_t got = 0;
    int i;
    snprintf(p1, sizeof p1, "%s/new", maildir);
    snprintf(p2, sizeof p2, "%s/cur", maildir);
    for (i = 0; i < 300; i++) {
        struct timespec ts = {0, 100000000L};
        got = count_dir(p1) + count_dir(p2);
        if (got >= n) {
            break;
        }
        nanosleep(&ts, NULL);
    }
    if (got >= n) {
        /* a moment more, so that extra (unexpected) deliveries show up too */
        struct timespec ts = {0, 300000000L};
        nanosleep(&ts, NULL);
        got = count_dir(p1) + count_dir(p2);
    }
    return got;
}

/* Fetches every message of user with POP3 (and deletes them). */
static int fetch_all(const char *user, const char *pass, buf *msgs, size_t max, size_t *count)
{
    postie_tcp tcp;
    postie_transport tr;
    static postie_pop3 p;
    unsigned long n = 0, i;
    postie_status st;

    *count = 0;
    if (postie_tcp_connect(&tcp, cfg_host, cfg_pop3_port, 10000) != POSTIE_OK) {
        diag("pop3 connect failed");
        return 0;
    }
    postie_tcp_transport(&tcp, &tr);
    (void)postie_pop3_init(&p, &tr);
    postie_pop3_allow_plaintext_credentials(&p, 1); /* plain TCP on loopback */
    if (postie_pop3_set_tls(&p, POSTIE_TLS_OFF, NULL) != POSTIE_OK || postie_pop3_open(&p) != POSTIE_OK ||
        postie_pop3_login(&p, user, pass, POSTIE_POP3_LOGIN_USER) != POSTIE_OK ||
        postie_pop3_stat(&p, &n, NULL) != POSTIE_OK) {
        diag("pop3 session failed: %s", postie_pop3_reply_text(&p));
        postie_pop3_close(&p);
        return 0;
    }
    for (i = 1; i <= n && i <= max; i++) {
        char chunk[4096];
        size_t got;
        if (postie_pop3_retr_begin(&p, i, NULL) != POSTIE_OK) {
            diag("RETR %lu failed", i);
            postie_pop3_close(&p);
            return 0;
        }
        while ((st = postie_pop3_read(&p, chunk, sizeof chunk, &got)) == POSTIE_OK) {
            buf_put(&msgs[i - 1], chunk, got);
        }
        if (st != POSTIE_DONE) {
            diag("RETR %lu read: %s", i, postie_status_name(st));
            postie_pop3_close(&p);
            return 0;
        }
        (void)postie_pop3_dele(&p, i);
    }
    *count = n;
    (void)postie_pop3_quit(&p, NULL);
    return 1;
}

/* 1 when msg ends with want and what comes before is only header lines
 * (each "Name: ..." or a folded continuation, CRLF-terminated). */
static int intact(const buf *msg, const buf *want)
{
    size_t pre, i;
    if (msg->len < want->len || memcmp(msg->p + msg->len - want->len, want->p, want->len) != 0) {
        return 0;
    }
    pre = msg->len - want->len;
    for (i = 0; i < pre;) {
        size_t e = i;
        while (e + 1 < pre && !(msg->p[e] == '\r' && msg->p[e + 1] == '\n')) {
            e++;
        }
        if (e + 1 >= pre || e == i) {
            return 0; /* not CRLF-terminated, or an empty line: not a header */
        }
        if (msg->p[i] != ' ' && msg->p[i] != '\t' && memchr(msg->p + i, ':', e - i) == NULL) {
            return 0;
        }
        i = e + 2;
    }
    return 1;
}

static void show_mismatch(const buf *msg, const buf *want)
{
    size_t show = msg->len < 600 ? msg->len : 600;
    diag("fetched %zu bytes, expected to end with %zu bytes", msg->len, want->len);
    diag("fetched tail: [%.*s]", (int)show, msg->p + msg->len - show);
}

/* ---- SMTP helpers ----------------------------------------------------------- */

typedef struct conn {
    postie_tcp tcp;
    postie_transport tr;
    postie_smtp s;
} conn;

/* Connects, tells the client its own address (getsockname: OS calls stay
 * out of the library), reads the greeting, EHLO. */
static int smtp_connect(conn *c)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char ip[INET6_ADDRSTRLEN];
    postie_status st;

    if ((st = postie_tcp_connect(&c->tcp, cfg_host, cfg_smtp_port, 10000)) != POSTIE_OK) {
        diag("smtp connect: %s", postie_status_name(st));
        return 0;
    }
    postie_tcp_transport(&c->tcp, &c->tr);
    if (postie_smtp_init(&c->s, &c->tr) != POSTIE_OK ||
        postie_smtp_set_tls(&c->s, POSTIE_TLS_OFF, NULL) != POSTIE_OK) {
        return 0;
    }
    /* plain TCP on loopback (smtp_tls_interop.c covers TLS) */
    postie_smtp_allow_plaintext_credentials(&c->s, 1);
    postie_smtp_set_timeout(&c->s, 20000);
    if (getsockname(c->tcp.fd, (struct sockaddr *)&ss, &sl) == 0) {
        const void *a = ss.ss_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                                                 : (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
        if (inet_ntop(ss.ss_family, a, ip, sizeof ip) != NULL) {
            (void)postie_smtp_set_local_addr(&c->s, ip);
        }
    }
    st = postie_smtp_open(&c->s);
    if (st != POSTIE_OK) {
        diag("open: %s (%d %s)", postie_status_name(st), postie_smtp_reply_code(&c->s),
             postie_smtp_reply_text(&c->s));
        postie_smtp_close(&c->s);
        return 0;
    }
    return 1;
}

static int smtp_login(conn *c, unsigned mechs)
{
    postie_status st = postie_smtp_auth(&c->s, mechs, cfg_user1, cfg_pass1);
    if (st != POSTIE_OK) {
        diag("auth: %s (%d %s)", postie_status_name(st), postie_smtp_reply_code(&c->s),
             postie_smtp_reply_text(&c->s));
        return 0;
    }
    return 1;
}

static void header(buf *b, const char *id, const char *to)
{
    char h[1024];
    snprintf(h, sizeof h,
             "From: <%s>\r\nTo: <%s>\r\nSubject: postie interop %s\r\n"
             "Date: Sun, 22 Nov 2026 01:00:00 +0000\r\nMessage-ID: <%s.%ld@postie.test>\r\n"
             "X-Postie-Test: %s\r\n\r\n",
             cfg_user1, to, id, id, (long)getpid(), id);
    buf_str(b, h);
}

/* Sends content (written in pieces of `piece` bytes) from USER1 to USER2
 * over an authenticated connection, then fetches and compares. */
static void roundtrip(const char *name, unsigned mechs, const char *body, size_t blen, size_t piece)
{
    conn c;
    buf msg = {0}, want = {0}, got[2] = {{0}, {0}};
    postie_smtp_rcpt r;
    postie_smtp_envelope env;
    size_t n = 0, i;
    postie_status st;
    int ok = 0;

    reset_box(cfg_user2);
    header(&msg, name, cfg_user2);
    buf_put(&msg, body, blen);
    normalised(msg.p, msg.len, &want);
    if (!smtp_connect(&c)) {
        check(0, "%s", name);
        goto out;
    }
    if (mechs != 0 && !smtp_login(&c, mechs)) {
        postie_smtp_close(&c.s);
        check(0, "%s", name);
        goto out;
    }
    memset(&env, 0, sizeof env);
    memset(&r, 0, sizeof r);
    r.addr = cfg_user2;
    env.from = cfg_user1;
    env.rcpts = &r;
    env.nrcpts = 1;
    env.size = msg.len;
    if (postie_smtp_has_8bit(msg.p, msg.len)) {
        env.flags |= POSTIE_SMTP_MSG_8BIT; /* BODY=8BITMIME */
    }
    st = postie_smtp_mail(&c.s, &env);
    if (st == POSTIE_OK) {
        st = postie_smtp_data_begin(&c.s);
    }
    for (i = 0; st == POSTIE_OK && i < msg.len; i += piece) {
        st = postie_smtp_data_write(&c.s, msg.p + i, msg.len - i < piece ? msg.len - i : piece);
    }
    if (st == POSTIE_OK) {
        st = postie_smtp_data_end(&c.s);
    }
    if (st != POSTIE_OK) {
        diag("send: %s (%d %s %s)", postie_status_name(st), postie_smtp_reply_code(&c.s),
             postie_smtp_reply_enhanced(&c.s), postie_smtp_reply_text(&c.s));
    }
    (void)postie_smtp_quit(&c.s);
    if (st == POSTIE_OK && wait_delivered(cfg_maildir2, 1) >= 1 &&
        fetch_all(cfg_user2, cfg_pass2, got, 2, &n)) {
        ok = n == 1 && intact(&got[0], &want);
        if (!ok) {
            diag("%zu message(s) in the mailbox", n);
            if (n >= 1) {
                show_mismatch(&got[0], &want);
            }
        }
    }
    check(ok, "%s", name);
out:
    buf_free(&msg);
    buf_free(&want);
    buf_free(&got[0]);
    buf_free(&got[1]);
}

/* ---- tests ----------------------------------------------------------------- */

static const char plain_body[] = "Hello Bob,\r\n\r\nthis went through Postfix.\r\n";

static void test_auth_mechs(void)
{
    conn c;
    postie_status st;

    roundtrip("auth PLAIN, send, fetch back byte-identical", POSTIE_SASL_PLAIN, plain_body,
              sizeof plain_body - 1, 4096);
    roundtrip("auth LOGIN, send, fetch back byte-identical", POSTIE_SASL_LOGIN, plain_body,
              sizeof plain_body - 1, 4096);
    roundtrip("auth CRAM-MD5, send, fetch back byte-identical", POSTIE_SASL_CRAM_MD5, plain_body,
              sizeof plain_body - 1, 4096);

    if (smtp_connect(&c)) {
        const postie_smtp_ext *e = postie_smtp_extensions(&c.s);
        check((e->flags & POSTIE_SMTP_EXT_PIPELINING) && (e->flags & POSTIE_SMTP_EXT_SIZE) &&
                  e->size_max == cfg_max_size && (e->flags & POSTIE_SMTP_EXT_8BITMIME) &&
                  (e->flags & POSTIE_SMTP_EXT_ENHANCEDSTATUSCODES) &&
                  (e->auth & POSTIE_SASL_PASSWORD_MECHS) == POSTIE_SASL_PASSWORD_MECHS,
              "EHLO: PIPELINING, SIZE %lu, 8BITMIME, ENHANCEDSTATUSCODES, AUTH %s", e->size_max,
              e->auth_names);
        st = postie_smtp_auth(&c.s, POSTIE_SASL_PASSWORD_MECHS, cfg_user1, "wrong-password");
        check(st == POSTIE_ERR_AUTH && postie_smtp_reply_code(&c.s) == 535 &&
                  strcmp(postie_smtp_reply_enhanced(&c.s), "5.7.8") == 0,
              "wrong password (automatic choice): POSTIE_ERR_AUTH, 535 5.7.8 \"%s\"",
              postie_smtp_reply_text(&c.s));
        st = postie_smtp_auth(&c.s, POSTIE_SASL_TOKEN_MECHS, cfg_user1, "token");
        check(st == POSTIE_ERR_UNSUPPORTED, "token mechanisms not offered: POSTIE_ERR_UNSUPPORTED");
        st = postie_smtp_auth(&c.s, POSTIE_SASL_PASSWORD_MECHS, cfg_user1, cfg_pass1);
        check(st == POSTIE_OK && postie_smtp_reply_code(&c.s) == 235,
              "automatic choice logs in after a failure on the same connection");
        st = postie_smtp_quit(&c.s);
        check(st == POSTIE_OK && postie_smtp_reply_code(&c.s) == 221, "QUIT: 221");
    } else {
        check(0, "connect for the EHLO/AUTH checks");
    }
}

static void test_dot_lines(void)
{
    static const char body[] = ".\r\n..\r\n.hidden\r\n...three\r\nx\r\n.\r\n\r\n.\r\nlast .\r\n.";
    size_t piece;
    char name[128];
    for (piece = 1; piece <= 7; piece += 3) {
        snprintf(name, sizeof name, "lines starting with '.' (written %zu byte(s) at a time)", piece);
        roundtrip(name, POSTIE_SASL_PLAIN, body, sizeof body - 1, piece);
    }
}

static void test_bare_line_ends(void)
{
    static const char body[] = "bare LF\nline two\n\nbare CR\rline four\r\rmixed\r\n\n\r"
                               "dot after LF\n.\nand after CR\r.\rend";
    roundtrip("bare LF and bare CR become CRLF; '.' after them stuffed", POSTIE_SASL_LOGIN, body,
              sizeof body - 1, 5);
}

static void test_smuggling(void)
{
    static const char body[] = "first\n.\nMAIL FROM:<evil@postie.test>\nRCPT TO:<evil@postie.test>\n"
                               "DATA\nsmuggled\n.\r\nx\r.\rMAIL FROM:<evil@postie.test>\r\n"
                               "still the same message\r\n";
    roundtrip("smuggling sequences stay inside the one message", POSTIE_SASL_PLAIN, body,
              sizeof body - 1, 3);
}

static void test_8bit(void)
{
    static const char body[] = "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln\r\n";
    roundtrip("8-bit body (BODY=8BITMIME) byte-identical", POSTIE_SASL_PLAIN, body, sizeof body - 1,
              4096);
}

static void test_many_recipients(void)
{
    static char addrs[100][128];
    static postie_smtp_rcpt r[100];
    conn c;
    postie_smtp_envelope env;
    buf msg = {0}, want = {0};
    static buf got[120];
    size_t i, n = 0, refused = 0, bad = 0, delivered;
    postie_status st;
    int policy;

    for (policy = 0; policy < 2; policy++) {
        reset_box(cfg_user2);
        msg.len = 0;
        want.len = 0;
        header(&msg, policy ? "100 recipients, continue" : "100 recipients, abort", cfg_user2);
        buf_str(&msg, "one message, many recipients\r\n");
        normalised(msg.p, msg.len, &want);
        memset(r, 0, sizeof r);
        for (i = 0; i < 100; i++) {
            const char *local = cfg_user2;
            const char *at = strchr(local, '@');
            if (i % 10 == 7) {
                snprintf(addrs[i], sizeof addrs[i], "nobody%zu@%s", i, cfg_domain);
            } else {
                snprintf(addrs[i], sizeof addrs[i], "%.*s+r%zu%s", (int)(at - local), local, i, at);
            }
            r[i].addr = addrs[i];
        }
        if (!smtp_connect(&c) || !smtp_login(&c, POSTIE_SASL_PASSWORD_MECHS)) {
            check(0, "100 recipients: connect and login");
            continue;
        }
        memset(&env, 0, sizeof env);
        env.from = cfg_user1;
        env.rcpts = r;
        env.nrcpts = 100;
        env.size = msg.len;
        env.on_refused = policy ? POSTIE_SMTP_REFUSED_CONTINUE : POSTIE_SMTP_REFUSED_ABORT;
        st = postie_smtp_send_buf(&c.s, &env, msg.p, msg.len);
        refused = 0;
        bad = 0;
        for (i = 0; i < 100; i++) {
            int want_refused = i % 10 == 7;
            if (want_refused) {
                refused++;
                bad += !(r[i].code == 550 && r[i].status == POSTIE_ERR_SERVER &&
                         strcmp(r[i].enhanced, "5.1.1") == 0);
            } else {
                bad += !(r[i].code == 250 && r[i].status == POSTIE_OK);
            }
        }
        if (policy == 0) {
            check(st == POSTIE_ERR_RECIPIENTS && env.accepted == 90 && bad == 0,
                  "100 recipients, 10 refused, abort: POSTIE_ERR_RECIPIENTS, 90 accepted, "
                  "each refusal 550 5.1.1 (%s, %zu accepted, %zu wrong results)",
                  postie_status_name(st), env.accepted, bad);
            check(postie_smtp_noop(&c.s) == POSTIE_OK, "session usable after the abort (NOOP)");
            (void)postie_smtp_quit(&c.s);
            {
                struct timespec ts = {2, 0};
                char p1[1024], p2[1024];
                nanosleep(&ts, NULL);
                snprintf(p1, sizeof p1, "%s/new", cfg_maildir2);
                snprintf(p2, sizeof p2, "%s/cur", cfg_maildir2);
                delivered = count_dir(p1) + count_dir(p2);
            }
            check(delivered == 0, "abort: nothing delivered (%zu)", delivered);
        } else {
            check(st == POSTIE_OK && env.accepted == 90 && bad == 0,
                  "100 recipients, 10 refused, continue: sent to the 90 accepted (%s, %zu wrong results)",
                  postie_status_name(st), bad);
            (void)postie_smtp_quit(&c.s);
            delivered = wait_delivered(cfg_maildir2, 90);
            for (i = 0; i < 120; i++) {
                got[i].len = 0;
            }
            if (fetch_all(cfg_user2, cfg_pass2, got, 120, &n)) {
                size_t good = 0;
                for (i = 0; i < n && i < 120; i++) {
                    good += intact(&got[i], &want);
                }
                check(n == 90 && good == 90,
                      "continue: 90 copies delivered, all intact (%zu delivered, %zu intact)", n, good);
            } else {
                check(0, "continue: fetch the 90 copies");
            }
        }
    }
    for (i = 0; i < 120; i++) {
        buf_free(&got[i]);
    }
    buf_free(&msg);
    buf_free(&want);
}

static void test_many_messages(void)
{
    static buf msgs[100], wants[100], got[110];
    conn c;
    size_t i, n = 0, sent = 0, good = 0;
    postie_status st = POSTIE_OK;

    reset_box(cfg_user2);
    for (i = 0; i < 100; i++) {
        char id[64], line[128];
        msgs[i].len = wants[i].len = 0;
        snprintf(id, sizeof id, "message %03zu of 100", i + 1);
        header(&msgs[i], id, cfg_user2);
        snprintf(line, sizeof line, "body of message %zu\n.%zu\n", i + 1, i + 1);
        buf_str(&msgs[i], line);
        normalised(msgs[i].p, msgs[i].len, &wants[i]);
    }
    if (!smtp_connect(&c) || !smtp_login(&c, POSTIE_SASL_PASSWORD_MECHS)) {
        check(0, "100 messages: connect and login");
        return;
    }
    for (i = 0; i < 100 && st == POSTIE_OK; i++) {
        postie_smtp_rcpt r;
        postie_smtp_envelope env;
        memset(&env, 0, sizeof env);
        memset(&r, 0, sizeof r);
        r.addr = cfg_user2;
        env.from = cfg_user1;
        env.rcpts = &r;
        env.nrcpts = 1;
        st = postie_smtp_send_buf(&c.s, &env, msgs[i].p, msgs[i].len);
        sent += st == POSTIE_OK;
    }
    st = postie_smtp_quit(&c.s);
    check(sent == 100 && postie_smtp_messages_sent(&c.s) == 100,
          "100 messages on one connection: each got 250 (%zu), QUIT %s", sent, postie_status_name(st));
    wait_delivered(cfg_maildir2, 100);
    if (fetch_all(cfg_user2, cfg_pass2, got, 110, &n)) {
        /* delivery order is not guaranteed: match each fetched message */
        static unsigned char seen[100];
        memset(seen, 0, sizeof seen);
        for (i = 0; i < n && i < 110; i++) {
            size_t k;
            for (k = 0; k < 100; k++) {
                if (!seen[k] && intact(&got[i], &wants[k])) {
                    seen[k] = 1;
                    good++;
                    break;
                }
            }
        }
        check(n == 100 && good == 100, "100 messages fetched back, each intact and distinct (%zu, %zu)",
              n, good);
    } else {
        check(0, "100 messages: fetch");
    }
    for (i = 0; i < 100; i++) {
        buf_free(&msgs[i]);
        buf_free(&wants[i]);
    }
    for (i = 0; i < 110; i++) {
        buf_free(&got[i]);
    }
}

static void test_size_and_params(void)
{
    conn c;
    postie_smtp_rcpt r;
    postie_smtp_envelope env;
    postie_status st;

    if (!smtp_connect(&c) || !smtp_login(&c, POSTIE_SASL_PLAIN)) {
        check(0, "SIZE checks: connect and login");
        return;
    }
    memset(&env, 0, sizeof env);
    memset(&r, 0, sizeof r);
    r.addr = cfg_user2;
    env.from = cfg_user1;
    env.rcpts = &r;
    env.nrcpts = 1;
    env.size = cfg_max_size + 1;
    st = postie_smtp_mail(&c.s, &env);
    check(st == POSTIE_ERR_TOO_BIG, "message over the server's SIZE: POSTIE_ERR_TOO_BIG before sending");
    r.addr = "bob@postie.test>\r\nRCPT TO:<evil@postie.test";
    env.size = 10;
    st = postie_smtp_mail(&c.s, &env);
    check(st == POSTIE_ERR_PARAM, "address with CR LF and '>': POSTIE_ERR_PARAM");
    st = postie_smtp_noop(&c.s);
    check(st == POSTIE_OK, "session still in step (NOOP)");
    (void)postie_smtp_quit(&c.s);
}

/* ---- a composed message: UTF-8 subject, 10 MiB attachment ---------------- */

#define ATTACH_LEN (10u * 1024u * 1024u)

/* The attachment's bytes: a xorshift stream, so nothing needs to hold them
 * while sending, and the check can make them again. */
typedef struct prng_reader {
    unsigned long long state;
    size_t left;
} prng_reader;

static unsigned char prng_next(unsigned long long *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return (unsigned char)(*x >> 24);
}

static postie_status prng_read(void *user, char *out, size_t cap, size_t *n)
{
    prng_reader *r = user;
    size_t i, k = r->left < cap ? r->left : cap;
    for (i = 0; i < k; i++) {
        out[i] = (char)prng_next(&r->state);
    }
    r->left -= k;
    *n = k;
    return k == 0 ? POSTIE_DONE : POSTIE_OK;
}

/* Value of header `name` in the header block of msg, unfolded (CRLF + WSP
 * removed), into out; 1 when found. */
static int header_value(const buf *msg, const char *name, buf *out)
{
    const char *p = msg->p, *end = strstr(msg->p, "\r\n\r\n");
    size_t nl = strlen(name);
    if (end == NULL) {
        return 0;
    }
    while (p < end) {
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (v < end) {
                if (v[0] == '\r' && v[1] == '\n') {
                    if (v[2] != ' ' && v[2] != '\t') {
                        break;
                    }
                    v += 2; /* unfold */
                    continue;
                }
                buf_put(out, v, 1);
                v++;
            }
            return 1;
        }
        p = strstr(p, "\r\n");
        if (p == NULL) {
            return 0;
        }
        p += 2;
    }
    return 0;
}

/* Decodes a header value made of RFC 2047 "=?UTF-8?B?...?=" words (white
 * space between encoded-words is dropped, RFC 2047 sec. 6.2); 1 on success. */
static int decode_words(const char *v, buf *out)
{
    while (*v != '\0') {
        const char *q, *e;
        char raw[256];
        size_t n;
        while (*v == ' ' || *v == '\t') {
            v++;
        }
        if (*v == '\0') {
            break;
        }
        if (strncasecmp(v, "=?UTF-8?B?", 10) != 0) {
            return 0;
        }
        q = v + 10;
        e = strstr(q, "?=");
        if (e == NULL || postie_base64_decode(q, (size_t)(e - q), raw, sizeof raw, &n) != POSTIE_OK) {
            return 0;
        }
        buf_put(out, raw, n);
        v = e + 2;
    }
    return 1;
}

static void test_composed_message(void)
{
    static const char subject[] =
        "Grüße aus Zürich — 東京からのファイル ✓ with a subject long enough to need "
        "several encoded-words";
    static const char body[] = "Bonjour Bob,\r\n\r\nvoilà the file you asked for.\r\n";
    static postie_compose comp;
    postie_compose_message m;
    postie_compose_address to;
    postie_compose_attachment att;
    prng_reader gen = {0x9e3779b97f4a7c15ull, ATTACH_LEN};
    unsigned char rnd[16];
    conn c;
    postie_smtp_rcpt r;
    postie_smtp_envelope env;
    buf got[2] = {{0}, {0}}, subj = {0}, subj_dec = {0}, ctype = {0};
    unsigned char *decoded = NULL;
    size_t n = 0, i, dlen = 0;
    postie_status st;
    int sent = 0;

    reset_box(cfg_user2);
    for (i = 0; i < sizeof rnd; i++) {
        rnd[i] = (unsigned char)(rand() & 0xff);
    }
    postie_compose_message_init(&m);
    m.time = (int64_t)time(NULL);
    m.random = rnd;
    m.random_len = sizeof rnd;
    m.from.name = "Alice Ærøskøbing";
    m.from.address = cfg_user1;
    to.name = "Bob";
    to.address = cfg_user2;
    m.to = &to;
    m.to_count = 1;
    m.subject = subject;
    m.body = body;
    m.body_len = sizeof body - 1;
    att.filename = "random-10MiB.bin";
    att.content_type = "application/octet-stream";
    att.data = NULL;
    att.len = 0;
    att.read = prng_read;
    att.read_user = &gen;
    m.attachments = &att;
    m.attachment_count = 1;

    if (!smtp_connect(&c)) {
        check(0, "composed message: connect");
        return;
    }
    m.allow_8bit = postie_smtp_has(&c.s, POSTIE_SMTP_EXT_8BITMIME);
    st = postie_compose_begin(&comp, &m);
    if (st == POSTIE_OK && smtp_login(&c, POSTIE_SASL_PASSWORD_MECHS)) {
        memset(&env, 0, sizeof env);
        memset(&r, 0, sizeof r);
        r.addr = cfg_user2;
        env.from = cfg_user1;
        env.rcpts = &r;
        env.nrcpts = 1;
        env.flags = postie_compose_is_8bit(&comp) ? POSTIE_SMTP_MSG_8BIT : 0;
        st = postie_smtp_send(&c.s, &env, postie_compose_reader, &comp);
        sent = st == POSTIE_OK;
        if (!sent) {
            diag("send: %s (%d %s)", postie_status_name(st), postie_smtp_reply_code(&c.s),
                 postie_smtp_reply_text(&c.s));
        }
    }
    (void)postie_smtp_quit(&c.s);
    check(sent, "composed message with a 10 MiB attachment streamed from a reader: sent");
    if (!sent || wait_delivered(cfg_maildir2, 1) < 1 || !fetch_all(cfg_user2, cfg_pass2, got, 2, &n) ||
        n != 1) {
        check(0, "composed message fetched back");
        goto out;
    }
    check(header_value(&got[0], "Subject", &subj) && decode_words(subj.p, &subj_dec) &&
              strcmp(subj_dec.p, subject) == 0,
          "UTF-8 subject arrives as RFC 2047 words that decode to the same text");
    check(strstr(got[0].p, "voilà the file") != NULL || strstr(got[0].p, "voil=C3=A0 the file") != NULL,
          "text part arrives (8bit or quoted-printable)");
    /* the attachment: the base64 part after the one with a filename */
    if (header_value(&got[0], "Content-Type", &ctype) && strstr(ctype.p, "boundary=") != NULL) {
        char delim[128];
        const char *b = strstr(ctype.p, "boundary=") + 9, *part, *data, *stop;
        size_t bl = 0;
        if (*b == '"') {
            b++;
        }
        while (b[bl] != '\0' && b[bl] != '"' && b[bl] != ';' && bl < 100) {
            bl++;
        }
        snprintf(delim, sizeof delim, "\r\n--%.*s", (int)bl, b);
        part = strstr(got[0].p, "filename=\"random-10MiB.bin\"");
        data = part ? strstr(part, "\r\n\r\n") : NULL;
        stop = data ? strstr(data, delim) : NULL;
        if (stop != NULL) {
            buf clean = {0};
            const char *q;
            data += 4;
            for (q = data; q < stop; q++) {
                if (*q != '\r' && *q != '\n') {
                    buf_put(&clean, q, 1);
                }
            }
            decoded = malloc(ATTACH_LEN + 3);
            if (decoded != NULL &&
                postie_base64_decode(clean.p, clean.len, decoded, ATTACH_LEN + 3, &dlen) != POSTIE_OK) {
                dlen = 0;
            }
            buf_free(&clean);
        }
    }
    {
        int same = dlen == ATTACH_LEN;
        unsigned long long x = 0x9e3779b97f4a7c15ull;
        for (i = 0; same && i < dlen; i++) {
            same = decoded[i] == prng_next(&x);
        }
        check(same, "10 MiB attachment decodes to the same bytes (%zu bytes decoded)", dlen);
    }
out:
    free(decoded);
    buf_free(&got[0]);
    buf_free(&got[1]);
    buf_free(&subj);
    buf_free(&subj_dec);
    buf_free(&ctype);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    setvbuf(stdout, NULL, _IOLBF, 0);
    cfg_script = need("STACK_SCRIPT");
    cfg_dir = need("STACK_DIR");
    cfg_host = need("STACK_HOST");
    cfg_smtp_port = need("SMTP_PORT");
    cfg_pop3_port = need("POP3_PORT");
    cfg_user1 = need("USER1");
    cfg_pass1 = need("PASS1");
    cfg_user2 = need("USER2");
    cfg_pass2 = need("PASS2");
    cfg_maildir2 = need("MAILDIR2");
    cfg_domain = need("DOMAIN");
    cfg_max_size = strtoull(need("SMTP_MAX_SIZE"), NULL, 10);

    test_auth_mechs();
    test_dot_lines();
    test_bare_line_ends();
    test_smuggling();
    test_8bit();
    test_size_and_params();
    test_many_recipients();
    test_many_messages();
    test_composed_message();

    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
