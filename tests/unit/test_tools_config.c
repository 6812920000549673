/* tools/common.c: configuration file, ~/.netrc, password sources, exit codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "common.h"
#include "config.h"
#include "netrc.h"
#include "password.h"

static const char *sample =
    "# a comment\n"
    "defaults\n"
    "  tls starttls\n"
    "  timeout 30\n"
    "\n"
    "account work\n"
    "host mail.example.org\n"
    "pop3_port 995\n"
    "pop3_tls implicit\n"
    "smtp_port 587\n"
    "user \"me@example.org\"\n"
    "passwordeval \"pass show mail/work | sed 's/\\n//' \\\\ \\\"x\\\"\"\n"
    "maildir ~/Mail/work\n"
    "delete yes\n"
    "\n"
    "account home\n"
    "host pop.home.test\n"
    "port 110\n"
    "tls off\n"
    "\n"
    "default home\n";

static void test_cfg_selects_default_and_layers(void **state)
{
    tool_cfg c;
    char err[256] = "";
    (void)state;
    assert_int_equal(tool_cfg_parse(&c, "cfg", sample, NULL, err, sizeof err), 0);
    assert_string_equal(c.account, "home");
    assert_string_equal(tool_cfg_get(&c, "pop3", "host"), "pop.home.test");
    assert_string_equal(tool_cfg_get(&c, "pop3", "tls"), "off");    /* account beats defaults */
    assert_string_equal(tool_cfg_get(&c, "smtp", "timeout"), "30"); /* from defaults */
    assert_null(tool_cfg_get(&c, "pop3", "user"));
    tool_cfg_free(&c);

    assert_int_equal(tool_cfg_parse(&c, "cfg", sample, "work", err, sizeof err), 0);
    assert_string_equal(c.account, "work");
    assert_string_equal(tool_cfg_get(&c, "pop3", "port"), "995");
    assert_string_equal(tool_cfg_get(&c, "smtp", "port"), "587");
    assert_string_equal(tool_cfg_get(&c, "pop3", "tls"), "implicit");
    assert_string_equal(tool_cfg_get(&c, "smtp", "tls"), "starttls"); /* defaults */
    assert_string_equal(tool_cfg_get(&c, "pop3", "user"), "me@example.org"); /* unquoted */
    assert_string_equal(tool_cfg_get(&c, NULL, "passwordeval"),
                        "pass show mail/work | sed 's/\\n//' \\ \"x\"");
    assert_int_equal(tool_cfg_bool(&c, "delete", 0), 1);
    assert_int_equal(tool_cfg_bool(&c, "new_only", 7), 7);
    tool_cfg_free(&c);
}

static void test_cfg_first_account_without_default(void **state)
{
    tool_cfg c;
    char err[256];
    (void)state;
    assert_int_equal(tool_cfg_parse(&c, "f", "account a\nhost h1\naccount b\nhost h2\n", NULL,
                                    err, sizeof err), 0);
    assert_string_equal(c.account, "a");
    assert_string_equal(tool_cfg_get(&c, "smtp", "host"), "h1");
    tool_cfg_free(&c);
}

static void expect_error(const char *text, const char *account, const char *want)
{
    tool_cfg c;
    char err[256] = "";
    assert_int_equal(tool_cfg_parse(&c, "f", text, account, err, sizeof err), -1);
    if (!strstr(err, want))
        fail_msg("error '%s' does not contain '%s'", err, want);
}

static void test_cfg_errors_name_the_line(void **state)
{
    (void)state;
    expect_error("account a\nhots x\n", NULL, "f:2: unknown setting 'hots'");
    expect_error("account a\nport 0\n", NULL, "f:2: port: port must be");
    expect_error("account a\nport 99999\n", NULL, "f:2:");
    expect_error("account a\ntls yes\n", NULL, "f:2: tls: tls must be off, starttls or implicit");
    expect_error("account a\nuser \"open\n", NULL, "f:2: unterminated quoted value");
    expect_error("account a\npassword hunter2\n", NULL, "f:2: passwords are not kept");
    expect_error("account a\naccount a\n", NULL, "f:2: account 'a' defined twice");
    expect_error("account a\n", "b", "f: no account 'b'");
    expect_error("default zz\naccount a\n", NULL, "f:1: default account 'zz' is not defined");
    expect_error("account a\ndelete maybe\n", NULL, "f:2: delete: expected yes or no");
    expect_error("account a\nmax_size 10X\n", NULL, "f:2: max_size");
    expect_error("account a\nhost\n", NULL, "f:2: host: missing value");
}

static void test_cfg_load_missing_file(void **state)
{
    tool_cfg c;
    char err[256] = "";
    (void)state;
    assert_int_equal(tool_cfg_load(&c, "/nonexistent/postie/config", NULL, 0, err, sizeof err), 0);
    assert_null(tool_cfg_get(&c, "pop3", "host"));
    tool_cfg_free(&c);
    assert_int_equal(tool_cfg_load(&c, "/nonexistent/postie/config", NULL, 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/postie/config: No such file"));
}

static void test_cfg_default_path(void **state)
{
    char *p;
    (void)state;
    setenv("XDG_CONFIG_HOME", "/x/cfg", 1);
    p = tool_cfg_default_path();
    assert_string_equal(p, "/x/cfg/postie/config");
    free(p);
    unsetenv("XDG_CONFIG_HOME");
    setenv("HOME", "/home/u", 1);
    p = tool_cfg_default_path();
    assert_string_equal(p, "/home/u/.config/postie/config");
    free(p);
}

static void test_tls_parse(void **state)
{
    (void)state;
    assert_int_equal(tool_tls_parse("off"), TOOL_TLS_OFF);
    assert_int_equal(tool_tls_parse("starttls"), TOOL_TLS_STARTTLS);
    assert_int_equal(tool_tls_parse("implicit"), TOOL_TLS_IMPLICIT);
    assert_int_equal(tool_tls_parse("on"), TOOL_TLS_UNSET);
    assert_int_equal(tool_tls_parse(NULL), TOOL_TLS_UNSET);
}

static const char *netrc =
    "machine other.test login x password nope\n"
    "machine mail.test\n"
    "  login alice\n"
    "  password \"a pass\\\"word\"\n"
    "macdef init\n"
    "machine mail.test login mallory password evil\n"
    "\n"
    "machine mail.test login bob password b0b account acct\n"
    "machine nologin.test password anyone\n"
    "default login carol password dflt\n";

static void test_netrc_lookup(void **state)
{
    char *p;
    (void)state;
    p = tool_netrc_lookup(netrc, "mail.test", "alice");
    assert_string_equal(p, "a pass\"word");
    free(p);
    p = tool_netrc_lookup(netrc, "MAIL.test", "bob"); /* host case-insensitive; macdef skipped */
    assert_string_equal(p, "b0b");
    free(p);
    p = tool_netrc_lookup(netrc, "mail.test", NULL); /* no user: first machine entry */
    assert_string_equal(p, "a pass\"word");
    free(p);
    p = tool_netrc_lookup(netrc, "mail.test", "mallory"); /* inside a macro: not an entry */
    assert_null(p);
    p = tool_netrc_lookup(netrc, "nologin.test", "zed"); /* entry without login fits any user */
    assert_string_equal(p, "anyone");
    free(p);
    p = tool_netrc_lookup(netrc, "unknown.test", "carol"); /* default */
    assert_string_equal(p, "dflt");
    free(p);
    p = tool_netrc_lookup(netrc, "unknown.test", "dave"); /* default has another login */
    assert_null(p);
    p = tool_netrc_lookup("", "x", NULL);
    assert_null(p);
}

static void test_password_sources(void **state)
{
    tool_pass_src src;
    char err[512] = "", dir[] = "/tmp/postie-test-XXXXXX", path[600];
    char *p;
    FILE *f;
    (void)state;
    memset(&src, 0, sizeof src);
    src.host = "mail.test";
    src.user = "bob";

    src.eval = "printf 'from-eval\\nsecond line\\n'";
    p = tool_password(&src, err, sizeof err);
    assert_string_equal(p, "from-eval");
    free(p);
    src.eval = "exit 3";
    p = tool_password(&src, err, sizeof err);
    assert_null(p);
    assert_non_null(strstr(err, "passwordeval: command failed (exit status 3)"));
    src.eval = "true";
    assert_null(tool_password(&src, err, sizeof err));
    assert_non_null(strstr(err, "printed no password"));
    src.eval = NULL;

    setenv("MY_PW", "from-env", 1);
    src.env_name = "MY_PW";
    p = tool_password(&src, err, sizeof err);
    assert_string_equal(p, "from-env");
    free(p);
    src.env_name = "UNSET_PW_VARIABLE";
    assert_null(tool_password(&src, err, sizeof err));
    assert_non_null(strstr(err, "UNSET_PW_VARIABLE is not set"));
    src.env_name = NULL;

    setenv("POSTIE_PASSWORD", "from-postie-env", 1);
    p = tool_password(&src, err, sizeof err);
    assert_string_equal(p, "from-postie-env");
    free(p);
    src.eval = "echo from-eval"; /* POSTIE_PASSWORD wins over the file's sources */
    src.env_name = "MY_PW";
    p = tool_password(&src, err, sizeof err);
    assert_string_equal(p, "from-postie-env");
    free(p);
    src.eval = NULL;
    src.env_name = NULL;
    unsetenv("POSTIE_PASSWORD");

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/netrc", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(netrc, f);
    fclose(f);
    chmod(path, 0600);
    src.netrc = path;
    p = tool_password(&src, err, sizeof err);
    assert_string_equal(p, "b0b");
    free(p);
    chmod(path, 0644); /* readable by others: refused */
    assert_null(tool_password(&src, err, sizeof err));
    assert_non_null(strstr(err, "readable by others"));
    chmod(path, 0600);
    src.user = "nobody-here";
    src.host = "nowhere.test";
    assert_null(tool_password(&src, err, sizeof err));
    assert_non_null(strstr(err, "no password"));
    unlink(path);
    rmdir(dir);
}

static void test_exit_codes(void **state)
{
    (void)state;
    assert_int_equal(tool_exit_for_status(POSTIE_OK), 0);
    assert_int_equal(tool_exit_for_status(POSTIE_ERR_RESOLVE), 68);
    assert_int_equal(tool_exit_for_status(POSTIE_ERR_CONNECT), 75);
    assert_int_equal(tool_exit_for_status(POSTIE_ERR_TRANSIENT), 75);
    assert_int_equal(tool_exit_for_status(POSTIE_ERR_AUTH), 77);
    assert_int_equal(tool_exit_for_status(POSTIE_ERR_TLS_VERIFY), 76);
    assert_int_equal(tool_exit_for_status(POSTIE_ERR_SERVER), 69);
    assert_int_equal(tool_exit_for_status(POSTIE_ERR_RECIPIENTS), 67);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cfg_selects_default_and_layers),
        cmocka_unit_test(test_cfg_first_account_without_default),
        cmocka_unit_test(test_cfg_errors_name_the_line),
        cmocka_unit_test(test_cfg_load_missing_file),
        cmocka_unit_test(test_cfg_default_path),
        cmocka_unit_test(test_tls_parse),
        cmocka_unit_test(test_netrc_lookup),
        cmocka_unit_test(test_password_sources),
        cmocka_unit_test(test_exit_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
