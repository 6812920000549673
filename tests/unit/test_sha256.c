/* SHA-256 (FIPS 180-4 / NIST CAVP examples), HMAC-SHA-256 (RFC 4231) and
 * PBKDF2-HMAC-SHA-256 (RFC 7914 sec. 11 and widely published vectors). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "postie/sha256.h"

static void hex(const unsigned char *d, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * n] = '\0';
}

static void check_sha(const void *msg, size_t len, const char *expect)
{
    unsigned char d[32];
    char h[65];
    size_t chunk;

    postie_sha256(msg, len, d);
    hex(d, 32, h);
    assert_string_equal(h, expect);
    /* Same digest whatever the update sizes (block-boundary handling). */
    for (chunk = 1; chunk <= 130 && chunk <= len; chunk += (chunk < 70 ? 1 : 13)) {
        postie_sha256_ctx c;
        size_t off = 0;
        postie_sha256_init(&c);
        while (off < len) {
            size_t n = len - off < chunk ? len - off : chunk;
            postie_sha256_update(&c, (const unsigned char *)msg + off, n);
            off += n;
        }
        postie_sha256_final(&c, d);
        hex(d, 32, h);
        assert_string_equal(h, expect);
    }
}

static void test_sha256_fips_examples(void **state)
{
    (void)state;
    check_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    check_sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    check_sha("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
              "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu", 112,
              "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void test_sha256_padding_boundaries(void **state)
{
    unsigned char a[64];
    (void)state;
    memset(a, 'a', sizeof a);
    /* 55 bytes: length fits the same block; 56: padding needs a second block. */
    check_sha(a, 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
    check_sha(a, 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
    check_sha(a, 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

static void test_sha256_million_a(void **state)
{
    unsigned char block[1000];
    unsigned char d[32];
    char h[65];
    postie_sha256_ctx c;
    int i;
    (void)state;
    memset(block, 'a', sizeof block);
    postie_sha256_init(&c);
    for (i = 0; i < 1000; i++) {
        postie_sha256_update(&c, block, sizeof block);
    }
    postie_sha256_final(&c, d);
    hex(d, 32, h);
    assert_string_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void check_hmac(const void *key, size_t klen, const void *msg, size_t mlen,
                       const char *expect)
{
    unsigned char d[32];
    char h[65];
    postie_hmac_sha256(key, klen, msg, mlen, d);
    hex(d, 32, h);
    assert_string_equal(h, expect);
}

static void test_hmac_rfc4231(void **state)
{
    unsigned char k[131], m[50];
    size_t i;
    (void)state;

    memset(k, 0x0b, 20); /* test case 1 */
    check_hmac(k, 20, "Hi There", 8,
               "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    check_hmac("Jefe", 4, "what do ya want for nothing?", 28, /* test case 2 */
               "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    memset(k, 0xaa, 20); /* test case 3 */
    memset(m, 0xdd, 50);
    check_hmac(k, 20, m, 50,
               "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
    for (i = 0; i < 25; i++) { /* test case 4 */
        k[i] = (unsigned char)(i + 1);
    }
    memset(m, 0xcd, 50);
    check_hmac(k, 25, m, 50,
               "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
    memset(k, 0xaa, 131); /* test cases 6 and 7: key longer than a block */
    check_hmac(k, 131, "Test Using Larger Than Block-Size Key - Hash Key First", 54,
               "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    {
        const char *msg = "This is a test using a larger than block-size key and a larger "
                          "than block-size data. The key needs to be hashed before being "
                          "used by the HMAC algorithm.";
        check_hmac(k, 131, msg, strlen(msg),
                   "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
    }
}

static void check_pbkdf2(const char *pw, const char *salt, uint32_t c, const char *expect)
{
    unsigned char d[32];
    char h[65];
    assert_int_equal(postie_pbkdf2_sha256(pw, strlen(pw), salt, strlen(salt), c, d), POSTIE_OK);
    hex(d, 32, h);
    assert_string_equal(h, expect);
}

static void test_pbkdf2(void **state)
{
    (void)state;
    /* RFC 7914 sec. 11, first 32 bytes of the 64-byte output. */
    check_pbkdf2("passwd", "salt", 1,
                 "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc");
    check_pbkdf2("password", "salt", 1,
                 "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b");
    check_pbkdf2("password", "salt", 2,
                 "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43");
    check_pbkdf2("password", "salt", 4096,
                 "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a");
}

static void test_pbkdf2_params_and_ct_equal(void **state)
{
    unsigned char d[32];
    (void)state;
    assert_int_equal(postie_pbkdf2_sha256("p", 1, "s", 1, 0, d), POSTIE_ERR_PARAM);
    assert_int_equal(postie_pbkdf2_sha256("p", 1, "s", 1, 1, NULL), POSTIE_ERR_PARAM);
    assert_int_equal(postie_pbkdf2_sha256(NULL, 1, "s", 1, 1, d), POSTIE_ERR_PARAM);
    assert_int_equal(postie_pbkdf2_sha256("p", 1, NULL, 1, 1, d), POSTIE_ERR_PARAM);
    assert_int_equal(postie_ct_equal("abcd", "abcd", 4), 1);
    assert_int_equal(postie_ct_equal("abcd", "abce", 4), 0);
    assert_int_equal(postie_ct_equal("xbcd", "abcd", 4), 0);
    assert_int_equal(postie_ct_equal("", "", 0), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_fips_examples),
        cmocka_unit_test(test_sha256_padding_boundaries),
        cmocka_unit_test(test_sha256_million_a),
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_pbkdf2),
        cmocka_unit_test(test_pbkdf2_params_and_ct_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
