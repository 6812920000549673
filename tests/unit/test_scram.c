/* SCRAM-SHA-256 client steps: the RFC 7677 sec. 3 exchange byte for byte,
 * and every check on the server's messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "postie/scram.h"

#define RFC_CNONCE "rOprNGfwEbeRWgbNEkqO"
#define RFC_SNONCE RFC_CNONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define RFC_SERVER_FIRST "r=" RFC_SNONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define RFC_CLIENT_FINAL \
    "c=biws,r=" RFC_SNONCE ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC_SERVER_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

static void first(postie_scram *s)
{
    char out[128];
    size_t n = 0;
    postie_scram_init(s);
    assert_int_equal(postie_scram_client_first(s, "user", RFC_CNONCE, strlen(RFC_CNONCE),
                                               out, sizeof out, &n), POSTIE_OK);
    assert_string_equal(out, "n,,n=user,r=" RFC_CNONCE);
    assert_int_equal(n, strlen(out));
}

static postie_status final_with(postie_scram *s, const char *server_first)
{
    char out[256];
    return postie_scram_client_final(s, "pencil", server_first, strlen(server_first), out,
                                     sizeof out, NULL);
}

static void test_rfc7677_exchange(void **state)
{
    postie_scram s;
    char out[256];
    size_t n = 0;
    (void)state;
    first(&s);
    assert_int_equal(postie_scram_client_final(&s, "pencil", RFC_SERVER_FIRST,
                                               strlen(RFC_SERVER_FIRST), out, sizeof out, &n),
                     POSTIE_OK);
    assert_string_equal(out, RFC_CLIENT_FINAL);
    assert_int_equal(n, strlen(RFC_CLIENT_FINAL));
    assert_int_equal(postie_scram_server_final(&s, RFC_SERVER_FINAL, strlen(RFC_SERVER_FINAL)),
                     POSTIE_OK);
    /* the exchange is over */
    assert_int_equal(postie_scram_server_final(&s, RFC_SERVER_FINAL, strlen(RFC_SERVER_FINAL)),
                     POSTIE_ERR_STATE);
}

static void test_server_first_not_nul_terminated(void **state)
{
    postie_scram s;
    char in[sizeof RFC_SERVER_FIRST + 8];
    char out[256];
    (void)state;
    first(&s);
    memcpy(in, RFC_SERVER_FIRST "XXXXXXXX", sizeof in);
    assert_int_equal(postie_scram_client_final(&s, "pencil", in, strlen(RFC_SERVER_FIRST), out,
                                               sizeof out, NULL), POSTIE_OK);
    assert_string_equal(out, RFC_CLIENT_FINAL);
}

static void test_tampered_server_signature(void **state)
{
    postie_scram s;
    char bad[] = RFC_SERVER_FINAL;
    (void)state;
    first(&s);
    assert_int_equal(final_with(&s, RFC_SERVER_FIRST), POSTIE_OK);
    bad[2] = '7'; /* first base64 digit of the signature changed */
    assert_int_equal(postie_scram_server_final(&s, bad, strlen(bad)), POSTIE_ERR_AUTH);
    /* wrong password: the signature the real server sends does not match */
    first(&s);
    {
        char out[256];
        assert_int_equal(postie_scram_client_final(&s, "pencil2", RFC_SERVER_FIRST,
                                                   strlen(RFC_SERVER_FIRST), out, sizeof out,
                                                   NULL), POSTIE_OK);
        assert_string_not_equal(out, RFC_CLIENT_FINAL);
    }
    assert_int_equal(postie_scram_server_final(&s, RFC_SERVER_FINAL, strlen(RFC_SERVER_FINAL)),
                     POSTIE_ERR_AUTH);
}

static void test_server_error_and_malformed_final(void **state)
{
    static const char *bad[] = {
        "", "v=", "x=abc", "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4", /* no padding */
        "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=,", "v=AAAA", "e=",
        "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=\r\n",
    };
    postie_scram s;
    size_t i;
    (void)state;
    first(&s);
    assert_int_equal(final_with(&s, RFC_SERVER_FIRST), POSTIE_OK);
    assert_int_equal(postie_scram_server_final(&s, "e=invalid-proof", 15), POSTIE_ERR_AUTH);
    assert_string_equal(s.server_error, "invalid-proof");
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        first(&s);
        assert_int_equal(final_with(&s, RFC_SERVER_FIRST), POSTIE_OK);
        assert_int_equal(postie_scram_server_final(&s, bad[i], strlen(bad[i])),
                         POSTIE_ERR_PROTOCOL);
    }
    /* extensions after the verifier are allowed */
    first(&s);
    assert_int_equal(final_with(&s, RFC_SERVER_FIRST), POSTIE_OK);
    assert_int_equal(postie_scram_server_final(&s, RFC_SERVER_FINAL ",x=y",
                                               strlen(RFC_SERVER_FINAL ",x=y")), POSTIE_OK);
}

static void test_username_escaping_and_saslprep_refusal(void **state)
{
    postie_scram s;
    char out[128];
    size_t n;
    (void)state;
    postie_scram_init(&s);
    assert_int_equal(postie_scram_client_first(&s, "a,b=c d", RFC_CNONCE, 20, out, sizeof out, &n),
                     POSTIE_OK);
    assert_string_equal(out, "n,,n=a=2Cb=3Dc d,r=" RFC_CNONCE);

    postie_scram_init(&s);
    assert_int_equal(postie_scram_client_first(&s, "j\xc3\xb6rg", RFC_CNONCE, 20, out,
                                               sizeof out, &n), POSTIE_ERR_PARAM);
    assert_int_equal(postie_scram_client_first(&s, "us\ter", RFC_CNONCE, 20, out, sizeof out, &n),
                     POSTIE_ERR_PARAM);
    assert_int_equal(postie_scram_client_first(&s, "us\r\ner", RFC_CNONCE, 20, out, sizeof out,
                                               &n), POSTIE_ERR_PARAM);
    assert_int_equal(postie_scram_client_first(&s, "", RFC_CNONCE, 20, out, sizeof out, &n),
                     POSTIE_ERR_PARAM);
    /* nonce: printable, no ',', at least 16 characters */
    assert_int_equal(postie_scram_client_first(&s, "user", "short", 5, out, sizeof out, &n),
                     POSTIE_ERR_PARAM);
    assert_int_equal(postie_scram_client_first(&s, "user", "abcdefgh,ijklmnop", 17, out,
                                               sizeof out, &n), POSTIE_ERR_PARAM);
    assert_int_equal(postie_scram_client_first(&s, "user", "abcdefgh ijklmnop", 17, out,
                                               sizeof out, &n), POSTIE_ERR_PARAM);
    /* password too */
    first(&s);
    assert_int_equal(postie_scram_client_final(&s, "p\xc3\xa4ss", RFC_SERVER_FIRST,
                                               strlen(RFC_SERVER_FIRST), out, sizeof out, NULL),
                     POSTIE_ERR_PARAM);
    first(&s);
    assert_int_equal(postie_scram_client_final(&s, "", RFC_SERVER_FIRST,
                                               strlen(RFC_SERVER_FIRST), out, sizeof out, NULL),
                     POSTIE_ERR_PARAM);
}

static void test_server_first_checks(void **state)
{
    static const char *bad[] = {
        "",
        "r=" RFC_CNONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",          /* no server nonce */
        "r=XOprNGfwEbeRWgbNEkqO%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", /* not our nonce */
        "r=rOprNGfwEbeRWgbNEkq,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",     /* ours, truncated */
        "m=ext,r=" RFC_SNONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",   /* mandatory ext */
        "s=W22ZaJ0SNY7soEsUEjb6gQ==,r=" RFC_SNONCE ",i=4096",         /* order */
        "r=" RFC_SNONCE ",i=4096",                                     /* no salt */
        "r=" RFC_SNONCE ",s=,i=4096",                                  /* empty salt */
        "r=" RFC_SNONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ,i=4096",           /* bad base64 */
        "r=" RFC_SNONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==",                /* no count */
        "r=" RFC_SNONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=",
        "r=" RFC_SNONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4095",         /* below minimum */
        "r=" RFC_SNONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0",
        "r=" RFC_SNONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=04096",        /* leading zero */
        "r=" RFC_SNONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-4096",
        "r=" RFC_SNONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096x",
        "r=" RFC_SNONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1000001",      /* above maximum */
        "r=" RFC_SNONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999",  /* overflow */
        "r=" RFC_SNONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,",        /* trailing comma */
        "r=" RFC_SNONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,junk",
        "r=" RFC_SNONCE ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096\r\n",
        "r=" RFC_CNONCE "ab\x01" ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    };
    postie_scram s;
    char out[256];
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        first(&s);
        if (final_with(&s, bad[i]) != POSTIE_ERR_PROTOCOL) {
            fail_msg("server-first \"%s\" accepted", bad[i]);
        }
        /* s was wiped: no second try on the same exchange */
        assert_int_equal(final_with(&s, RFC_SERVER_FIRST), POSTIE_ERR_STATE);
    }
    /* extensions after i are ignored */
    first(&s);
    assert_int_equal(postie_scram_client_final(&s, "pencil", RFC_SERVER_FIRST ",x=1",
                                               strlen(RFC_SERVER_FIRST ",x=1"), out, sizeof out,
                                               NULL), POSTIE_OK);
    /* the limits can be tightened per exchange */
    first(&s);
    s.max_iterations = 4000;
    s.min_iterations = 1;
    assert_int_equal(final_with(&s, RFC_SERVER_FIRST), POSTIE_ERR_PROTOCOL);
}

static void test_state_and_buffers(void **state)
{
    postie_scram s;
    char out[256];
    size_t len = strlen(RFC_CLIENT_FINAL);
    (void)state;
    postie_scram_init(&s);
    assert_int_equal(final_with(&s, RFC_SERVER_FIRST), POSTIE_ERR_STATE);
    assert_int_equal(postie_scram_server_final(&s, RFC_SERVER_FINAL, strlen(RFC_SERVER_FINAL)),
                     POSTIE_ERR_STATE);
    first(&s);
    assert_int_equal(postie_scram_client_first(&s, "user", RFC_CNONCE, 20, out, sizeof out, NULL),
                     POSTIE_ERR_STATE);
    assert_int_equal(postie_scram_server_final(&s, RFC_SERVER_FINAL, strlen(RFC_SERVER_FINAL)),
                     POSTIE_ERR_STATE);
    /* exactly enough room (with the NUL) works; one byte less does not */
    assert_int_equal(postie_scram_client_final(&s, "pencil", RFC_SERVER_FIRST,
                                               strlen(RFC_SERVER_FIRST), out, len, NULL),
                     POSTIE_ERR_BUFFER);
    first(&s);
    assert_int_equal(postie_scram_client_final(&s, "pencil", RFC_SERVER_FIRST,
                                               strlen(RFC_SERVER_FIRST), out, len + 1, NULL),
                     POSTIE_OK);
    assert_string_equal(out, RFC_CLIENT_FINAL);
    postie_scram_init(&s);
    assert_int_equal(postie_scram_client_first(&s, "user", RFC_CNONCE, 20, out, 32, NULL),
                     POSTIE_ERR_BUFFER);
    postie_scram_init(&s);
    assert_int_equal(postie_scram_client_first(&s, "user", RFC_CNONCE, 20, out, 33, NULL),
                     POSTIE_OK);
    /* a user name that does not fit the AuthMessage buffer */
    {
        char big[POSTIE_SCRAM_AUTH_MAX];
        memset(big, 'u', sizeof big - 1);
        big[sizeof big - 1] = '\0';
        postie_scram_init(&s);
        assert_int_equal(postie_scram_client_first(&s, big, RFC_CNONCE, 20, out, sizeof out,
                                                   NULL), POSTIE_ERR_BUFFER);
    }
    assert_int_equal(postie_scram_client_first(NULL, "u", RFC_CNONCE, 20, out, sizeof out, NULL),
                     POSTIE_ERR_PARAM);
    assert_int_equal(postie_scram_server_final(NULL, "v=", 2), POSTIE_ERR_PARAM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7677_exchange),
        cmocka_unit_test(test_server_first_not_nul_terminated),
        cmocka_unit_test(test_tampered_server_signature),
        cmocka_unit_test(test_server_error_and_malformed_final),
        cmocka_unit_test(test_username_escaping_and_saslprep_refusal),
        cmocka_unit_test(test_server_first_checks),
        cmocka_unit_test(test_state_and_buffers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
