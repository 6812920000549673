/* MD5 against the RFC 1321 test suite; HMAC-MD5 against RFC 2104 and RFC 2195. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "postie/md5.h"
#include "../../src/core/wipe.h"

static void hex_md5(const char *in, char out[33])
{
    unsigned char d[16];
    postie_md5(in, strlen(in), d);
    postie_hex_lower(d, 16, out);
}

static void test_rfc1321_suite(void **state)
{
    static const struct { const char *in, *hex; } v[] = {
        {"", "d41d8cd98f00b204e9800998ecf8427e"},
        {"a", "0cc175b9c0f1b6a831c399e269772661"},
        {"abc", "900150983cd24fb0d6963f7d28e17f72"},
        {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
        {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
        {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
         "d174ab98d277d9f5a5611c2c9f419d9f"},
        {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
         "57edf4a22be3c955ac49da2e2107b67a"},
    };
    char hex[33];
    size_t i;
    (void)state;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        hex_md5(v[i].in, hex);
        assert_string_equal(hex, v[i].hex);
    }
}

static void test_incremental_equals_one_shot(void **state)
{
    const char *msg = "12345678901234567890123456789012345678901234567890123456789012345678901234567890";
    size_t n = strlen(msg), step;
    char hex[33];
    (void)state;
    for (step = 1; step <= n; step++) {
        postie_md5_ctx ctx;
        unsigned char d[16];
        size_t i;
        postie_md5_init(&ctx);
        for (i = 0; i < n; i += step) {
            postie_md5_update(&ctx, msg + i, n - i < step ? n - i : step);
        }
        postie_md5_final(&ctx, d);
        postie_hex_lower(d, 16, hex);
        assert_string_equal(hex, "57edf4a22be3c955ac49da2e2107b67a");
    }
}

static void test_padding_boundaries(void **state)
{
    /* 55, 56, 63, 64 and 65 bytes straddle the length-field boundary */
    static const struct { size_t n; const char *hex; } v[] = {
        {55, "ef1772b6dff9a122358552954ad0df65"},
        {56, "3b0c8ac703f828b04c6c197006d17218"},
        {63, "b06521f39153d618550606be297466d5"},
        {64, "014842d480b571495a4a0363793f7367"},
        {65, "c743a45e0d2e6a95cb859adae0248435"},
    };
    char buf[65], hex[33];
    unsigned char d[16];
    size_t i;
    (void)state;
    memset(buf, 'a', sizeof buf);
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        postie_md5(buf, v[i].n, d);
        postie_hex_lower(d, 16, hex);
        assert_string_equal(hex, v[i].hex);
    }
}

static void test_apop_example(void **state)
{
    /* RFC 1939 sec. 7: MD5 of timestamp followed by the shared secret */
    char hex[33];
    (void)state;
    hex_md5("<1896.697170952@dbc.mtview.ca.us>tanstaaf", hex);
    assert_string_equal(hex, "c4c9334bac560ecc979e58001b3e22fb");
}

static void test_hmac_md5_rfc2104(void **state)
{
    unsigned char key[16], d[16], data[50];
    char hex[33];
    (void)state;
    memset(key, 0x0b, sizeof key);
    postie_hmac_md5(key, 16, "Hi There", 8, d);
    postie_hex_lower(d, 16, hex);
    assert_string_equal(hex, "9294727a3638bb1c13f48ef8158bfc9d");

    postie_hmac_md5("Jefe", 4, "what do ya want for nothing?", 28, d);
    postie_hex_lower(d, 16, hex);
    assert_string_equal(hex, "750c783e6ab0b503eaa86e310a5db738");

    memset(key, 0xaa, sizeof key);
    memset(data, 0xdd, sizeof data);
    postie_hmac_md5(key, 16, data, sizeof data, d);
    postie_hex_lower(d, 16, hex);
    assert_string_equal(hex, "56be34521d144c88dbb8c733f0e8b3f6");
}

static void test_hmac_md5_long_key(void **state)
{
    /* RFC 2202 case 6: an 80-byte key is hashed first */
    unsigned char key[80], d[16];
    char hex[33];
    const char *msg = "Test Using Larger Than Block-Size Key - Hash Key First";
    (void)state;
    memset(key, 0xaa, sizeof key);
    postie_hmac_md5(key, sizeof key, msg, strlen(msg), d);
    postie_hex_lower(d, 16, hex);
    assert_string_equal(hex, "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd");
}

static void test_cram_md5_rfc2195(void **state)
{
    /* RFC 2195 sec. 2: user tim, secret tanstaaftanstaaf */
    const char *challenge = "<1896.697170952@postoffice.reston.mci.net>";
    unsigned char d[16];
    char hex[33];
    (void)state;
    postie_hmac_md5("tanstaaftanstaaf", 16, challenge, strlen(challenge), d);
    postie_hex_lower(d, 16, hex);
    assert_string_equal(hex, "b913a602c7eda7a495b4e6e7334d3890");
}

static void test_wipe_clears(void **state)
{
    unsigned char buf[40];
    size_t i;
    (void)state;
    memset(buf, 0xa5, sizeof buf);
    postie_wipe(buf + 3, 33); /* an odd start and length */
    for (i = 0; i < sizeof buf; i++) {
        assert_int_equal(buf[i], i >= 3 && i < 36 ? 0 : 0xa5);
    }
    postie_wipe(buf, 0);
    assert_int_equal(buf[0], 0xa5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc1321_suite),
        cmocka_unit_test(test_incremental_equals_one_shot),
        cmocka_unit_test(test_padding_boundaries),
        cmocka_unit_test(test_apop_example),
        cmocka_unit_test(test_hmac_md5_rfc2104),
        cmocka_unit_test(test_hmac_md5_long_key),
        cmocka_unit_test(test_cram_md5_rfc2195),
        cmocka_unit_test(test_wipe_clears),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
