/* SASL steps: exact bytes of every mechanism, RFC 2195 vector, choice order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "postie/base64.h"
#include "postie/sasl.h"

static void assert_bytes(const char *got, size_t n, const char *expect, size_t elen)
{
    assert_int_equal(n, elen);
    assert_memory_equal(got, expect, elen);
}

static void assert_b64(const char *raw, size_t n, const char *expect)
{
    char b[512];
    size_t bl = 0;
    assert_int_equal(postie_base64_encode(raw, n, b, sizeof b, &bl), POSTIE_OK);
    assert_string_equal(b, expect);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(postie_sasl_mech_name(POSTIE_SASL_CRAM_MD5), "CRAM-MD5");
    assert_string_equal(postie_sasl_mech_name(POSTIE_SASL_OAUTHBEARER), "OAUTHBEARER");
    assert_string_equal(postie_sasl_mech_name(POSTIE_SASL_NONE), "");
    assert_string_equal(postie_sasl_mech_name((postie_sasl_mech)(POSTIE_SASL_PLAIN | POSTIE_SASL_LOGIN)), "");
    assert_int_equal(postie_sasl_mech_from_name("plain", 5), POSTIE_SASL_PLAIN);
    assert_int_equal(postie_sasl_mech_from_name("Cram-Md5", 8), POSTIE_SASL_CRAM_MD5);
    assert_int_equal(postie_sasl_mech_from_name("PLAINX", 6), POSTIE_SASL_NONE);
    assert_int_equal(postie_sasl_mech_from_name("PLAI", 4), POSTIE_SASL_NONE);
    assert_int_equal(postie_sasl_mech_from_name("", 0), POSTIE_SASL_NONE);
    assert_int_equal(postie_sasl_parse_mechs("GSSAPI PLAIN  LOGIN NTLM XOAUTH2"),
                     POSTIE_SASL_PLAIN | POSTIE_SASL_LOGIN | POSTIE_SASL_XOAUTH2);
    assert_int_equal(postie_sasl_parse_mechs("scram-sha-256 SCRAM-SHA-256-PLUS SCRAM-SHA-1"),
                     POSTIE_SASL_SCRAM_SHA256);
    assert_string_equal(postie_sasl_mech_name(POSTIE_SASL_SCRAM_SHA256), "SCRAM-SHA-256");
    assert_int_equal(postie_sasl_parse_mechs(NULL), 0);
    assert_int_equal(postie_sasl_parse_mechs(""), 0);
}

static void test_choose_order(void **state)
{
    (void)state;
    assert_int_equal(postie_sasl_choose(POSTIE_SASL_ALL_MECHS, POSTIE_SASL_PASSWORD_MECHS),
                     POSTIE_SASL_SCRAM_SHA256);
    assert_int_equal(postie_sasl_choose(POSTIE_SASL_ALL_MECHS & ~(unsigned)POSTIE_SASL_SCRAM_SHA256,
                                        POSTIE_SASL_PASSWORD_MECHS), POSTIE_SASL_CRAM_MD5);
    assert_int_equal(postie_sasl_choose(POSTIE_SASL_PLAIN | POSTIE_SASL_LOGIN,
                                        POSTIE_SASL_PASSWORD_MECHS), POSTIE_SASL_PLAIN);
    assert_int_equal(postie_sasl_choose(POSTIE_SASL_LOGIN, POSTIE_SASL_PASSWORD_MECHS),
                     POSTIE_SASL_LOGIN);
    assert_int_equal(postie_sasl_choose(POSTIE_SASL_ALL_MECHS, POSTIE_SASL_TOKEN_MECHS),
                     POSTIE_SASL_OAUTHBEARER);
    assert_int_equal(postie_sasl_choose(POSTIE_SASL_XOAUTH2 | POSTIE_SASL_PLAIN,
                                        POSTIE_SASL_TOKEN_MECHS), POSTIE_SASL_XOAUTH2);
    /* never a mechanism the server did not offer, nor one not allowed */
    assert_int_equal(postie_sasl_choose(POSTIE_SASL_PLAIN, POSTIE_SASL_TOKEN_MECHS),
                     POSTIE_SASL_NONE);
    assert_int_equal(postie_sasl_choose(0, POSTIE_SASL_ALL_MECHS), POSTIE_SASL_NONE);
    assert_int_equal(postie_sasl_choose(POSTIE_SASL_CRAM_MD5 | POSTIE_SASL_LOGIN,
                                        POSTIE_SASL_LOGIN), POSTIE_SASL_LOGIN);
}

static void test_plain(void **state)
{
    char out[64];
    size_t n = 99;
    (void)state;
    assert_int_equal(postie_sasl_plain(NULL, "tim", "tanstaaftanstaaf", out, sizeof out, &n),
                     POSTIE_OK);
    assert_bytes(out, n, "\0tim\0tanstaaftanstaaf", 21);
    assert_b64(out, n, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
    assert_int_equal(postie_sasl_plain("admin", "u", "p", out, sizeof out, &n), POSTIE_OK);
    assert_bytes(out, n, "admin\0u\0p", 9);
    /* RFC 4616 sec. 4 example */
    assert_int_equal(postie_sasl_plain("", "tim", "tanstaaftanstaaf", out, sizeof out, &n),
                     POSTIE_OK);
    assert_bytes(out, n, "\0tim\0tanstaaftanstaaf", 21);
    assert_int_equal(postie_sasl_plain(NULL, "tim", "tanstaaftanstaaf", out, 20, &n),
                     POSTIE_ERR_BUFFER);
    assert_int_equal(postie_sasl_plain(NULL, "tim", "tanstaaftanstaaf", out, 21, &n), POSTIE_OK);
    assert_int_equal(postie_sasl_plain(NULL, "", "p", out, sizeof out, &n), POSTIE_ERR_PARAM);
    assert_int_equal(postie_sasl_plain(NULL, "u\r\n", "p", out, sizeof out, &n), POSTIE_ERR_PARAM);
    assert_int_equal(postie_sasl_plain(NULL, "u", "p\n", out, sizeof out, &n), POSTIE_ERR_PARAM);
    assert_int_equal(postie_sasl_plain(NULL, NULL, "p", out, sizeof out, &n), POSTIE_ERR_PARAM);
}

static void test_login(void **state)
{
    char out[64];
    size_t n;
    (void)state;
    assert_int_equal(postie_sasl_login("Username:", 9, 0, "alice", "s3cret", out, sizeof out, &n),
                     POSTIE_OK);
    assert_bytes(out, n, "alice", 5);
    assert_int_equal(postie_sasl_login("Password:", 9, 1, "alice", "s3cret", out, sizeof out, &n),
                     POSTIE_OK);
    assert_bytes(out, n, "s3cret", 6);
    /* the prompt decides, not the step */
    assert_int_equal(postie_sasl_login("PASSWORD:", 9, 0, "alice", "s3cret", out, sizeof out, &n),
                     POSTIE_OK);
    assert_bytes(out, n, "s3cret", 6);
    assert_int_equal(postie_sasl_login("User Name", 9, 1, "alice", "s3cret", out, sizeof out, &n),
                     POSTIE_OK);
    assert_bytes(out, n, "alice", 5);
    /* either case, mixed; a byte that differs from a letter in bit 7 is
     * not that letter */
    assert_int_equal(postie_sasl_login("uSeR:", 5, 1, "alice", "s3cret", out, sizeof out, &n),
                     POSTIE_OK);
    assert_bytes(out, n, "alice", 5);
    assert_int_equal(postie_sasl_login("your pAsS", 9, 0, "alice", "s3cret", out, sizeof out, &n),
                     POSTIE_OK);
    assert_bytes(out, n, "s3cret", 6);
    assert_int_equal(postie_sasl_login("\xd5\xd3\xc5\xd2", 4, 1, "alice", "s3cret", out,
                                       sizeof out, &n),
                     POSTIE_OK);
    assert_bytes(out, n, "s3cret", 6);
    assert_int_equal(postie_sasl_login("\xd0\xc1\xd3\xd3", 4, 0, "alice", "s3cret", out,
                                       sizeof out, &n),
                     POSTIE_OK);
    assert_bytes(out, n, "alice", 5);
    /* empty or unknown prompts go by position */
    assert_int_equal(postie_sasl_login("", 0, 0, "alice", "s3cret", out, sizeof out, &n), POSTIE_OK);
    assert_bytes(out, n, "alice", 5);
    assert_int_equal(postie_sasl_login("???", 3, 1, "alice", "s3cret", out, sizeof out, &n),
                     POSTIE_OK);
    assert_bytes(out, n, "s3cret", 6);
    assert_int_equal(postie_sasl_login("???", 3, 2, "alice", "s3cret", out, sizeof out, &n),
                     POSTIE_ERR_PROTOCOL);
    assert_int_equal(postie_sasl_login("Password:", 9, 1, "alice", "s3cret", out, 5, &n),
                     POSTIE_ERR_BUFFER);
    assert_int_equal(postie_sasl_login("Password:", 9, 1, "alice", "s3\r", out, sizeof out, &n),
                     POSTIE_ERR_PARAM);
}

/* RFC 2195 sec. 2 example. */
static void test_cram_md5_rfc2195(void **state)
{
    static const char chal[] = "<1896.697170952@postoffice.reston.mci.net>";
    char out[64], b64[128];
    size_t n, dl;
    (void)state;
    /* the challenge as the server sends it decodes to the RFC's text */
    assert_int_equal(postie_base64_decode("PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+",
                                          56, b64, sizeof b64, &dl), POSTIE_OK);
    assert_bytes(b64, dl, chal, sizeof chal - 1);
    assert_int_equal(postie_sasl_cram_md5(chal, sizeof chal - 1, "tim", "tanstaaftanstaaf", out,
                                          sizeof out, &n), POSTIE_OK);
    assert_bytes(out, n, "tim b913a602c7eda7a495b4e6e7334d3890", 36);
    assert_b64(out, n, "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
    assert_int_equal(postie_sasl_cram_md5(chal, sizeof chal - 1, "tim", "tanstaaftanstaaf", out,
                                          35, &n), POSTIE_ERR_BUFFER);
    assert_int_equal(postie_sasl_cram_md5(chal, sizeof chal - 1, "", "x", out, sizeof out, &n),
                     POSTIE_ERR_PARAM);
}

static void test_xoauth2(void **state)
{
    char out[128];
    size_t n;
    (void)state;
    assert_int_equal(postie_sasl_xoauth2("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg",
                                         out, sizeof out, &n), POSTIE_OK);
    assert_bytes(out, n,
                 "user=someuser@example.com\x01" "auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01",
                 strlen("user=someuser@example.com\x01" "auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"));
    assert_b64(out, n,
               "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==");
    assert_int_equal(postie_sasl_xoauth2("u", "t\x01x", out, sizeof out, &n), POSTIE_ERR_PARAM);
    assert_int_equal(postie_sasl_xoauth2("u", "", out, sizeof out, &n), POSTIE_ERR_PARAM);
    assert_int_equal(postie_sasl_xoauth2("u", "t", out, 10, &n), POSTIE_ERR_BUFFER);
}

/* RFC 7628 sec. 4.1 example (host and port given). */
static void test_oauthbearer(void **state)
{
    static const char expect[] = "n,a=user@example.com,\x01host=server.example.com\x01port=143\x01"
                                 "auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01";
    static const char expect_min[] = "n,a=u=2Cv=3Dw,\x01" "auth=Bearer tok\x01\x01";
    char out[256];
    size_t n;
    (void)state;
    assert_int_equal(postie_sasl_oauthbearer("user@example.com",
                                             "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==",
                                             "server.example.com", "143", out, sizeof out, &n),
                     POSTIE_OK);
    assert_bytes(out, n, expect, sizeof expect - 1);
    assert_b64(out, n,
               "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyI"
               "HZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB");
    /* saslname escaping, no host/port */
    assert_int_equal(postie_sasl_oauthbearer("u,v=w", "tok", NULL, "", out, sizeof out, &n),
                     POSTIE_OK);
    assert_bytes(out, n, expect_min, sizeof expect_min - 1);
    assert_int_equal(postie_sasl_oauthbearer("u", "tok", "h\r\n", NULL, out, sizeof out, &n),
                     POSTIE_ERR_PARAM);
    assert_int_equal(postie_sasl_oauthbearer("u", "tok", NULL, NULL, out, 10, &n),
                     POSTIE_ERR_BUFFER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_choose_order),
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_login),
        cmocka_unit_test(test_cram_md5_rfc2195),
        cmocka_unit_test(test_xoauth2),
        cmocka_unit_test(test_oauthbearer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
