/* tools/common.c: --trace redaction (PASS, APOP, AUTH and SASL exchanges)
 * and the transport wrapper that logs both directions line by line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common.h"
#include "trace.h"

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

/* A password longer than the wrapper's line buffer: no part of it shows,
 * and the next line is traced again. */
static void test_trace_long_password(void **state)
{
    tool_trace t;
    postie_transport inner = { NULL, fake_send, fake_recv, NULL, NULL }, w;
    char *log = NULL, *line;
    size_t loglen = 0, n = 5000, i;
    FILE *f = open_memstream(&log, &loglen);
    (void)state;
    line = malloc(n + 32);
    strcpy(line, "PASS ");
    for (i = 5; i < n; i++)
        line[i] = 'Z';
    memcpy(line + n, "\r\nSTAT\r\n", 9);
    tool_trace_wrap(&t, &inner, f, &w);
    assert_int_equal(postie_transport_send_all(&w, line, n + 8, 1000), POSTIE_OK);
    fclose(f);
    assert_non_null(strstr(log, "C: PASS <redacted>\n"));
    assert_null(strstr(log, "ZZ"));
    assert_non_null(strstr(log, "\nC: STAT\n"));
    free(line);
    free(log);
}

/* Control bytes from the server never reach the terminal raw. */
static void test_escape(void **state)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    static const char in[] = "a\x1b]0;t\x07\x1b[2J\tb\r\n\xc3\xa9\xc2\x9b\xff~\x7f";
    (void)state;
    tool_escape(f, in, sizeof in - 1);
    fclose(f);
    assert_string_equal(out, "a\\x1b]0;t\\x07\\x1b[2J\\tb\\x0d\\x0a\xc3\xa9\\xc2\\x9b\\xff~\\x7f");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_redaction),
        cmocka_unit_test(test_trace_wrapper),
        cmocka_unit_test(test_trace_long_password),
        cmocka_unit_test(test_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
