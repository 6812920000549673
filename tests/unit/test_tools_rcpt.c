/* tools/rcpt.c: postie-send's recipient arguments are exactly addresses
 * (one each, or an RFC 5322 list), never glued or half-read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rcpt.h"

static void accepts(const char *arg, const char *want0, const char *want1)
{
    tool_strv v;
    char err[256];
    memset(&v, 0, sizeof v);
    assert_int_equal(tool_rcpt_arg(arg, &v, err, sizeof err), 0);
    assert_int_equal(v.n, want1 ? 2 : 1);
    assert_string_equal(v.v[0], want0);
    if (want1)
        assert_string_equal(v.v[1], want1);
    tool_strv_free(&v);
}

static void refuses(const char *arg)
{
    tool_strv v;
    char err[256] = "";
    memset(&v, 0, sizeof v);
    assert_int_equal(tool_rcpt_arg(arg, &v, err, sizeof err), -1);
    assert_int_equal(v.n, 0);
    assert_true(err[0] != '\0');
    tool_strv_free(&v);
}

static void test_rcpt_accepted(void **state)
{
    (void)state;
    accepts("b@x.test", "b@x.test", NULL);
    accepts("  b@x.test ", "b@x.test", NULL);
    accepts("Bob <b@x.test>", "b@x.test", NULL);
    accepts("J. R. Bob <b@x.test>", "b@x.test", NULL);
    accepts("\"Doe, J <x>\" <j@x.test>", "j@x.test", NULL);
    accepts("b@x.test, Carol <c@y.test>", "b@x.test", "c@y.test");
    accepts("a.b+tag@[192.0.2.1]", "a.b+tag@[192.0.2.1]", NULL);
    accepts("\"odd local\"@x.test", "\"odd local\"@x.test", NULL);
    accepts("b@x.test,", "b@x.test", NULL);
}

static void test_rcpt_refused(void **state)
{
    (void)state;
    refuses("b@x.test c@x.test");               /* two addresses glued by a space */
    refuses("Bob <b@x.test> <evil@x.test>");    /* two angle addresses */
    refuses("<b@x.test> evil@x.test");
    refuses("b@x.test>");
    refuses("<b@x.test");
    refuses("b@@x.test");
    refuses("b@x.test;c@x.test");
    refuses("b@x..test");
    refuses(".b@x.test");
    refuses("b@");
    refuses("@x.test");
    refuses("b");
    refuses("");
    refuses(",");
    refuses("b@x.test (comment)");
    refuses("team: b@x.test;");
    refuses("Bob@home <b@x.test>");
    refuses("b@x.test\r\nRCPT TO:<evil@x.test>");
    refuses("ok@x.test, b@x.test c@x.test");    /* one bad element refuses all */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rcpt_accepted),
        cmocka_unit_test(test_rcpt_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
