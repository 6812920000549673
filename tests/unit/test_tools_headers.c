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

#include <strings.h>

#include "common.h"
#include "headers.h"
#include "postie/smtp_proto.h"

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

/* What the server receives for msg after sendmail -t: take_recipients, then
 * the DATA encoder (as postie-send does). Returns the malloc'd DATA stream. */
static char *sent_after_t(const char *msg, size_t len, tool_strv *r)
{
    char *out = NULL, *wire;
    size_t outlen, used, made, finish;
    postie_smtp_dot d;
    assert_int_equal(tool_headers_take_recipients(msg, len, r, &out, &outlen), 0);
    wire = malloc(2 * outlen + POSTIE_SMTP_DOT_FINISH_MAX + 1);
    assert_non_null(wire);
    postie_smtp_dot_init(&d);
    assert_int_equal(postie_smtp_dot_feed(&d, out, outlen, &used, wire, 2 * outlen, &made),
                     POSTIE_OK);
    assert_int_equal(used, outlen);
    assert_int_equal(postie_smtp_dot_finish(&d, wire + made, POSTIE_SMTP_DOT_FINISH_MAX,
                                            &finish), POSTIE_OK);
    wire[made + finish] = '\0';
    free(out);
    return wire;
}

/* 1 when a line of the header the server receives (up to the first empty
 * line) is a Bcc field. */
static int wire_header_has_bcc(const char *wire)
{
    const char *line = wire;
    while (*line && strncmp(line, "\r\n", 2) != 0) {
        const char *end = strstr(line, "\r\n");
        if (strncasecmp(line, "bcc", 3) == 0) {
            const char *p = line + 3;
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p == ':')
                return 1;
        }
        if (!end)
            break;
        line = end + 2;
    }
    return 0;
}

/* Issue 17, defect 4: a lone CR ends a line for the header reader as it does
 * for the DATA encoder, so "X-Note: hi\rBcc: secret@x.test" is two fields:
 * the Bcc is a recipient and is removed, never sent as a header line. */
static void test_sendmail_t_lone_cr(void **state)
{
    static const char *msgs[] = {
        "To: a@x.test\nX-Note: hi\rBcc: secret@x.test\n\nbody\n",
        "To: a@x.test\r\nX-Note: hi\rBcc: secret@x.test\r\n\r\nbody\r\n",
        "To: a@x.test\rBcc: secret@x.test\r\rbody\r",
        "X-Note: hi\rbcc : secret@x.test,\n second@x.test\nTo: a@x.test\n\n",
        "To: a@x.test\nX-A: 1\r\r\nBcc: secret@x.test\n\n", /* CR CRLF: two line ends */
        "To: a@x.test\nX-A: 1\n\rBcc: secret@x.test\n\n", /* LF CR: two line ends */
        "Bcc: secret@x.test\rTo: a@x.test\n\n",
    };
    size_t k;
    (void)state;
    /* the case, exactly */
    check_take("To: a@x.test\nX-Note: hi\rBcc: secret@x.test\n\nbody\n",
               "a@x.test|secret@x.test", "To: a@x.test\nX-Note: hi\r\nbody\n");
    /* a Bcc field folded behind a lone CR goes with its fold */
    check_take("To: a@x.test\rBcc: s@x.test,\r t@x.test\rX: y\r\rbody",
               "a@x.test|s@x.test|t@x.test", "To: a@x.test\rX: y\r\rbody");
    for (k = 0; k < sizeof msgs / sizeof msgs[0]; k++) {
        tool_strv r;
        char *wire;
        size_t i;
        int hidden = 0;
        memset(&r, 0, sizeof r);
        wire = sent_after_t(msgs[k], strlen(msgs[k]), &r);
        if (wire_header_has_bcc(wire))
            fail_msg("message %zu: a Bcc line reaches the server: [%s]", k, wire);
        if (strstr(wire, "secret@x.test") != NULL && k != 4 && k != 5)
            fail_msg("message %zu: the Bcc address reaches the server: [%s]", k, wire);
        for (i = 0; i < r.n; i++)
            hidden |= strcmp(r.v[i], "secret@x.test") == 0;
        /* in 4 and 5 the empty line ends the header first: the "Bcc:" line
         * is body text for the reader and the server alike, no recipient */
        if (hidden != (k != 4 && k != 5))
            fail_msg("message %zu: secret@x.test %s a recipient", k, hidden ? "is" : "is not");
        free(wire);
        tool_strv_free(&r);
    }
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
        cmocka_unit_test(test_sendmail_t_lone_cr),
        cmocka_unit_test(test_first_addr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
