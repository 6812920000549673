/*
 * libFuzzer target: SCRAM-SHA-256 parsing of server-first and server-final.
 *
 * Input: one mode byte, then
 *   mode even: server-first, '\n', server-final (a fresh exchange with the
 *              iteration limits lowered to 1..64 so each run stays fast);
 *   mode odd:  server-final only, checked against the RFC 7677 exchange
 *              (prepared once), so the verifier path is reached often.
 * Properties checked: no crash or sanitizer report; every status is one the
 * header documents; output is NUL-terminated and within the buffer; a
 * successful server-final is only possible with the genuine signature.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postie/scram.h"

#define CNONCE "rOprNGfwEbeRWgbNEkqO"
#define RFC_SERVER_FIRST \
    "r=" CNONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define RFC_SIG_B64 "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

static void check(int cond)
{
    if (!cond) {
        abort();
    }
}

static void start(postie_scram *s)
{
    char out[128];
    postie_scram_init(s);
    check(postie_scram_client_first(s, "user", CNONCE, strlen(CNONCE), out, sizeof out, NULL) ==
          POSTIE_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static postie_scram rfc_after_final;
    static int prepared;
    postie_scram s;
    char out[512];
    size_t outlen = 0;
    postie_status st;

    if (!prepared) {
        start(&rfc_after_final);
        check(postie_scram_client_final(&rfc_after_final, "pencil", RFC_SERVER_FIRST,
                                        strlen(RFC_SERVER_FIRST), out, sizeof out, NULL) ==
              POSTIE_OK);
        prepared = 1;
    }
    if (size < 1) {
        return 0;
    }
    if (data[0] & 1) {
        const char *fin = (const char *)data + 1;
        size_t n = size - 1;
        s = rfc_after_final;
        st = postie_scram_server_final(&s, fin, n);
        check(st == POSTIE_OK || st == POSTIE_ERR_AUTH || st == POSTIE_ERR_PROTOCOL);
        if (st == POSTIE_OK) {
            /* only the genuine verifier (plus optional extensions) passes */
            check(n >= 2 + strlen(RFC_SIG_B64) &&
                  memcmp(fin, "v=" RFC_SIG_B64, 2 + strlen(RFC_SIG_B64)) == 0);
        }
        check(memchr(s.server_error, '\0', sizeof s.server_error) != NULL);
        return 0;
    } else {
        const char *first = (const char *)data + 1;
        const char *nl = memchr(first, '\n', size - 1);
        size_t first_len = nl != NULL ? (size_t)(nl - first) : size - 1;

        start(&s);
        s.min_iterations = 1;
        s.max_iterations = 64;
        st = postie_scram_client_final(&s, "pencil", first, first_len, out, sizeof out, &outlen);
        check(st == POSTIE_OK || st == POSTIE_ERR_PROTOCOL || st == POSTIE_ERR_BUFFER);
        if (st != POSTIE_OK) {
            return 0;
        }
        check(outlen < sizeof out && out[outlen] == '\0' && strlen(out) == outlen);
        check(strncmp(out, "c=biws,r=" CNONCE, 9 + strlen(CNONCE)) == 0);
        if (nl != NULL) {
            const char *fin = nl + 1;
            size_t n = size - 1 - first_len - 1;
            st = postie_scram_server_final(&s, fin, n);
            check(st == POSTIE_OK || st == POSTIE_ERR_AUTH || st == POSTIE_ERR_PROTOCOL);
        }
    }
    return 0;
}
