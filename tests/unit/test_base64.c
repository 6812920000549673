/* base64 against RFC 4648 sec. 10 vectors; strict rejection of bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "postie/base64.h"

static const struct { const char *plain, *enc; } rfc4648[] = {
    {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
};

static void test_encode_vectors(void **state)
{
    char out[16];
    size_t i, len;
    (void)state;
    for (i = 0; i < sizeof rfc4648 / sizeof rfc4648[0]; i++) {
        size_t n = strlen(rfc4648[i].plain);
        assert_int_equal(postie_base64_encoded_len(n), strlen(rfc4648[i].enc));
        assert_int_equal(postie_base64_encode(rfc4648[i].plain, n, out, sizeof out, &len), POSTIE_OK);
        assert_string_equal(out, rfc4648[i].enc);
        assert_int_equal(len, strlen(rfc4648[i].enc));
    }
}

static void test_decode_vectors(void **state)
{
    char out[16];
    size_t i, len;
    (void)state;
    for (i = 0; i < sizeof rfc4648 / sizeof rfc4648[0]; i++) {
        const char *e = rfc4648[i].enc;
        memset(out, 0, sizeof out);
        assert_int_equal(postie_base64_decode(e, strlen(e), out, sizeof out, &len), POSTIE_OK);
        assert_int_equal(len, strlen(rfc4648[i].plain));
        assert_memory_equal(out, rfc4648[i].plain, len);
    }
}

static void test_binary_round_trip(void **state)
{
    unsigned char in[256], back[256];
    char enc[400];
    size_t n, len, blen;
    (void)state;
    for (n = 0; n < sizeof in; n++) {
        in[n] = (unsigned char)(255 - n);
    }
    for (n = 0; n <= sizeof in; n++) {
        assert_int_equal(postie_base64_encode(in, n, enc, sizeof enc, &len), POSTIE_OK);
        assert_int_equal(postie_base64_decode(enc, len, back, sizeof back, &blen), POSTIE_OK);
        assert_int_equal(blen, n);
        assert_memory_equal(back, in, n);
    }
}

static void test_bad_input_rejected(void **state)
{
    static const char *bad[] = {
        "Zg=",      /* length not a multiple of 4 */
        "Zg",       /* missing padding */
        "Z===",     /* too much padding */
        "====",
        "Zm9v\n",   /* whitespace */
        "Zm 9",
        "Zm9*",     /* outside the alphabet */
        "Zg=a",     /* data after padding */
        "Z=g=",
        "Zh==",     /* non-canonical: unused bits set */
        "Zm9=",     /* non-canonical with one pad */
        "Zm-_",     /* URL alphabet is not this one */
    };
    char out[16];
    size_t i, len = 77;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(postie_base64_decode(bad[i], strlen(bad[i]), out, sizeof out, &len),
                         POSTIE_ERR_DECODE);
    }
    assert_int_equal(len, 77); /* untouched on failure */
}

static void test_buffers_checked(void **state)
{
    char out[8];
    size_t len;
    (void)state;
    /* "foobar" needs 8 + NUL */
    assert_int_equal(postie_base64_encode("foobar", 6, out, 8, &len), POSTIE_ERR_BUFFER);
    assert_int_equal(postie_base64_decode("Zm9vYmFy", 8, out, 5, &len), POSTIE_ERR_BUFFER);
    assert_int_equal(postie_base64_decode("Zm9vYmFy", 8, out, 6, &len), POSTIE_OK);
    assert_int_equal(postie_base64_encode(NULL, 3, out, sizeof out, &len), POSTIE_ERR_PARAM);
    assert_int_equal(postie_base64_decode(NULL, 4, out, sizeof out, &len), POSTIE_ERR_PARAM);
}

/* Every byte as a character: the alphabet's 64 decode to their position,
 * every other byte is refused; every 6-bit value encodes to its character. */
static void test_every_character(void **state)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned c, v;
    (void)state;
    for (c = 0; c < 256; c++) {
        char in[4] = {(char)c, 'A', 'A', 'A'}, enc[5];
        unsigned char out[3] = {0xff, 0xff, 0xff}, raw[3] = {0, 0, 0};
        const char *at = c != 0 ? strchr(alphabet, (int)c) : NULL;
        size_t len = 0;
        postie_status st = postie_base64_decode(in, 4, out, sizeof out, &len);
        if (at == NULL) {
            assert_int_equal(st, POSTIE_ERR_DECODE);
            continue;
        }
        v = (unsigned)(at - alphabet);
        assert_int_equal(st, POSTIE_OK);
        assert_int_equal(len, 3);
        assert_int_equal(out[0], v << 2);
        /* and back */
        raw[0] = (unsigned char)(v << 2);
        assert_int_equal(postie_base64_encode(raw, 1, enc, sizeof enc, &len), POSTIE_OK);
        assert_int_equal((unsigned char)enc[0], c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_vectors),
        cmocka_unit_test(test_decode_vectors),
        cmocka_unit_test(test_binary_round_trip),
        cmocka_unit_test(test_bad_input_rejected),
        cmocka_unit_test(test_buffers_checked),
        cmocka_unit_test(test_every_character),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
