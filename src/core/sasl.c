/* SASL client steps with no I/O: PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER. */
#include "postie/sasl.h"
#if POSTIE_WITH_SASL_CRAM_MD5
#include "postie/md5.h"
#endif

#include <string.h>

/* Names in bit order (bit i of postie_sasl_mech is names[i]); plain char
 * arrays, not pointers, so the table is read-only data even in PIC builds. */
static const char mech_names[][16] = {"LOGIN", "PLAIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER",
                                      "SCRAM-SHA-256"};

#define NMECHS (sizeof mech_names / sizeof mech_names[0])

const char *postie_sasl_mech_name(postie_sasl_mech mech)
{
    size_t i;
    for (i = 0; i < NMECHS; i++) {
        if ((unsigned)mech == (1u << i)) {
            return mech_names[i];
        }
    }
    return "";
}

static char upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

postie_sasl_mech postie_sasl_mech_from_name(const char *name, size_t len)
{
    size_t i, k;

    if (name == NULL) {
        return POSTIE_SASL_NONE;
    }
    for (i = 0; i < NMECHS; i++) {
        const char *n = mech_names[i];
        for (k = 0; k < len && n[k] != '\0' && upper(name[k]) == n[k]; k++) {
        }
        if (k == len && n[k] == '\0') {
            return (postie_sasl_mech)(1u << i);
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
    static const postie_sasl_mech order[] = {
        POSTIE_SASL_SCRAM_SHA256, POSTIE_SASL_OAUTHBEARER, POSTIE_SASL_XOAUTH2, POSTIE_SASL_CRAM_MD5,
        POSTIE_SASL_PLAIN, POSTIE_SASL_LOGIN,
    };
    size_t i;
    unsigned both = offered & allowed;

    for (i = 0; i < sizeof order / sizeof order[0]; i++) {
        if (both & (unsigned)order[i]) {
            return order[i];
        }
    }
    return POSTIE_SASL_NONE;
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

/* Bounded writer into out[0..cap). */
typedef struct wbuf {
    char *out;
    size_t cap, len;
    int overflow;
} wbuf;

static void put(wbuf *w, const void *p, size_t n)
{
    if (w->overflow || n > w->cap - w->len) {
        w->overflow = 1;
        return;
    }
    memcpy(w->out + w->len, p, n);
    w->len += n;
}

static void puts_(wbuf *w, const char *s)
{
    put(w, s, strlen(s));
}

static postie_status done(wbuf *w, size_t *outlen)
{
    if (w->overflow) {
        *outlen = 0;
        return POSTIE_ERR_BUFFER;
    }
    *outlen = w->len;
    return POSTIE_OK;
}

#endif

#if POSTIE_WITH_SASL_PLAIN
postie_status postie_sasl_plain(const char *authzid, const char *user, const char *pass,
                                char *out, size_t cap, size_t *outlen)
{
    wbuf w;

    if (user == NULL || pass == NULL || out == NULL || outlen == NULL || user[0] == '\0' ||
        !clean(user, 0) || !clean(pass, 0) || (authzid != NULL && !clean(authzid, 0))) {
        return POSTIE_ERR_PARAM;
    }
    w.out = out;
    w.cap = cap;
    w.len = 0;
    w.overflow = 0;
    if (authzid != NULL) {
        puts_(&w, authzid);
    }
    put(&w, "", 1);
    puts_(&w, user);
    put(&w, "", 1);
    puts_(&w, pass);
    return done(&w, outlen);
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
/* 1 when p[0..n) contains word (ASCII, case-insensitive). */
static int contains_ci(const char *p, size_t n, const char *word)
{
    size_t wl = strlen(word), i, k;
    for (i = 0; i + wl <= n; i++) {
        for (k = 0; k < wl && upper(p[i + k]) == upper(word[k]); k++) {
        }
        if (k == wl) {
            return 1;
        }
    }
    return 0;
}

postie_status postie_sasl_login(const char *prompt, size_t plen, unsigned step,
                                const char *user, const char *pass,
                                char *out, size_t cap, size_t *outlen)
{
    const char *answer;
    wbuf w;

    if (user == NULL || pass == NULL || out == NULL || outlen == NULL ||
        (prompt == NULL && plen > 0) || !clean(user, 0) || !clean(pass, 0)) {
        return POSTIE_ERR_PARAM;
    }
    if (plen > 0 && contains_ci(prompt, plen, "user")) {
        answer = user;
    } else if (plen > 0 && contains_ci(prompt, plen, "pass")) {
        answer = pass;
    } else if (step == 0) {
        answer = user;
    } else if (step == 1) {
        answer = pass;
    } else {
        return POSTIE_ERR_PROTOCOL;
    }
    w.out = out;
    w.cap = cap;
    w.len = 0;
    w.overflow = 0;
    puts_(&w, answer);
    return done(&w, outlen);
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
    unsigned char digest[POSTIE_MD5_DIGEST_LEN];
    char hex[2 * POSTIE_MD5_DIGEST_LEN + 1];
    wbuf w;

    if (user == NULL || pass == NULL || out == NULL || outlen == NULL ||
        (challenge == NULL && clen > 0) || user[0] == '\0' || !clean(user, 0) ||
        !clean(pass, 0)) {
        return POSTIE_ERR_PARAM;
    }
    postie_hmac_md5(pass, strlen(pass), clen ? challenge : "", clen, digest);
    postie_hex_lower(digest, sizeof digest, hex);
    w.out = out;
    w.cap = cap;
    w.len = 0;
    w.overflow = 0;
    puts_(&w, user);
    put(&w, " ", 1);
    put(&w, hex, 2 * POSTIE_MD5_DIGEST_LEN);
    return done(&w, outlen);
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
    wbuf w;

    if (user == NULL || token == NULL || out == NULL || outlen == NULL || user[0] == '\0' ||
        token[0] == '\0' || !clean(user, 1) || !clean(token, 1)) {
        return POSTIE_ERR_PARAM;
    }
    w.out = out;
    w.cap = cap;
    w.len = 0;
    w.overflow = 0;
    puts_(&w, "user=");
    puts_(&w, user);
    puts_(&w, "\x01" "auth=Bearer ");
    puts_(&w, token);
    puts_(&w, "\x01\x01");
    return done(&w, outlen);
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
    wbuf w;
    const char *p;

    if (user == NULL || token == NULL || out == NULL || outlen == NULL || user[0] == '\0' ||
        token[0] == '\0' || !clean(user, 1) || !clean(token, 1) ||
        (host != NULL && !clean(host, 1)) || (port != NULL && !clean(port, 1))) {
        return POSTIE_ERR_PARAM;
    }
    w.out = out;
    w.cap = cap;
    w.len = 0;
    w.overflow = 0;
    puts_(&w, "n,a=");
    for (p = user; *p; p++) {
        if (*p == ',') {
            puts_(&w, "=2C");
        } else if (*p == '=') {
            puts_(&w, "=3D");
        } else {
            put(&w, p, 1);
        }
    }
    puts_(&w, ",\x01");
    if (host != NULL && host[0] != '\0') {
        puts_(&w, "host=");
        puts_(&w, host);
        puts_(&w, "\x01");
    }
    if (port != NULL && port[0] != '\0') {
        puts_(&w, "port=");
        puts_(&w, port);
        puts_(&w, "\x01");
    }
    puts_(&w, "auth=Bearer ");
    puts_(&w, token);
    puts_(&w, "\x01\x01");
    return done(&w, outlen);
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
