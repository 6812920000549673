/* tools/headers.c: sendmail -t recipients (folds, groups, display names,
 * comments), Bcc removal, the From address. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address_lists),
        cmocka_unit_test(test_address_errors),
        cmocka_unit_test(test_sendmail_t),
        cmocka_unit_test(test_first_addr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
