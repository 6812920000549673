/* SASL client steps with no I/O: PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER. */
#include "postie/sasl.h"
#if POSTIE_WITH_SASL_CRAM_MD5
#include "postie/md5.h"
#endif
#include "sasl_pw.h"

#include <stdint.h>
#include <string.h>

/* The names in bit order (bit i of postie_sasl_mech is the i-th), NUL-ended
 * entries of one string, then an empty one. */
static const char mech_names[] = "LOGIN\0PLAIN\0CRAM-MD5\0XOAUTH2\0OAUTHBEARER\0SCRAM-SHA-256\0";

const char *postie_sasl_mech_name(postie_sasl_mech mech)
{
    const char *n = mech_names;
    unsigned bit;

    /* a value that is not exactly one known bit ends on the empty entry */
    for (bit = 1; *n != '\0' && bit != (unsigned)mech; bit <<= 1) {
        n += strlen(n) + 1;
    }
    return n;
}

static char upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

postie_sasl_mech postie_sasl_mech_from_name(const char *name, size_t len)
{
    const char *n = mech_names;
    unsigned bit;
    size_t k;

    if (name == NULL) {
        return POSTIE_SASL_NONE;
    }
    for (bit = 1; *n != '\0'; bit <<= 1, n += strlen(n) + 1) {
        for (k = 0; k < len && n[k] != '\0' && upper(name[k]) == n[k]; k++) {
        }
        if (k == len && n[k] == '\0') {
            return (postie_sasl_mech)bit;
        }
    }
    return POSTIE_SASL_NONE;
}

unsigned postie_sasl_parse_mechs(const char *list)
{
    unsigned bits = 0;
    size_t i = 0;

    if (list == NULL) {
        return 0;
    }
    while (list[i] != '\0') {
        size_t start;
        while (list[i] == ' ') {
            i++;
        }
        start = i;
        while (list[i] != '\0' && list[i] != ' ') {
            i++;
        }
        if (i > start) {
            bits |= (unsigned)postie_sasl_mech_from_name(list + start, i - start);
        }
    }
    return bits;
}

postie_sasl_mech postie_sasl_choose(unsigned offered, unsigned allowed)
{
    return (postie_sasl_mech)postie_sasl_top_bit(offered & allowed &
                                                 (unsigned)POSTIE_SASL_ALL_MECHS);
}

#if POSTIE_WITH_SASL_PLAIN || POSTIE_WITH_SASL_LOGIN || POSTIE_WITH_SASL_CRAM_MD5 || \
    POSTIE_WITH_SASL_XOAUTH2 || POSTIE_WITH_SASL_OAUTHBEARER
/* 1 when s holds no CR or LF (and no ^A when no_ctl_a). */
static int clean(const char *s, int no_ctl_a)
{
    for (; *s; s++) {
        if (*s == '\r' || *s == '\n' || (no_ctl_a && *s == '\x01')) {
            return 0;
        }
    }
    return 1;
}

/* Appends the n pieces to out[0..*len) (cap bytes), each a string, or NULL
 * for one NUL octet: POSTIE_OK (*len the new length) or POSTIE_ERR_BUFFER
 * (*len 0). */
static postie_status cat(char *out, size_t cap, size_t *len, const char *const *part, unsigned n)
{
    for (; n > 0; n--, part++) {
        const char *p = *part != NULL ? *part : "";
        size_t k = *part != NULL ? strlen(p) : 1; /* a NULL piece: the NUL of "" */
        if (k > cap - *len) {
            *len = 0;
            return POSTIE_ERR_BUFFER;
        }
        memcpy(out + *len, p, k);
        *len += k;
    }
    return POSTIE_OK;
}
#endif

#if POSTIE_WITH_SASL_PLAIN || POSTIE_WITH_SASL_LOGIN || POSTIE_WITH_SASL_CRAM_MD5

postie_status postie_sasl_pw(unsigned mech, unsigned step, const char *arg, size_t alen,
                             const char *user, const char *pass, char *out, size_t cap,
                             size_t *outlen)
{
    const char *part[5];
    unsigned n = 1;
#if POSTIE_WITH_SASL_LOGIN
    uint32_t w = 0;
    size_t k;
#endif
#if POSTIE_WITH_SASL_CRAM_MD5
    unsigned char digest[POSTIE_MD5_DIGEST_LEN];
    char hex[2 * POSTIE_MD5_DIGEST_LEN + 1];
#endif

    (void)step;
    (void)alen;
    switch (mech) {
#if POSTIE_WITH_SASL_PLAIN
    case POSTIE_SASL_PLAIN: /* authzid NUL user NUL pass */
        part[0] = arg != NULL ? arg : "";
        part[1] = NULL;
        part[2] = user;
        part[3] = NULL;
        part[4] = pass;
        n = 5;
        break;
#endif
#if POSTIE_WITH_SASL_LOGIN
    case POSTIE_SASL_LOGIN: /* the prompt decides, else the position */
        for (k = 0; k < alen; k++) {
            /* the last four characters in one word, bit 5 off: a capital
             * or its small letter match the capital (and nothing else
             * does, which is all the four letters below need) */
            w = (w << 8) | ((unsigned char)arg[k] & 0xDFu);
            if (w == 0x55534552u) { /* USER: the user name, whatever else it says */
                step = 0;
                break;
            }
            if (w == 0x50415353u) { /* PASS: the password, unless USER follows */
                step = 1;
            }
        }
        if (step > 1) {
            return POSTIE_ERR_PROTOCOL;
        }
        part[0] = step == 0 ? user : pass;
        break;
#endif
#if POSTIE_WITH_SASL_CRAM_MD5
    case POSTIE_SASL_CRAM_MD5: /* user SP hex(HMAC-MD5(pass, challenge)) */
        if (step != 0) {
            return POSTIE_ERR_PROTOCOL;
        }
        postie_hmac_md5(pass, strlen(pass), arg, alen, digest);
        postie_hex_lower(digest, sizeof digest, hex);
        part[0] = user;
        part[1] = " ";
        part[2] = hex;
        n = 3;
        break;
#endif
    default:
        return POSTIE_ERR_PROTOCOL;
    }
    *outlen = 0;
    return cat(out, cap, outlen, part, n);
}

/* The checks every password builder makes: POSTIE_ERR_PARAM or POSTIE_OK. */
static postie_status pw_args(const char *user, const char *pass, const char *out,
                             const size_t *outlen)
{
    return user == NULL || pass == NULL || out == NULL || outlen == NULL || !clean(user, 0) ||
                   !clean(pass, 0)
               ? POSTIE_ERR_PARAM
               : POSTIE_OK;
}
#endif

#if POSTIE_WITH_SASL_PLAIN
postie_status postie_sasl_plain(const char *authzid, const char *user, const char *pass,
                                char *out, size_t cap, size_t *outlen)
{
    if (pw_args(user, pass, out, outlen) != POSTIE_OK || user[0] == '\0' ||
        (authzid != NULL && !clean(authzid, 0))) {
        return POSTIE_ERR_PARAM;
    }
    return postie_sasl_pw(POSTIE_SASL_PLAIN, 0, authzid, 0, user, pass, out, cap, outlen);
}

#else
postie_status postie_sasl_plain(const char *authzid, const char *user, const char *pass,
                                char *out, size_t cap, size_t *outlen)
{
    (void)authzid; (void)user; (void)pass; (void)out; (void)cap; (void)outlen;
    return POSTIE_ERR_UNSUPPORTED;
}
#endif

#if POSTIE_WITH_SASL_LOGIN
postie_status postie_sasl_login(const char *prompt, size_t plen, unsigned step,
                                const char *user, const char *pass,
                                char *out, size_t cap, size_t *outlen)
{
    if (pw_args(user, pass, out, outlen) != POSTIE_OK || (prompt == NULL && plen > 0)) {
        return POSTIE_ERR_PARAM;
    }
    return postie_sasl_pw(POSTIE_SASL_LOGIN, step, prompt, plen, user, pass, out, cap, outlen);
}

#else
postie_status postie_sasl_login(const char *prompt, size_t plen, unsigned step,
                                const char *user, const char *pass,
                                char *out, size_t cap, size_t *outlen)
{
    (void)prompt; (void)plen; (void)step; (void)user; (void)pass; (void)out; (void)cap;
    (void)outlen;
    return POSTIE_ERR_UNSUPPORTED;
}
#endif

#if POSTIE_WITH_SASL_CRAM_MD5
postie_status postie_sasl_cram_md5(const char *challenge, size_t clen,
                                   const char *user, const char *pass,
                                   char *out, size_t cap, size_t *outlen)
{
    if (pw_args(user, pass, out, outlen) != POSTIE_OK || (challenge == NULL && clen > 0) ||
        user[0] == '\0') {
        return POSTIE_ERR_PARAM;
    }
    return postie_sasl_pw(POSTIE_SASL_CRAM_MD5, 0, challenge, clen, user, pass, out, cap, outlen);
}

#else
postie_status postie_sasl_cram_md5(const char *challenge, size_t clen,
                                   const char *user, const char *pass,
                                   char *out, size_t cap, size_t *outlen)
{
    (void)challenge; (void)clen; (void)user; (void)pass; (void)out; (void)cap; (void)outlen;
    return POSTIE_ERR_UNSUPPORTED;
}
#endif

#if POSTIE_WITH_SASL_XOAUTH2
postie_status postie_sasl_xoauth2(const char *user, const char *token,
                                  char *out, size_t cap, size_t *outlen)
{
    const char *part[5];

    if (user == NULL || token == NULL || out == NULL || outlen == NULL || user[0] == '\0' ||
        token[0] == '\0' || !clean(user, 1) || !clean(token, 1)) {
        return POSTIE_ERR_PARAM;
    }
    part[0] = "user=";
    part[1] = user;
    part[2] = "\x01" "auth=Bearer ";
    part[3] = token;
    part[4] = "\x01\x01";
    *outlen = 0;
    return cat(out, cap, outlen, part, 5);
}

#else
postie_status postie_sasl_xoauth2(const char *user, const char *token,
                                  char *out, size_t cap, size_t *outlen)
{
    (void)user; (void)token; (void)out; (void)cap; (void)outlen;
    return POSTIE_ERR_UNSUPPORTED;
}
#endif

#if POSTIE_WITH_SASL_OAUTHBEARER
postie_status postie_sasl_oauthbearer(const char *user, const char *token,
                                      const char *host, const char *port,
                                      char *out, size_t cap, size_t *outlen)
{
    const char *part[10];
    char one[2] = {0, 0};
    unsigned n = 0;
    postie_status st;

    if (user == NULL || token == NULL || out == NULL || outlen == NULL || user[0] == '\0' ||
        token[0] == '\0' || !clean(user, 1) || !clean(token, 1) ||
        (host != NULL && !clean(host, 1)) || (port != NULL && !clean(port, 1))) {
        return POSTIE_ERR_PARAM;
    }
    part[0] = "n,a=";
    *outlen = 0;
    st = cat(out, cap, outlen, part, 1);
    for (; st == POSTIE_OK && *user != '\0'; user++) {
        one[0] = *user;
        part[0] = *user == ',' ? "=2C" : *user == '=' ? "=3D" : one;
        st = cat(out, cap, outlen, part, 1);
    }
    part[n++] = ",\x01";
    if (host != NULL && host[0] != '\0') {
        part[n++] = "host=";
        part[n++] = host;
        part[n++] = "\x01";
    }
    if (port != NULL && port[0] != '\0') {
        part[n++] = "port=";
        part[n++] = port;
        part[n++] = "\x01";
    }
    part[n++] = "auth=Bearer ";
    part[n++] = token;
    part[n++] = "\x01\x01";
    return st != POSTIE_OK ? st : cat(out, cap, outlen, part, n);
}
#else
postie_status postie_sasl_oauthbearer(const char *user, const char *token,
                                      const char *host, const char *port,
                                      char *out, size_t cap, size_t *outlen)
{
    (void)user; (void)token; (void)host; (void)port; (void)out; (void)cap; (void)outlen;
    return POSTIE_ERR_UNSUPPORTED;
}
#endif
