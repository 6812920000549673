/* tools/headers.c (sendmail -t) and the trace redaction of tools/common.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common.h"
#include "headers.h"

static void expect_addrs(const char *value, const char *joined)
{
    tool_strv v;
    char buf[1024] = "";
    size_t i;
    memset(&v, 0, sizeof v);
    assert_int_equal(tool_addr_list_parse(value, &v), 0);
    for (i = 0; i < v.n; i++) {
        if (i)
            strcat(buf, "|");
        strcat(buf, v.v[i]);
    }
    assert_string_equal(buf, joined);
    tool_strv_free(&v);
}

static void test_address_lists(void **state)
{
    (void)state;
    expect_addrs("a@x.test", "a@x.test");
    expect_addrs(" A Person <a@x.test>, b@y.test (Bee) ", "a@x.test|b@y.test");
    expect_addrs("\"Doe, John\" <j@x.test>, \"x\\\"y\" <k@x.test>", "j@x.test|k@x.test");
    expect_addrs("team: a@x.test, Bee <b@x.test>;, c@x.test", "a@x.test|b@x.test|c@x.test");
    expect_addrs("undisclosed-recipients:;", "");
    expect_addrs("<@route.test,@r2.test:r@x.test>", "r@x.test");
    expect_addrs("\"quoted local\"@x.test", "\"quoted local\"@x.test");
    expect_addrs("a@x.test (comment (nested, with comma)), b@x.test", "a@x.test|b@x.test");
    expect_addrs(",,", "");
}

static void test_address_errors(void **state)
{
    tool_strv v;
    (void)state;
    memset(&v, 0, sizeof v);
    assert_int_equal(tool_addr_list_parse("\"open <a@x>", &v), -1);
    assert_int_equal(tool_addr_list_parse("a@x (open", &v), -1);
    assert_int_equal(tool_addr_list_parse("<a@x", &v), -1);
    tool_strv_free(&v);
}

static void check_take(const char *msg, const char *want_rcpts, const char *want_out)
{
    tool_strv r;
    char *out = NULL, buf[1024] = "";
    size_t outlen, i;
    memset(&r, 0, sizeof r);
    assert_int_equal(tool_headers_take_recipients(msg, strlen(msg), &r, &out, &outlen), 0);
    for (i = 0; i < r.n; i++) {
        if (i)
            strcat(buf, "|");
        strcat(buf, r.v[i]);
    }
    assert_string_equal(buf, want_rcpts);
    assert_int_equal(outlen, strlen(want_out));
    assert_string_equal(out, want_out);
    free(out);
    tool_strv_free(&r);
}

static void test_sendmail_t(void **state)
{
    (void)state;
    /* folded To, Cc, Bcc with a continuation line; Bcc and its fold removed */
    check_take("From: me@x.test\n"
               "To: one@x.test,\n"
               "  Two <two@x.test>\n"
               "cc: three@x.test\n"
               "BCC: hidden@x.test,\n"
               "\tsecret <s@x.test>\n"
               "Subject: To: not@header.test\n"
               "\n"
               "To: body@x.test\n"
               "Bcc: body-bcc@x.test\n",
               "one@x.test|two@x.test|three@x.test|hidden@x.test|s@x.test",
               "From: me@x.test\n"
               "To: one@x.test,\n"
               "  Two <two@x.test>\n"
               "cc: three@x.test\n"
               "Subject: To: not@header.test\n"
               "\n"
               "To: body@x.test\n"
               "Bcc: body-bcc@x.test\n");
    /* CRLF line ends, a group, Bcc as the last field */
    check_take("To: list: a@x.test, b@x.test;\r\n"
               "Bcc: c@x.test\r\n"
               "\r\n"
               "body\r\n",
               "a@x.test|b@x.test|c@x.test",
               "To: list: a@x.test, b@x.test;\r\n"
               "\r\n"
               "body\r\n");
    /* fields whose name merely starts like To/Bcc are not recipients */
    check_take("Top: x@x.test\nBccx: y@x.test\nTo : z@x.test\n\n",
               "z@x.test", "Top: x@x.test\nBccx: y@x.test\nTo : z@x.test\n\n");
    /* no body at all */
    check_take("Bcc: only@x.test\n", "only@x.test", "");
}

static void test_first_addr(void **state)
{
    const char *m = "To: a@x.test\nFrom: \"Me\" <me@x.test>\n\nFrom: body@x.test\n";
    char *a;
    (void)state;
    a = tool_headers_first_addr(m, strlen(m), "From");
    assert_string_equal(a, "me@x.test");
    free(a);
    assert_null(tool_headers_first_addr(m, strlen(m), "Sender"));
}

static void redact(const char *line, int *in_auth, const char *want)
{
    char out[256];
    tool_trace_redact(line, in_auth, out, sizeof out);
    assert_string_equal(out, want);
}

static void test_trace_redaction(void **state)
{
    int a = 0;
    (void)state;
    redact("USER alice", &a, "USER alice");
    redact("PASS hunter2", &a, "PASS <redacted>");
    redact("pass hunter2", &a, "pass <redacted>");
    redact("PASSWORD x", &a, "PASSWORD x"); /* not the PASS command */
    redact("APOP alice c4c9334bac560ecc979e58001b3e22fb", &a, "APOP alice <redacted>");
    assert_int_equal(a, 0);
    redact("AUTH", &a, "AUTH"); /* POP3 mechanism listing */
    assert_int_equal(a, 0);
    /* SMTP AUTH PLAIN with an initial response */
    redact("AUTH PLAIN AGFsaWNlAGh1bnRlcjI=", &a, "AUTH PLAIN <redacted>");
    assert_int_equal(a, 1);
    tool_trace_server_line("235 2.7.0 Authentication successful", &a);
    assert_int_equal(a, 0);
    /* AUTH LOGIN: user and password lines inside the exchange */
    redact("AUTH LOGIN", &a, "AUTH LOGIN");
    tool_trace_server_line("334 VXNlcm5hbWU6", &a);
    redact("YWxpY2U=", &a, "<redacted>");
    tool_trace_server_line("334 UGFzc3dvcmQ6", &a);
    redact("aHVudGVyMg==", &a, "<redacted>");
    tool_trace_server_line("535 5.7.8 failed", &a);
    assert_int_equal(a, 0);
    redact("QUIT", &a, "QUIT");
    /* POP3 SASL continuation */
    redact("AUTH CRAM-MD5", &a, "AUTH CRAM-MD5");
    tool_trace_server_line("+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2U+", &a);
    redact("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw", &a, "<redacted>");
    tool_trace_server_line("+OK logged in", &a);
    assert_int_equal(a, 0);
    redact("STAT", &a, "STAT");
}

/* The wrapper logs both directions line by line, redacted, whatever the
 * chunking of send/recv. */
static const char *script_in = "+OK ready\r\n+OK\r\n+OK logged\r\n";
static size_t script_pos;

static long fake_send(void *ctx, const void *buf, size_t len, unsigned t)
{
    (void)ctx; (void)buf; (void)t;
    return len > 3 ? 3 : (long)len; /* partial writes */
}

static long fake_recv(void *ctx, void *buf, size_t len, unsigned t)
{
    size_t left = strlen(script_in) - script_pos;
    (void)ctx; (void)t;
    if (left == 0)
        return 0;
    if (len > 2)
        len = 2;
    if (len > left)
        len = left;
    memcpy(buf, script_in + script_pos, len);
    script_pos += len;
    return (long)len;
}

static void test_trace_wrapper(void **state)
{
    tool_trace t;
    postie_transport inner = { NULL, fake_send, fake_recv, NULL, NULL }, w;
    char *log = NULL, rbuf[64];
    size_t loglen = 0;
    FILE *f = open_memstream(&log, &loglen);
    (void)state;
    script_pos = 0;
    tool_trace_wrap(&t, &inner, f, &w);
    assert_null(w.start_tls);
    while (w.recv(w.ctx, rbuf, sizeof rbuf, 1000) > 0)
        ;
    assert_int_equal(postie_transport_send_all(&w, "USER bob\r\nPASS s3cret\r\n", 23, 1000), POSTIE_OK);
    w.close(w.ctx);
    fclose(f);
    assert_non_null(strstr(log, "S: +OK ready\nS: +OK\nS: +OK logged\n"));
    assert_non_null(strstr(log, "C: USER bob\nC: PASS <redacted>\n"));
    assert_null(strstr(log, "s3cret"));
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address_lists),
        cmocka_unit_test(test_address_errors),
        cmocka_unit_test(test_sendmail_t),
        cmocka_unit_test(test_first_addr),
        cmocka_unit_test(test_trace_redaction),
        cmocka_unit_test(test_trace_wrapper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
