/* tools/outbox.c: postie-send's outbox without a network. --queue writes
 * one private file into queue/ (never with a line break in its envelope);
 * --list-queue says why each message waits; --flush over a scripted server
 * (fake_transport) sends, defers a 4xx with its back-off, moves a 5xx aside
 * with the reply, keeps a message whose reply was lost and says so, and
 * leaves a message whose next try has not come. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fake_transport.h"
#include "common.h"
#include "outbox.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/postie-outbox-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
    tool_verbosity = -1;
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* Files in dir/sub ending with ext. */
static int count(const char *sub, const char *ext)
{
    char p[256];
    DIR *d;
    struct dirent *de;
    int n = 0;
    snprintf(p, sizeof p, "%s/%s", dir, sub);
    d = opendir(p);
    if (!d)
        return 0;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name), e = strlen(ext);
        if (de->d_name[0] != '.' && l > e && strcmp(de->d_name + l - e, ext) == 0)
            n++;
    }
    closedir(d);
    return n;
}

/* The content of the one file of dir/sub ending with ext (malloc'd). */
static char *the_file(const char *sub, const char *ext, struct stat *sb)
{
    char p[512];
    DIR *d;
    struct dirent *de;
    char *r = NULL;
    snprintf(p, sizeof p, "%s/%s", dir, sub);
    d = opendir(p);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name), e = strlen(ext);
        if (de->d_name[0] != '.' && l >= e && strcmp(de->d_name + l - e, ext) == 0) {
            FILE *f;
            long n;
            snprintf(p, sizeof p, "%s/%s/%s", dir, sub, de->d_name);
            f = fopen(p, "rb");
            assert_non_null(f);
            if (sb)
                assert_int_equal(stat(p, sb), 0);
            fseek(f, 0, SEEK_END);
            n = ftell(f);
            rewind(f);
            r = calloc(1, (size_t)n + 1);
            assert_int_equal(fread(r, 1, (size_t)n, f), (size_t)n);
            fclose(f);
            break;
        }
    }
    closedir(d);
    assert_non_null(r);
    return r;
}

static void enqueue(const char *host, const char *rcpt, const char *msg)
{
    tool_outbox_acct a;
    tool_strv rc;
    memset(&a, 0, sizeof a);
    memset(&rc, 0, sizeof rc);
    a.host = (char *)host;
    a.port = (char *)"2525";
    a.tls = (char *)"off";
    tool_strv_add(&rc, rcpt);
    assert_int_equal(tool_outbox_enqueue(dir, &a, "a@x.test", &rc, msg, strlen(msg)), 0);
    tool_strv_free(&rc);
}

static void test_durations(void **state)
{
    long long v;
    (void)state;
    assert_int_equal(tool_outbox_parse_duration("90", &v), 0);
    assert_int_equal(v, 90);
    assert_int_equal(tool_outbox_parse_duration("90s", &v), 0);
    assert_int_equal(v, 90);
    assert_int_equal(tool_outbox_parse_duration("15m", &v), 0);
    assert_int_equal(v, 900);
    assert_int_equal(tool_outbox_parse_duration("2h", &v), 0);
    assert_int_equal(v, 7200);
    assert_int_equal(tool_outbox_parse_duration("5d", &v), 0);
    assert_int_equal(v, 432000);
    assert_int_equal(tool_outbox_parse_duration("", &v), -1);
    assert_int_equal(tool_outbox_parse_duration("m", &v), -1);
    assert_int_equal(tool_outbox_parse_duration("5x", &v), -1);
    assert_int_equal(tool_outbox_parse_duration("5mm", &v), -1);
    assert_int_equal(tool_outbox_parse_duration("-1", &v), -1);
}

static void test_enqueue_file(void **state)
{
    struct stat sb;
    char *f;
    const char *msg = "Subject: s\r\n\r\nbody\r\n";
    (void)state;
    enqueue("mx.test", "b@x.test", msg);
    assert_int_equal(count("queue", ".msg"), 1);
    assert_int_equal(count("tmp", ""), 0);
    f = the_file("queue", ".msg", &sb);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_memory_equal(f, "postie-outbox 1\nhost mx.test\nport 2525\ntls off\nfrom a@x.test\n"
                           "rcpt b@x.test\nqueued ", 77);
    /* the envelope, a blank line, the message as it was */
    assert_non_null(strstr(f, "\n\n"));
    assert_string_equal(strstr(f, "\n\n") + 2, msg);
    free(f);
}

static void test_enqueue_refuses_line_breaks(void **state)
{
    tool_outbox_acct a;
    tool_strv rc;
    (void)state;
    memset(&a, 0, sizeof a);
    memset(&rc, 0, sizeof rc);
    a.host = (char *)"mx.test";
    tool_strv_add(&rc, "b@x.test\r\nRCPT TO:<evil@x.test>");
    assert_int_equal(tool_outbox_enqueue(dir, &a, "a@x.test", &rc, "x", 1), 65);
    tool_strv_free(&rc);
    tool_strv_add(&rc, "b@x.test");
    a.host = (char *)"mx.test\nrcpt evil@x.test";
    assert_int_equal(tool_outbox_enqueue(dir, &a, "a@x.test", &rc, "x", 1), 64);
    a.host = (char *)"mx.test";
    assert_int_equal(tool_outbox_enqueue(dir, &a, "a@x.test\n", &rc, "x", 1), 65);
    tool_strv_free(&rc);
    assert_int_equal(count("queue", ".msg"), 0);
}

/* standard output into a file while fn runs; the file's content */
static char *capture(int (*fn)(void *), void *arg, int *rc)
{
    char path[128], *r;
    int saved, fd;
    FILE *f;
    long n;
    snprintf(path, sizeof path, "%s/stdout", dir);
    fflush(stdout);
    saved = dup(1);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 1);
    close(fd);
    *rc = fn(arg);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    r = calloc(1, (size_t)n + 1);
    assert_int_equal(fread(r, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    unlink(path);
    return r;
}

static int do_list(void *arg)
{
    (void)arg;
    return tool_outbox_list(dir);
}

static void test_list(void **state)
{
    char *out;
    int rc;
    (void)state;
    enqueue("mx.test", "b@x.test", "Subject: s\r\n\r\nbody\r\n");
    out = capture(do_list, NULL, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, ": waiting for the first flush\n"));
    assert_non_null(strstr(out, "from <a@x.test> to <b@x.test>; server mx.test\n"));
    assert_non_null(strstr(out, "1 message waiting in "));
    free(out);
}

/* ---- --flush over a fake server -------------------------------------------- */

typedef struct fake_ops {
    fake_transport ft;
    unsigned matched; /* bytes of CRLF "." CRLF seen */
    postie_transport inner, tr;
    postie_smtp smtp;
    tool_cfg cfg;
    int (*hook)(void *u, int sent);
    void *hook_u;
    int end_sent, logins, closes, quits;
} fake_ops;

/* The transport the client sees: calls the end hook around the bytes that
 * end a message, as postie-send's does. */
static long hook_send(void *ctx, const void *buf, size_t len, unsigned timeout_ms)
{
    static const char end[] = "\r\n.\r\n";
    fake_ops *o = ctx;
    unsigned m = o->matched;
    size_t k;
    int ends = 0;
    long r;
    for (k = 0; k < len; k++) {
        char c = ((const char *)buf)[k];
        m = c == end[m] ? m + 1 : c == '\r' ? 1 : 0;
        if (m == 5) {
            ends = 1;
            m = 0;
        }
    }
    o->matched = m;
    if (ends && o->hook && o->hook(o->hook_u, 0) != 0)
        return POSTIE_ERR_IO;
    r = o->inner.send(o->inner.ctx, buf, len, timeout_ms);
    if (ends && r == (long)len) {
        o->end_sent = 1;
        if (o->hook)
            o->hook(o->hook_u, 1);
    }
    return r;
}

static long hook_recv(void *ctx, void *buf, size_t len, unsigned timeout_ms)
{
    fake_ops *o = ctx;
    return o->inner.recv(o->inner.ctx, buf, len, timeout_ms);
}

static void hook_close(void *ctx)
{
    fake_ops *o = ctx;
    o->inner.close(o->inner.ctx);
}

static int op_resolve(void *ctx, const tool_outbox_acct *a, const tool_cfg **cfg)
{
    fake_ops *o = ctx;
    assert_string_equal(a->host, "mx.test");
    *cfg = &o->cfg;
    return 0;
}

static int op_login(void *ctx, postie_smtp **smtp)
{
    fake_ops *o = ctx;
    o->logins++;
    fake_bind(&o->ft, &o->inner);
    o->tr.ctx = o;
    o->tr.send = hook_send;
    o->tr.recv = hook_recv;
    o->tr.start_tls = NULL;
    o->tr.close = hook_close;
    postie_smtp_init(&o->smtp, &o->tr);
    assert_int_equal(postie_smtp_set_tls(&o->smtp, POSTIE_TLS_OFF, NULL), POSTIE_OK);
    assert_int_equal(postie_smtp_set_domain(&o->smtp, "client.test"), POSTIE_OK);
    assert_int_equal(postie_smtp_open(&o->smtp), POSTIE_OK);
    *smtp = &o->smtp;
    return 0;
}

static void op_end_hook(void *ctx, int (*hook)(void *u, int sent), void *u)
{
    fake_ops *o = ctx;
    o->hook = hook;
    o->hook_u = u;
    if (hook)
        o->end_sent = 0;
}

static int op_end_sent(void *ctx)
{
    return ((fake_ops *)ctx)->end_sent;
}

static void op_close(void *ctx, int quit)
{
    fake_ops *o = ctx;
    o->closes++;
    if (o->logins == 0)
        return;
    if (quit) {
        o->quits++;
        (void)postie_smtp_quit(&o->smtp);
    } else {
        postie_smtp_close(&o->smtp);
    }
}

static fake_ops *ops_new(tool_outbox_ops *ops)
{
    fake_ops *o = calloc(1, sizeof *o);
    assert_non_null(o);
    fake_init(&o->ft, 0);
    o->ft.at_end = 0;
    ops->ctx = o;
    ops->resolve = op_resolve;
    ops->login = op_login;
    ops->end_hook = op_end_hook;
    ops->end_sent = op_end_sent;
    ops->close = op_close;
    return o;
}

/* One transaction (fake_step_add keeps the pointers: literals only). */
static void one(fake_transport *f, const char *rcpt_cmd, const char *body_reply)
{
    fake_step_add(f, "MAIL FROM:<a@x.test>\r\n", "250 ok\r\n");
    fake_step_add(f, rcpt_cmd, "250 ok\r\n");
    fake_step_add(f, "DATA\r\n", "354 go\r\n");
    fake_step_add(f, "Subject: s\r\n\r\nbody\r\n.\r\n", body_reply);
}

static int do_flush(void *arg)
{
    return tool_outbox_flush(dir, NULL, arg);
}

static void test_flush_outcomes(void **state)
{
    tool_outbox_ops ops;
    fake_ops *o = ops_new(&ops);
    char *out, *st;
    int rc;
    (void)state;
    enqueue("mx.test", "b1@x.test", "Subject: s\r\n\r\nbody\r\n");
    enqueue("mx.test", "b2@x.test", "Subject: s\r\n\r\nbody\r\n");
    enqueue("mx.test", "b3@x.test", "Subject: s\r\n\r\nbody\r\n");
    fake_step_add(&o->ft, "", "220 mx\r\n");
    fake_step_add(&o->ft, "EHLO client.test\r\n", "250 mx\r\n");
    one(&o->ft, "RCPT TO:<b1@x.test>\r\n", "250 2.0.0 queued\r\n");
    one(&o->ft, "RCPT TO:<b2@x.test>\r\n", "451 4.3.0 try later\r\n");
    one(&o->ft, "RCPT TO:<b3@x.test>\r\n", "554 5.7.1 no\r\n");
    fake_step_add(&o->ft, "QUIT\r\n", "221 bye\r\n");
    tool_verbosity = 0; /* -q would hide the "sent" line */
    out = capture(do_flush, &ops, &rc);
    tool_verbosity = -1;
    fake_assert_script_sent(&o->ft);
    assert_int_equal(rc, 75); /* the first failure: the deferral */
    assert_int_equal(o->logins, 1);
    assert_int_equal(o->quits, 1);
    assert_non_null(strstr(out, ": sent to 1 recipient (250 2.0.0 queued)\n"));
    assert_non_null(strstr(out, ": deferred (451 4.3.0 try later); attempt 1, next try from "));
    assert_non_null(strstr(out, ": refused by the server: 554 5.7.1 no; moved to failed/\n"));
    free(out);
    assert_int_equal(count("queue", ".msg"), 1);
    assert_int_equal(count("queue", ".end"), 0);
    st = the_file("queue", ".st", NULL);
    assert_non_null(strstr(st, "attempts 1\n"));
    assert_non_null(strstr(st, "last 451 4.3.0 try later\n"));
    {
        long long next = strtoll(strstr(st, "next ") + 5, NULL, 10), now = time(NULL);
        /* the default back-off, 60 s, with jitter: 30 to 60 s */
        assert_true(next >= now + 28 && next <= now + 61);
    }
    free(st);
    assert_int_equal(count("failed", ".msg"), 1);
    st = the_file("failed", ".st", NULL);
    assert_non_null(strstr(st, "last refused by the server: 554 5.7.1 no\n"));
    free(st);
    st = the_file(".", "log", NULL);
    {
        /* one line per outcome, each with its time */
        int lines = 0;
        const char *p;
        for (p = st; *p; p++)
            lines += *p == '\n';
        assert_int_equal(lines, 3);
        assert_non_null(strstr(st, "Z "));
        assert_non_null(strstr(st, ": deferred (451 4.3.0 try later)"));
    }
    free(st);
    fake_free(&o->ft);
    free(o);

    /* the deferred one is not due: a flush connects nowhere */
    o = ops_new(&ops);
    out = capture(do_flush, &ops, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(o->logins, 0);
    assert_string_equal(out, "");
    free(out);
    fake_free(&o->ft);
    free(o);
}

static void test_flush_reply_lost(void **state)
{
    tool_outbox_ops ops;
    fake_ops *o = ops_new(&ops);
    char *out, *st;
    int rc;
    (void)state;
    enqueue("mx.test", "b1@x.test", "Subject: s\r\n\r\nbody\r\n");
    enqueue("mx.test", "b2@x.test", "Subject: s\r\n\r\nbody\r\n");
    fake_step_add(&o->ft, "", "220 mx\r\n");
    fake_step_add(&o->ft, "EHLO client.test\r\n", "250 mx\r\n");
    /* the connection ends after the first message's dot */
    fake_step_add(&o->ft, "MAIL FROM:<a@x.test>\r\n", "250 ok\r\n");
    fake_step_add(&o->ft, "RCPT TO:<b1@x.test>\r\n", "250 ok\r\n");
    fake_step_add(&o->ft, "DATA\r\n", "354 go\r\n");
    fake_step_add(&o->ft, "Subject: s\r\n\r\nbody\r\n.\r\n", "");
    out = capture(do_flush, &ops, &rc);
    fake_assert_script_sent(&o->ft);
    assert_int_equal(rc, 75);
    assert_non_null(strstr(out, ": may have been delivered: the connection was lost after the "
                                "end of the message went out and before the server's reply"));
    assert_int_equal(count("queue", ".msg"), 2); /* kept; the second never tried */
    assert_int_equal(count("queue", ".end"), 0);
    st = the_file("queue", ".st", NULL);
    assert_non_null(strstr(st, "unknown 1\n"));
    assert_non_null(strstr(st, "next 0\n"));
    free(st);
    free(out);
    fake_free(&o->ft);
    free(o);

    /* the next flush sends both at once and says the first may arrive twice */
    o = ops_new(&ops);
    fake_step_add(&o->ft, "", "220 mx\r\n");
    fake_step_add(&o->ft, "EHLO client.test\r\n", "250 mx\r\n");
    one(&o->ft, "RCPT TO:<b1@x.test>\r\n", "250 2.0.0 one\r\n");
    one(&o->ft, "RCPT TO:<b2@x.test>\r\n", "250 2.0.0 two\r\n");
    fake_step_add(&o->ft, "QUIT\r\n", "221 bye\r\n");
    out = capture(do_flush, &ops, &rc);
    fake_assert_script_sent(&o->ft);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, ": sent to 1 recipient (250 2.0.0 one); an earlier attempt's "
                                "reply was lost, so the recipients may have it twice\n"));
    assert_int_equal(count("queue", ""), 0);
    free(out);
    fake_free(&o->ft);
    free(o);
}

/* A flush killed after the end marker: the next one says so and sends it. */
static void test_flush_end_marker(void **state)
{
    tool_outbox_ops ops;
    fake_ops *o;
    char path[512], *out;
    int rc, fd;
    (void)state;
    enqueue("mx.test", "b1@x.test", "Subject: s\r\n\r\nbody\r\n");
    {
        DIR *d;
        struct dirent *de;
        snprintf(path, sizeof path, "%s/queue", dir);
        d = opendir(path);
        while ((de = readdir(d)) != NULL)
            if (strstr(de->d_name, ".msg")) {
                snprintf(path, sizeof path, "%s/queue/%.*s.end", dir,
                         (int)(strlen(de->d_name) - 4), de->d_name);
                break;
            }
        closedir(d);
    }
    fd = open(path, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    close(fd);
    o = ops_new(&ops);
    fake_step_add(&o->ft, "", "220 mx\r\n");
    fake_step_add(&o->ft, "EHLO client.test\r\n", "250 mx\r\n");
    one(&o->ft, "RCPT TO:<b1@x.test>\r\n", "250 2.0.0 ok\r\n");
    fake_step_add(&o->ft, "QUIT\r\n", "221 bye\r\n");
    out = capture(do_flush, &ops, &rc);
    fake_assert_script_sent(&o->ft);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, ": may have been delivered: a flush stopped after the end of "
                                "the message went out and before the server's reply was "
                                "recorded; it is sent again"));
    assert_non_null(strstr(out, "may have it twice\n"));
    assert_int_equal(count("queue", ""), 0);
    free(out);
    fake_free(&o->ft);
    free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),
        cmocka_unit_test_setup_teardown(test_enqueue_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enqueue_refuses_line_breaks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_outcomes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_reply_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_end_marker, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
