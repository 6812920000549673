/* Line framer: every case replayed at every chunk size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "postie/line.h"

/* Feeds input in pieces of `chunk` bytes; collects complete lines joined by '|'. */
static postie_status frame_all(const char *in, size_t n, size_t chunk, char *out, size_t cap)
{
    postie_line l;
    size_t pos = 0, o = 0;
    postie_line_init(&l);
    out[0] = '\0';
    while (pos < n) {
        size_t piece = n - pos < chunk ? n - pos : chunk;
        size_t off = 0;
        while (off < piece) {
            size_t used = 0;
            postie_status st = postie_line_feed(&l, in + pos + off, piece - off, &used);
            off += used;
            if (st == POSTIE_DONE) {
                assert_true(o + l.len + 2 < cap);
                assert_int_equal(strlen(l.buf), l.len);
                memcpy(out + o, l.buf, l.len);
                o += l.len;
                out[o++] = '|';
                out[o] = '\0';
            } else if (st != POSTIE_OK) {
                return st;
            } else {
                assert_int_equal(off, piece); /* OK means all input taken */
            }
        }
        pos += piece;
    }
    return POSTIE_OK;
}

static void check_every_chunk(const char *in, const char *expect)
{
    size_t n = strlen(in), chunk;
    char out[4096];
    for (chunk = 1; chunk <= n; chunk++) {
        assert_int_equal(frame_all(in, n, chunk, out, sizeof out), POSTIE_OK);
        assert_string_equal(out, expect);
    }
}

static void test_crlf_lines(void **state)
{
    (void)state;
    check_every_chunk("+OK hello\r\n-ERR no\r\n", "+OK hello|-ERR no|");
}

static void test_inner_cr_is_data(void **state)
{
    (void)state;
    /* a lone CR is a byte of the line; only CRLF ends it */
    check_every_chunk("c\rd\r\n\r\n\r\r\n\rx\r\r\n", "c\rd||\r|\rx\r|");
}

/* A bare LF is no line end: POSTIE_ERR_PROTOCOL at every chunk size, after the
 * lines before it were handed out whole. */
static void check_bare_lf(const char *in, const char *lines_before)
{
    size_t n = strlen(in), chunk;
    char out[256];
    for (chunk = 1; chunk <= n; chunk++) {
        assert_int_equal(frame_all(in, n, chunk, out, sizeof out), POSTIE_ERR_PROTOCOL);
        assert_string_equal(out, lines_before);
    }
}

static void test_bare_lf_is_error(void **state)
{
    postie_line l;
    size_t used = 99;
    (void)state;
    check_bare_lf("\n", "");
    check_bare_lf("+OK\n", "");
    check_bare_lf("+OK\r\n.\n", "+OK|");
    check_bare_lf("+OK\r\nline\nmore\r\n.\r\n", "+OK|");
    check_bare_lf("250-a\r\n250 b\n\r\n", "250-a|");
    check_bare_lf("a\r\r\n\n\r\n", "a\r|");
    /* *consumed stops before the LF */
    postie_line_init(&l);
    assert_int_equal(postie_line_feed(&l, "ab\ncd\r\n", 7, &used), POSTIE_ERR_PROTOCOL);
    assert_int_equal(used, 2);
}

static void test_partial_line_not_returned(void **state)
{
    (void)state;
    check_every_chunk("one\r\ntwo\r", "one|");
}

static void test_max_line_exact_fits(void **state)
{
    static char in[POSTIE_LINE_MAX + 4], expect[POSTIE_LINE_MAX + 4];
    (void)state;
    /* content + CRLF == POSTIE_LINE_MAX: allowed */
    memset(in, 'x', POSTIE_LINE_MAX - 2);
    memcpy(in + POSTIE_LINE_MAX - 2, "\r\n", 3);
    memset(expect, 'x', POSTIE_LINE_MAX - 2);
    memcpy(expect + POSTIE_LINE_MAX - 2, "|", 2);
    check_every_chunk(in, expect);
    /* content ending in a lone CR, + CRLF == POSTIE_LINE_MAX: allowed */
    memset(in, 'y', POSTIE_LINE_MAX - 3);
    memcpy(in + POSTIE_LINE_MAX - 3, "\r\r\n", 4);
    memset(expect, 'y', POSTIE_LINE_MAX - 3);
    memcpy(expect + POSTIE_LINE_MAX - 3, "\r|", 3);
    check_every_chunk(in, expect);
}

static void test_overlong_line_is_error(void **state)
{
    static char in[POSTIE_LINE_MAX * 3];
    char out[64];
    size_t chunk;
    (void)state;
    memset(in, 'z', sizeof in - 3);
    memcpy(in + sizeof in - 3, "\r\n", 3);
    for (chunk = 1; chunk <= sizeof in; chunk += (chunk < 64 ? 1 : 97)) {
        assert_int_equal(frame_all(in, strlen(in), chunk, out, sizeof out),
                         POSTIE_ERR_LINE_TOO_LONG);
    }
    /* one byte over: content + CRLF == POSTIE_LINE_MAX + 1 */
    memset(in, 'z', POSTIE_LINE_MAX - 1);
    memcpy(in + POSTIE_LINE_MAX - 1, "\r\n", 3);
    assert_int_equal(frame_all(in, strlen(in), 1, out, sizeof out), POSTIE_ERR_LINE_TOO_LONG);
}

static void test_consumed_stops_after_line(void **state)
{
    postie_line l;
    size_t used = 99;
    (void)state;
    postie_line_init(&l);
    assert_int_equal(postie_line_feed(&l, "ab\r\nrest", 8, &used), POSTIE_DONE);
    assert_int_equal(used, 4);
    assert_string_equal(l.buf, "ab");
    assert_int_equal(postie_line_feed(&l, "rest", 4, &used), POSTIE_OK);
    assert_int_equal(used, 4);
    assert_int_equal(postie_line_feed(NULL, "x", 1, &used), POSTIE_ERR_PARAM);
    assert_int_equal(postie_line_feed(&l, NULL, 1, &used), POSTIE_ERR_PARAM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crlf_lines),
        cmocka_unit_test(test_inner_cr_is_data),
        cmocka_unit_test(test_bare_lf_is_error),
        cmocka_unit_test(test_partial_line_not_returned),
        cmocka_unit_test(test_max_line_exact_fits),
        cmocka_unit_test(test_overlong_line_is_error),
        cmocka_unit_test(test_consumed_stops_after_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
