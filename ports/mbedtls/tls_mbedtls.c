/*
 * mbed TLS transport (see ports/mbedtls/include/postie/mbedtls_tls.h and
 * docs/tls.md).
 *
 * mbed TLS reaches the network through bio_send/bio_recv, which call the
 * inner postie_transport with the current call's timeout: no socket, no OS
 * header, no global state, so the same file serves a POSIX host (over
 * postie_tcp) and a firmware (over lwIP, NetX Duo, ...). A wait that the
 * inner transport gives up on comes back to mbed TLS as WANT_READ/WANT_WRITE
 * (its state stays usable) and to the caller as the inner status.
 * The error texts are built without printf (small firmware images).
 */
#include "postie/mbedtls_tls.h"
#include "postie/postie_config_defaults.h"

#include <limits.h>
#include <string.h>

#include "mbedtls/asn1.h"
#include "mbedtls/error.h"
#include "mbedtls/oid.h"
#include "mbedtls/platform.h"

/* postie_mbedtls.error_stage: where error_text was set. 0: by send/recv (or
 * nothing failed). */
enum { STAGE_IO = 0, STAGE_SETUP = 1, STAGE_HANDSHAKE = 2 };

/* Our own code from the verify callback for a refused pin: any code other
 * than CERT_VERIFY_FAILED ends the handshake even when verification is
 * optional (insecure_skip_verify, pin_replaces_chain). */
#define PIN_REFUSED MBEDTLS_ERR_X509_FATAL_ERROR

/* Rounds of WANT_READ/WANT_WRITE without the inner transport being asked:
 * never expected; bounds the loops if mbed TLS ever does that. */
#define MAX_IDLE_ROUNDS 64

/* ---- error text ------------------------------------------------------- */

static void text_set(postie_mbedtls *t, const char *s)
{
    size_t n = strlen(s);
    if (n >= sizeof t->error_text) {
        n = sizeof t->error_text - 1;
    }
    memcpy(t->error_text, s, n);
    t->error_text[n] = '\0';
}

static void text_add(postie_mbedtls *t, const char *s)
{
    size_t have = strlen(t->error_text);
    size_t n = strlen(s);
    if (n > sizeof t->error_text - 1 - have) {
        n = sizeof t->error_text - 1 - have;
    }
    memcpy(t->error_text + have, s, n);
    t->error_text[have + n] = '\0';
}

static void text_num(postie_mbedtls *t, unsigned long v)
{
    char d[24];
    size_t i = sizeof d - 1;
    d[i] = '\0';
    do {
        d[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0 && i > 0);
    text_add(t, d + i);
}

/* "what: mbed TLS's words for rc" */
static void text_mbedtls(postie_mbedtls *t, const char *what, int rc)
{
    text_set(t, what);
#if defined(MBEDTLS_ERROR_C) || defined(MBEDTLS_ERROR_STRERROR_DUMMY)
    {
        char buf[128];
        mbedtls_strerror(rc, buf, sizeof buf);
        text_add(t, ": ");
        text_add(t, buf);
    }
#else
    {
        static const char hex[] = "0123456789abcdef";
        char code[8];
        unsigned v = (unsigned)(rc < 0 ? -rc : rc);
        code[0] = '-';
        code[1] = '0';
        code[2] = 'x';
        code[3] = hex[(v >> 12) & 15];
        code[4] = hex[(v >> 8) & 15];
        code[5] = hex[(v >> 4) & 15];
        code[6] = hex[v & 15];
        code[7] = '\0';
        text_add(t, ": mbed TLS error ");
        text_add(t, code);
    }
#endif
}

static void hex_string(const unsigned char *d, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        *out++ = digits[d[i] >> 4];
        *out++ = digits[d[i] & 15];
    }
    *out = '\0';
}

/* "2026-12-04 10:00 UTC" into out (24 bytes). */
static void date_string(const mbedtls_x509_time *tm, char *out)
{
    int v[5];
    int w[5] = {4, 2, 2, 2, 2};
    const char sep[5] = {'-', '-', ' ', ':', ' '};
    int i, k;
    char *p = out;

    v[0] = tm->year;
    v[1] = tm->mon;
    v[2] = tm->day;
    v[3] = tm->hour;
    v[4] = tm->min;
    for (i = 0; i < 5; i++) {
        int x = v[i] < 0 ? 0 : v[i];
        for (k = w[i] - 1; k >= 0; k--) {
            p[k] = (char)('0' + x % 10);
            x /= 10;
        }
        p += w[i];
        *p++ = sep[i];
    }
    memcpy(p, "UTC", 4);
}

/* ---- options, pins -------------------------------------------------------- */

void postie_mbedtls_options_init(postie_mbedtls_options *o)
{
    if (o != NULL) {
        memset(o, 0, sizeof *o);
        o->pin_kind = POSTIE_MBEDTLS_PIN_NONE;
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

postie_status postie_mbedtls_pin_from_hex(const char *hex,
                                          unsigned char out[POSTIE_SHA256_DIGEST_LEN])
{
    size_t n = 0;

    if (hex == NULL || out == NULL) {
        return POSTIE_ERR_PARAM;
    }
    while (*hex != '\0') {
        int hi, lo;
        if (n > 0 && *hex == ':') {
            hex++;
        }
        hi = hexval(hex[0]);
        lo = hi < 0 ? -1 : hexval(hex[1]);
        if (hi < 0 || lo < 0 || n == POSTIE_SHA256_DIGEST_LEN) {
            return POSTIE_ERR_DECODE;
        }
        out[n++] = (unsigned char)(hi * 16 + lo);
        hex += 2;
    }
    return n == POSTIE_SHA256_DIGEST_LEN ? POSTIE_OK : POSTIE_ERR_DECODE;
}

/* ---- IP literals (no inet_pton on a firmware) ------------------------------ */

static int parse_ipv4(const char *s, size_t len, unsigned char out[4])
{
    size_t i = 0;
    int part;

    for (part = 0; part < 4; part++) {
        unsigned v = 0;
        size_t digits = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (digits > 0 && v == 0) {
                return 0; /* no leading zeros (octal in some parsers) */
            }
            v = v * 10u + (unsigned)(s[i] - '0');
            if (v > 255u) {
                return 0;
            }
            i++;
            digits++;
        }
        if (digits == 0) {
            return 0;
        }
        out[part] = (unsigned char)v;
        if (part < 3) {
            if (i >= len || s[i] != '.') {
                return 0;
            }
            i++;
        }
    }
    return i == len;
}

static int parse_ipv6(const char *s, size_t len, unsigned char out[16])
{
    unsigned char head[16], tail[16];
    size_t nh = 0, nt = 0, i = 0;
    int gap = 0;

    if (len >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 1;
        i = 2;
    } else if (len > 0 && s[0] == ':') {
        return 0;
    }
    while (i < len) {
        unsigned char *dst = gap ? tail : head;
        size_t *n = gap ? &nt : &nh;
        size_t start = i, digits = 0;
        unsigned v = 0;

        while (i < len && hexval(s[i]) >= 0 && digits < 5) {
            v = v * 16u + (unsigned)hexval(s[i]);
            i++;
            digits++;
        }
        if (i < len && s[i] == '.') { /* embedded IPv4 in the last 32 bits */
            if (*n + 4 > 16 || !parse_ipv4(s + start, len - start, dst + *n)) {
                return 0;
            }
            *n += 4;
            break;
        }
        if (digits == 0 || digits > 4 || *n + 2 > 16) {
            return 0;
        }
        dst[(*n)++] = (unsigned char)(v >> 8);
        dst[(*n)++] = (unsigned char)(v & 0xffu);
        if (i == len) {
            break;
        }
        if (s[i] != ':') {
            return 0;
        }
        i++;
        if (i < len && s[i] == ':') {
            if (gap) {
                return 0; /* a second "::" */
            }
            gap = 1;
            i++;
        } else if (i == len) {
            return 0; /* ends with a single ':' */
        }
    }
    if (gap ? nh + nt > 14 : nh != 16) {
        return 0;
    }
    memset(out, 0, 16);
    memcpy(out, head, nh);
    memcpy(out + 16 - nt, tail, nt);
    return 1;
}

/* 4 or 16 (the address in out), or 0 when s is not an IP literal. */
static int parse_ip(const char *s, unsigned char out[16])
{
    size_t len = strlen(s);
    if (parse_ipv4(s, len, out)) {
        return 4;
    }
    if (memchr(s, ':', len) != NULL && parse_ipv6(s, len, out)) {
        return 16;
    }
    return 0;
}

/* Whether crt has an iPAddress subjectAltName equal to ip (mbed TLS 2.28
 * lists only dNSName and otherName in subject_alt_names: the extension is
 * read from the raw extensions here). */
static int cert_has_ip(const mbedtls_x509_crt *crt, const unsigned char *ip, size_t iplen)
{
    unsigned char *p = crt->v3_ext.p;
    const unsigned char *end;
    size_t len;

    if (p == NULL || crt->v3_ext.len == 0) {
        return 0;
    }
    end = p + crt->v3_ext.len;
    if (*p == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 3)) {
        if (mbedtls_asn1_get_tag(&p, end, &len,
                                 MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 3) != 0) {
            return 0;
        }
        end = p + len;
    }
    if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0) {
        return 0;
    }
    end = p + len;
    while (p < end) {
        const unsigned char *ext_end;
        static const char san_oid[] = MBEDTLS_OID_SUBJECT_ALT_NAME;

        if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) !=
            0) {
            return 0;
        }
        ext_end = p + len;
        if (mbedtls_asn1_get_tag(&p, ext_end, &len, MBEDTLS_ASN1_OID) != 0) {
            return 0;
        }
        if (len != sizeof san_oid - 1 || memcmp(p, san_oid, len) != 0) {
            p = (unsigned char *)ext_end;
            continue;
        }
        p += len;
        if (p < ext_end && *p == MBEDTLS_ASN1_BOOLEAN) {
            int critical;
            if (mbedtls_asn1_get_bool(&p, ext_end, &critical) != 0) {
                return 0;
            }
        }
        if (mbedtls_asn1_get_tag(&p, ext_end, &len, MBEDTLS_ASN1_OCTET_STRING) != 0 ||
            mbedtls_asn1_get_tag(&p, ext_end, &len,
                                 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0) {
            return 0;
        }
        ext_end = p + len; /* the GeneralNames */
        while (p < ext_end) {
            unsigned char tag = *p++;
            if (mbedtls_asn1_get_len(&p, ext_end, &len) != 0) {
                return 0;
            }
            if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && len == iplen &&
                memcmp(p, ip, iplen) == 0) {
                return 1;
            }
            p += len;
        }
        return 0;
    }
    return 0;
}

/* ---- the BIO: the inner transport --------------------------------------- */

/* The wait the inner transport may take now. */
static unsigned wait_ms(const postie_mbedtls *t)
{
    if (t->use_deadline && t->opts.clock != NULL) {
        unsigned long now = t->opts.clock(t->opts.clock_ctx);
        long left = (long)(t->deadline - now);
        if (left <= 0) {
            return 0;
        }
        return (unsigned long)left > UINT_MAX ? UINT_MAX : (unsigned)left;
    }
    return t->io_timeout_ms;
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    postie_mbedtls *t = ctx;
    long n;

    if (len > INT_MAX) {
        len = INT_MAX;
    }
    n = t->inner.send(t->inner.ctx, buf, len, wait_ms(t));
    if (n > 0) {
        return (int)(n > (long)len ? (long)len : n);
    }
    t->io_status = n < 0 ? (int)n : POSTIE_ERR_IO;
    if (n == POSTIE_ERR_TIMEOUT || n == POSTIE_ERR_WOULD_BLOCK) {
        return MBEDTLS_ERR_SSL_WANT_WRITE; /* mbed TLS keeps the record to send later */
    }
    return MBEDTLS_ERR_SSL_INTERNAL_ERROR; /* the reason is in io_status */
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    postie_mbedtls *t = ctx;
    long n;

    if (len > INT_MAX) {
        len = INT_MAX;
    }
    n = t->inner.recv(t->inner.ctx, buf, len, wait_ms(t));
    if (n > 0) {
        return (int)(n > (long)len ? (long)len : n);
    }
    if (n == 0) {
        t->peer_closed = 1;
        return 0; /* mbed TLS: MBEDTLS_ERR_SSL_CONN_EOF */
    }
    t->io_status = (int)n;
    if (n == POSTIE_ERR_TIMEOUT || n == POSTIE_ERR_WOULD_BLOCK) {
        return MBEDTLS_ERR_SSL_WANT_READ;
    }
    return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
}

/* ---- verification -------------------------------------------------------- */

/* Called by mbed TLS for each certificate of the verified chain, from the
 * top down to the server's (depth 0), with the problems found in *flags.
 * Adds the IP address check, the pin, and clears the flags when chain and
 * name are not to be verified. */
static int verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    postie_mbedtls *t = ctx;
    int verify = !t->opts.insecure_skip_verify && !t->opts.pin_replaces_chain;

    if (depth == 0) {
        postie_sha256(crt->raw.p, crt->raw.len, t->peer_cert_pin);
        postie_sha256(crt->pk_raw.p, crt->pk_raw.len, t->peer_spki_pin);
        t->self_signed = crt->issuer_raw.len == crt->subject_raw.len &&
                         memcmp(crt->issuer_raw.p, crt->subject_raw.p, crt->issuer_raw.len) == 0;
        if (t->ip_len > 0 && !cert_has_ip(crt, t->ip, (size_t)t->ip_len)) {
            *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
        }
    }
    if ((*flags & (MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE)) != 0 &&
        t->bad_date[0] == '\0') {
        date_string((*flags & MBEDTLS_X509_BADCERT_EXPIRED) ? &crt->valid_to : &crt->valid_from,
                    t->bad_date);
    }
    if (!verify) {
        *flags = 0;
    }
    if (depth == 0 && *flags == 0 && t->opts.pin_kind != POSTIE_MBEDTLS_PIN_NONE) {
        const unsigned char *got =
            t->opts.pin_kind == POSTIE_MBEDTLS_PIN_CERT ? t->peer_cert_pin : t->peer_spki_pin;
        if (!postie_ct_equal(got, t->opts.pin_sha256, POSTIE_SHA256_DIGEST_LEN)) {
            char hex[2 * POSTIE_SHA256_DIGEST_LEN + 1];
            hex_string(got, POSTIE_SHA256_DIGEST_LEN, hex);
            t->pin_failed = 1;
            t->verify_reason = POSTIE_MBEDTLS_VERIFY_PIN_MISMATCH;
            text_set(t, "pin mismatch: the server's ");
            text_add(t, t->opts.pin_kind == POSTIE_MBEDTLS_PIN_CERT ? "certificate" : "public key");
            text_add(t, " has SHA-256 ");
            text_add(t, hex);
            *flags |= MBEDTLS_X509_BADCERT_OTHER; /* alert: access denied */
            return PIN_REFUSED;
        }
    }
    return 0;
}

/* A validity refusal: its reason and text, with the certificate's date
 * ("(not valid after 2020-01-02 00:00 UTC)") when verify_cb kept it. */
static void say_dated(postie_mbedtls *t, postie_mbedtls_verify_reason reason, const char *what,
                      const char *side)
{
    t->verify_reason = (unsigned char)reason;
    text_set(t, what);
    if (t->bad_date[0] != '\0') {
        text_add(t, " (not valid ");
        text_add(t, side);
        text_add(t, " ");
        text_add(t, t->bad_date);
        text_add(t, ")");
    }
}

/* The text and reason for a refused chain or name (flags from mbed TLS and
 * verify_cb), each reason said once, in the OpenSSL transport's words. */
static void describe_verify_error(postie_mbedtls *t, uint32_t flags)
{
    if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED) {
        if (t->self_signed) {
            t->verify_reason = POSTIE_MBEDTLS_VERIFY_SELF_SIGNED;
            text_set(t, "self-signed certificate, not trusted");
        } else {
            t->verify_reason = POSTIE_MBEDTLS_VERIFY_UNKNOWN_CA;
            text_set(t, "unknown CA: the certificate's issuer is not in the trust store");
        }
    } else if (flags & MBEDTLS_X509_BADCERT_EXPIRED) {
        say_dated(t, POSTIE_MBEDTLS_VERIFY_EXPIRED, "certificate has expired", "after");
    } else if (flags & MBEDTLS_X509_BADCERT_FUTURE) {
        say_dated(t, POSTIE_MBEDTLS_VERIFY_NOT_YET_VALID, "certificate is not yet valid", "before");
    } else if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH) {
        t->verify_reason = POSTIE_MBEDTLS_VERIFY_NAME_MISMATCH;
        text_set(t, t->ip_len > 0 ? "host name mismatch: the certificate is not valid for IP address '"
                                  : "host name mismatch: the certificate is not valid for host name '");
        text_add(t, t->name);
        text_add(t, "'");
    } else {
        char info[160];
        char *nl;
        t->verify_reason = POSTIE_MBEDTLS_VERIFY_OTHER;
        info[0] = '\0';
        if (mbedtls_x509_crt_verify_info(info, sizeof info, "", flags) < 0) {
            info[0] = '\0';
        }
        nl = strchr(info, '\n');
        if (nl != NULL) {
            *nl = '\0'; /* the first reason */
        }
        text_set(t, "certificate verification failed: ");
        text_add(t, info[0] != '\0' ? info : "unknown reason");
    }
}

/* ---- life cycle ------------------------------------------------------------ */

static void free_mbedtls(postie_mbedtls *t)
{
    mbedtls_ssl_free(&t->ssl);
    mbedtls_ssl_config_free(&t->conf);
    mbedtls_x509_crt_free(&t->ca);
#ifdef POSTIE_MBEDTLS_HAVE_DRBG
    mbedtls_ctr_drbg_free(&t->drbg);
    mbedtls_entropy_free(&t->entropy);
#endif
    t->ca_owned = 0;
}

static int contains(const unsigned char *buf, size_t len, const char *what)
{
    size_t n = strlen(what), i;
    for (i = 0; i + n <= len; i++) {
        if (memcmp(buf + i, what, n) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Parses the application's CA bundle into t->ca. */
static postie_status load_ca(postie_mbedtls *t, const unsigned char *ca, size_t len)
{
    int rc;

    if (contains(ca, len, "-----BEGIN ")) {
        if (ca[len - 1] == '\0') {
            rc = mbedtls_x509_crt_parse(&t->ca, ca, len);
        } else {
            /* mbed TLS wants PEM with its NUL: parse a terminated copy */
            unsigned char *copy = mbedtls_calloc(1, len + 1);
            if (copy == NULL) {
                text_set(t, "cannot load the CA bundle: out of memory");
                return POSTIE_ERR_NOMEM;
            }
            memcpy(copy, ca, len);
            rc = mbedtls_x509_crt_parse(&t->ca, copy, len + 1);
            mbedtls_free(copy);
        }
        if (rc < 0) {
            text_mbedtls(t, "cannot load the CA bundle", rc);
            return POSTIE_ERR_TLS;
        }
    } else {
        /* DER: one certificate or several back to back */
        size_t off = 0;
        while (off < len) {
            unsigned char *p = (unsigned char *)ca + off;
            size_t body;
            rc = mbedtls_asn1_get_tag(&p, ca + len, &body,
                                      MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE);
            if (rc == 0) {
                size_t whole = (size_t)(p - (ca + off)) + body;
                rc = mbedtls_x509_crt_parse_der(&t->ca, ca + off, whole);
                off += whole;
            }
            if (rc != 0) {
                text_mbedtls(t, "cannot load the CA bundle", rc);
                return POSTIE_ERR_TLS;
            }
        }
    }
    t->ca_owned = 1;
    return POSTIE_OK;
}

static postie_status init(postie_mbedtls *t, const postie_transport *inner,
                          const postie_mbedtls_options *opts)
{
    postie_mbedtls_rng_fn rng;
    void *rng_ctx;
    postie_status st;
    int verify, rc;

    memset(t, 0, sizeof *t);
    if (opts != NULL) {
        t->opts = *opts;
    } else {
        postie_mbedtls_options_init(&t->opts);
    }
    if (inner == NULL || inner->send == NULL || inner->recv == NULL) {
        text_set(t, "invalid inner transport");
        return POSTIE_ERR_PARAM;
    }
    if (t->opts.pin_kind != POSTIE_MBEDTLS_PIN_NONE && t->opts.pin_kind != POSTIE_MBEDTLS_PIN_CERT &&
        t->opts.pin_kind != POSTIE_MBEDTLS_PIN_SPKI) {
        text_set(t, "unknown pin kind");
        return POSTIE_ERR_PARAM;
    }
    if (t->opts.pin_replaces_chain && t->opts.pin_kind == POSTIE_MBEDTLS_PIN_NONE) {
        text_set(t, "pin_replaces_chain set without a pin");
        return POSTIE_ERR_PARAM;
    }
    if ((t->opts.ca == NULL) != (t->opts.ca_len == 0)) {
        text_set(t, "CA bundle: give both the buffer and its length");
        return POSTIE_ERR_PARAM;
    }
    verify = !t->opts.insecure_skip_verify && !t->opts.pin_replaces_chain;
    if (verify && t->opts.ca == NULL && t->opts.ca_chain == NULL) {
        text_set(t, "a CA bundle is needed to verify the server (options ca or ca_chain)");
        return POSTIE_ERR_PARAM;
    }
#ifndef POSTIE_MBEDTLS_HAVE_DRBG
    if (t->opts.rng == NULL) {
        text_set(t, "no random generator: mbed TLS is built without ENTROPY_C/CTR_DRBG_C, "
                    "give one in the options");
        return POSTIE_ERR_PARAM;
    }
#endif

    mbedtls_ssl_init(&t->ssl);
    mbedtls_ssl_config_init(&t->conf);
    mbedtls_x509_crt_init(&t->ca);
#ifdef POSTIE_MBEDTLS_HAVE_DRBG
    mbedtls_ctr_drbg_init(&t->drbg);
    mbedtls_entropy_init(&t->entropy);
#endif

    if (t->opts.ca != NULL) {
        st = load_ca(t, t->opts.ca, t->opts.ca_len);
        if (st != POSTIE_OK) {
            goto fail;
        }
    }
    t->opts.ca = NULL; /* not used after init */
    t->opts.ca_len = 0;

    rng = t->opts.rng;
    rng_ctx = t->opts.rng_ctx;
#ifdef POSTIE_MBEDTLS_HAVE_DRBG
    if (rng == NULL) {
        static const unsigned char pers[] = "postie mbedtls transport";
        rc = mbedtls_ctr_drbg_seed(&t->drbg, mbedtls_entropy_func, &t->entropy, pers,
                                   sizeof pers - 1);
        if (rc != 0) {
            text_mbedtls(t, "cannot seed the random generator", rc);
            st = POSTIE_ERR_TLS;
            goto fail;
        }
        rng = mbedtls_ctr_drbg_random;
        rng_ctx = &t->drbg;
    }
#endif

    rc = mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                     MBEDTLS_SSL_PRESET_DEFAULT);
    if (rc != 0) {
        text_mbedtls(t, "cannot set up mbed TLS", rc);
        st = POSTIE_ERR_TLS;
        goto fail;
    }
    /* TLS 1.2 (3.3) at least: RFC 8996 retired 1.0 and 1.1 */
    mbedtls_ssl_conf_min_version(&t->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    /* Always verified, so that verify_cb runs (pin, IP address); when chain
     * and name are not to be checked it clears the flags and the mode is
     * optional (no CA needed). */
    mbedtls_ssl_conf_authmode(&t->conf,
                              verify ? MBEDTLS_SSL_VERIFY_REQUIRED : MBEDTLS_SSL_VERIFY_OPTIONAL);
    if (t->ca_owned) {
        mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
    } else if (t->opts.ca_chain != NULL) {
        mbedtls_ssl_conf_ca_chain(&t->conf, t->opts.ca_chain, NULL);
    }
    mbedtls_ssl_conf_verify(&t->conf, verify_cb, t);
    mbedtls_ssl_conf_rng(&t->conf, rng, rng_ctx);
    rc = mbedtls_ssl_setup(&t->ssl, &t->conf);
    if (rc != 0) {
        text_mbedtls(t, "cannot set up the TLS session", rc);
        st = rc == MBEDTLS_ERR_SSL_ALLOC_FAILED ? POSTIE_ERR_NOMEM : POSTIE_ERR_TLS;
        goto fail;
    }
    mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
    t->inner = *inner;
    t->open = 1;
    t->error_text[0] = '\0';
    return POSTIE_OK;

fail:
    free_mbedtls(t);
    return st;
}

postie_status postie_mbedtls_init(postie_mbedtls *t, const postie_transport *inner,
                                  const postie_mbedtls_options *opts)
{
    postie_status st;

    if (t == NULL) {
        return POSTIE_ERR_PARAM;
    }
    st = init(t, inner, opts);
    if (st != POSTIE_OK) {
        t->error_stage = STAGE_SETUP;
    }
    return st;
}

void postie_mbedtls_close(postie_mbedtls *t)
{
    if (t == NULL || !t->open) {
        return;
    }
    if (t->active && !t->failed) {
        t->use_deadline = 0;
        t->io_timeout_ms = 0; /* best effort, no waiting */
        (void)mbedtls_ssl_close_notify(&t->ssl);
    }
    free_mbedtls(t);
    if (t->inner.close != NULL) {
        t->inner.close(t->inner.ctx);
    }
    t->open = 0;
    t->active = 0;
}

/* ---- handshake -------------------------------------------------------------- */

/* The checks and set-up before the ClientHello: state, name, no plain text
 * waiting, SNI, the deadline. */
static postie_status hs_begin(postie_mbedtls *t, const char *server_name)
{
    unsigned timeout;
    int verify;
    size_t n;
    unsigned char peek;
    long r;

    t->error_text[0] = '\0';
    t->bad_date[0] = '\0';
    t->pin_failed = 0;
    t->self_signed = 0;
    if (!t->open || t->active) {
        text_set(t, t->active ? "TLS is already active" : "connection is closed");
        return POSTIE_ERR_STATE;
    }
    verify = !t->opts.insecure_skip_verify && !t->opts.pin_replaces_chain;
    t->name[0] = '\0';
    t->ip_len = 0;
    if (server_name != NULL) {
        n = strlen(server_name);
        if (n >= 2 && server_name[0] == '[' && server_name[n - 1] == ']') {
            server_name++; /* [IPv6] */
            n -= 2;
        }
        if (n >= sizeof t->name) {
            text_set(t, "server name too long");
            return POSTIE_ERR_PARAM;
        }
        memcpy(t->name, server_name, n);
        t->name[n] = '\0';
        t->ip_len = n > 0 ? parse_ip(t->name, t->ip) : 0;
    }
    if (verify && t->name[0] == '\0') {
        text_set(t, "a server name is needed to verify the certificate");
        return POSTIE_ERR_PARAM;
    }

    /* A TLS server speaks only after our ClientHello: anything already
     * waiting was sent in the clear after the go-ahead (injection). */
    r = t->inner.recv(t->inner.ctx, &peek, 1, 0);
    if (r > 0) {
        text_set(t, "the server sent unencrypted data before the TLS handshake "
                    "(possible command injection, or not a TLS port)");
        return POSTIE_ERR_PROTOCOL;
    }
    if (r == 0) {
        t->peer_closed = 1;
        text_set(t, "connection closed before the TLS handshake");
        return POSTIE_ERR_CLOSED;
    }
    if (r != POSTIE_ERR_TIMEOUT && r != POSTIE_ERR_WOULD_BLOCK) {
        t->io_status = (int)r;
        text_set(t, "the connection failed before the TLS handshake: ");
        text_add(t, postie_strerror((postie_status)r));
        return (postie_status)r;
    }

    /* SNI and the name check; an IP literal is neither sent (RFC 6066) nor
     * checked by mbed TLS 2.28: verify_cb checks it. */
    if (t->name[0] != '\0' && t->ip_len == 0) {
        int rc = mbedtls_ssl_set_hostname(&t->ssl, t->name);
        if (rc != 0) {
            text_mbedtls(t, "cannot set the host name to verify", rc);
            return rc == MBEDTLS_ERR_SSL_ALLOC_FAILED ? POSTIE_ERR_NOMEM : POSTIE_ERR_TLS;
        }
    }

    timeout = t->opts.handshake_timeout_ms != 0 ? t->opts.handshake_timeout_ms
                                                : POSTIE_DEFAULT_TIMEOUT_MS;
    t->io_timeout_ms = timeout;
    if (t->opts.clock != NULL) {
        t->deadline = t->opts.clock(t->opts.clock_ctx) + timeout;
        t->use_deadline = 1;
    }
    return POSTIE_OK;
}

static postie_status hs_timed_out(postie_mbedtls *t)
{
    unsigned timeout = t->opts.handshake_timeout_ms != 0 ? t->opts.handshake_timeout_ms
                                                         : POSTIE_DEFAULT_TIMEOUT_MS;
    t->use_deadline = 0;
    text_set(t, "TLS handshake timed out after ");
    text_num(t, timeout);
    text_add(t, " ms");
    return POSTIE_ERR_TIMEOUT;
}

/* Runs mbedtls_ssl_handshake() until it ends. nonblock: when the inner
 * transport would block, returns POSTIE_AGAIN (mbed TLS keeps its state;
 * call again when bytes came or room freed), or POSTIE_ERR_TIMEOUT past the
 * deadline on opts.clock. Otherwise that ends the handshake with
 * POSTIE_ERR_TIMEOUT (the inner transport waited as long as it may). */
static postie_status hs_run(postie_mbedtls *t, int nonblock)
{
    int idle = 0;

    for (;;) {
        int rc;

        t->io_status = 0;
        rc = mbedtls_ssl_handshake(&t->ssl);
        if (rc == 0) {
            break;
        }
        if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
            int blocked = t->io_status == POSTIE_ERR_TIMEOUT ||
                          t->io_status == POSTIE_ERR_WOULD_BLOCK;
            if (nonblock && blocked) {
                if (t->use_deadline &&
                    (long)(t->deadline - t->opts.clock(t->opts.clock_ctx)) <= 0) {
                    return hs_timed_out(t);
                }
                return POSTIE_AGAIN;
            }
            if (blocked || ++idle > MAX_IDLE_ROUNDS) {
                return hs_timed_out(t);
            }
            continue;
        }
        t->use_deadline = 0;
        if (t->pin_failed) {
            return POSTIE_ERR_TLS_VERIFY; /* text set by verify_cb */
        }
        if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED ||
            (rc == MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE &&
             mbedtls_ssl_get_verify_result(&t->ssl) != 0 &&
             mbedtls_ssl_get_verify_result(&t->ssl) != (uint32_t)-1)) {
            describe_verify_error(t, mbedtls_ssl_get_verify_result(&t->ssl));
            return POSTIE_ERR_TLS_VERIFY;
        }
        if (t->io_status < 0 && t->io_status != POSTIE_ERR_CLOSED) {
            text_set(t, "TLS handshake failed: ");
            text_add(t, postie_strerror((postie_status)t->io_status));
            return (postie_status)t->io_status;
        }
        if (t->peer_closed || t->io_status == POSTIE_ERR_CLOSED || rc == MBEDTLS_ERR_SSL_CONN_EOF) {
            text_set(t, "the server closed the connection during the TLS handshake");
            return POSTIE_ERR_CLOSED;
        }
        if (rc == MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION) {
            text_set(t, "TLS handshake failed: the server offers no protocol version "
                        "from TLS 1.2 up");
            return POSTIE_ERR_TLS;
        }
        text_mbedtls(t, "TLS handshake failed", rc); /* alert, bad record, ... */
        return rc == MBEDTLS_ERR_SSL_ALLOC_FAILED ? POSTIE_ERR_NOMEM : POSTIE_ERR_TLS;
    }
    t->use_deadline = 0;
    return POSTIE_OK;
}

/* After a completed handshake: the pin once more, then TLS is on. */
static postie_status hs_finish(postie_mbedtls *t)
{
    /* The pin was checked inside the handshake (verify_cb); check again
     * that it ran on this server's certificate. */
    if (t->opts.pin_kind != POSTIE_MBEDTLS_PIN_NONE) {
        const unsigned char *got =
            t->opts.pin_kind == POSTIE_MBEDTLS_PIN_CERT ? t->peer_cert_pin : t->peer_spki_pin;
        if (!postie_ct_equal(got, t->opts.pin_sha256, POSTIE_SHA256_DIGEST_LEN)) {
            t->verify_reason = POSTIE_MBEDTLS_VERIFY_PIN_MISMATCH;
            text_set(t, "pin mismatch: the server certificate was not checked");
            return POSTIE_ERR_TLS_VERIFY;
        }
    }
    t->active = 1;
    return POSTIE_OK;
}

static postie_status handshake(postie_mbedtls *t, const char *server_name)
{
    postie_status st = hs_begin(t, server_name);

    if (st == POSTIE_OK) {
        st = hs_run(t, 0);
    }
    return st == POSTIE_OK ? hs_finish(t) : st;
}

/* The end of a handshake (st): where the text was set, and no plain text
 * ever after a failure. */
static postie_status hs_result(postie_mbedtls *t, postie_status st)
{
    t->error_stage = st != POSTIE_OK ? STAGE_HANDSHAKE : STAGE_IO;
    if (st != POSTIE_OK && st != POSTIE_ERR_STATE && st != POSTIE_ERR_PARAM) {
        t->failed = 1; /* never fall back to plain text */
    }
    return st;
}

postie_status postie_mbedtls_start(postie_mbedtls *t, const char *server_name)
{
    if (t == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (t->failed || t->hs_running) {
        text_set(t, t->failed ? "an earlier TLS failure made the connection unusable"
                              : "a non-blocking handshake is running");
        t->error_stage = STAGE_HANDSHAKE;
        return POSTIE_ERR_STATE;
    }
    t->verify_reason = POSTIE_MBEDTLS_VERIFY_NONE;
    return hs_result(t, handshake(t, server_name));
}

postie_status postie_mbedtls_start_nb(postie_mbedtls *t, const char *server_name)
{
    postie_status st;

    if (t == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (!t->hs_running) {
        if (t->failed) {
            text_set(t, "an earlier TLS failure made the connection unusable");
            t->error_stage = STAGE_HANDSHAKE;
            return POSTIE_ERR_STATE;
        }
        t->verify_reason = POSTIE_MBEDTLS_VERIFY_NONE;
        st = hs_begin(t, server_name);
        if (st != POSTIE_OK) {
            return hs_result(t, st);
        }
        t->hs_running = 1;
    }
    st = hs_run(t, 1);
    if (st == POSTIE_AGAIN) {
        return POSTIE_AGAIN;
    }
    t->hs_running = 0;
    st = hs_result(t, st == POSTIE_OK ? hs_finish(t) : st);
    if (st == POSTIE_OK) {
        t->error_text[0] = '\0'; /* a call refused meanwhile left its text */
    }
    return st;
}

/* ---- I/O -------------------------------------------------------------------- */

/* A failed inner call seen by mbed TLS (rc) after send/recv: the status for
 * the caller, with the text. */
static long io_failure(postie_mbedtls *t, const char *what, int rc)
{
    if (t->io_status < 0) {
        text_set(t, what);
        text_add(t, ": ");
        text_add(t, postie_strerror((postie_status)t->io_status));
        return t->io_status;
    }
    text_mbedtls(t, what, rc);
    return rc == MBEDTLS_ERR_SSL_ALLOC_FAILED ? POSTIE_ERR_NOMEM : POSTIE_ERR_TLS;
}

long postie_mbedtls_send(postie_mbedtls *t, const void *buf, size_t len, unsigned timeout_ms)
{
    int idle = 0;

    if (t == NULL || buf == NULL || len == 0) {
        return POSTIE_ERR_PARAM;
    }
    if (!t->open || t->failed || t->hs_running) {
        return POSTIE_ERR_STATE;
    }
    t->error_text[0] = '\0';
    t->error_stage = STAGE_IO;
    if (!t->active) {
        long n = t->inner.send(t->inner.ctx, buf, len, timeout_ms);
        return n == 0 ? POSTIE_ERR_IO : n;
    }
    if (len > INT_MAX) {
        len = INT_MAX;
    }
    t->io_timeout_ms = timeout_ms;
    for (;;) {
        int rc;
        t->io_status = 0;
        rc = mbedtls_ssl_write(&t->ssl, buf, len);
        if (rc > 0) {
            return rc;
        }
        if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
            if (t->io_status < 0) {
                return t->io_status; /* TIMEOUT or WOULD_BLOCK; call again with the same bytes */
            }
            if (++idle <= MAX_IDLE_ROUNDS) {
                continue;
            }
        }
        if (t->peer_closed || t->io_status == POSTIE_ERR_CLOSED ||
            rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || rc == MBEDTLS_ERR_SSL_CONN_EOF) {
            text_set(t, "TLS write failed: connection closed");
            return POSTIE_ERR_CLOSED;
        }
        return io_failure(t, "TLS write failed", rc);
    }
}

long postie_mbedtls_recv(postie_mbedtls *t, void *buf, size_t len, unsigned timeout_ms)
{
    int idle = 0;

    if (t == NULL || buf == NULL || len == 0) {
        return POSTIE_ERR_PARAM;
    }
    if (!t->open || t->failed || t->hs_running) {
        return POSTIE_ERR_STATE;
    }
    t->error_text[0] = '\0';
    t->error_stage = STAGE_IO;
    if (!t->active) {
        long n = t->inner.recv(t->inner.ctx, buf, len, timeout_ms);
        if (n == 0) {
            t->peer_closed = 1;
        }
        return n;
    }
    if (len > INT_MAX) {
        len = INT_MAX;
    }
    t->io_timeout_ms = timeout_ms;
    for (;;) {
        int rc;
        t->io_status = 0;
        rc = mbedtls_ssl_read(&t->ssl, buf, len);
        if (rc > 0) {
            return rc;
        }
        if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || rc == MBEDTLS_ERR_SSL_CONN_EOF) {
            /* close_notify, or the connection ended without one: reported
             * as a close; the POP3/SMTP framing notices a reply cut short */
            return 0;
        }
        if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
            if (t->io_status < 0) {
                return t->io_status;
            }
            if (++idle <= MAX_IDLE_ROUNDS) {
                continue; /* a record that carried no data (e.g. a session ticket) */
            }
        }
        if (t->peer_closed || t->io_status == POSTIE_ERR_CLOSED) {
            return 0; /* reset: as the OpenSSL transport */
        }
        return io_failure(t, "TLS read failed", rc);
    }
}

/* ---- accessors and the transport ------------------------------------------- */

const char *postie_mbedtls_error_text(const postie_mbedtls *t)
{
    return t != NULL ? t->error_text : "";
}

const char *postie_mbedtls_error_where(const postie_mbedtls *t)
{
    if (t == NULL || t->error_text[0] == '\0') {
        return "";
    }
    switch (t->error_stage) {
    case STAGE_SETUP:
        return "TLS set-up";
    case STAGE_HANDSHAKE:
        return "TLS handshake";
    default:
        return "TLS connection";
    }
}

postie_mbedtls_verify_reason postie_mbedtls_refusal_reason(const postie_mbedtls *t)
{
    return t != NULL ? (postie_mbedtls_verify_reason)t->verify_reason : POSTIE_MBEDTLS_VERIFY_NONE;
}

postie_status postie_mbedtls_peer_pin(const postie_mbedtls *t, postie_mbedtls_pin_kind kind,
                                      unsigned char out[POSTIE_SHA256_DIGEST_LEN])
{
    if (t == NULL || out == NULL ||
        (kind != POSTIE_MBEDTLS_PIN_CERT && kind != POSTIE_MBEDTLS_PIN_SPKI)) {
        return POSTIE_ERR_PARAM;
    }
    if (!t->open || !t->active) {
        return POSTIE_ERR_STATE;
    }
    memcpy(out, kind == POSTIE_MBEDTLS_PIN_CERT ? t->peer_cert_pin : t->peer_spki_pin,
           POSTIE_SHA256_DIGEST_LEN);
    return POSTIE_OK;
}

static long tr_send(void *ctx, const void *buf, size_t len, unsigned timeout_ms)
{
    return postie_mbedtls_send((postie_mbedtls *)ctx, buf, len, timeout_ms);
}

static long tr_recv(void *ctx, void *buf, size_t len, unsigned timeout_ms)
{
    return postie_mbedtls_recv((postie_mbedtls *)ctx, buf, len, timeout_ms);
}

static postie_status tr_start_tls(void *ctx, const char *server_name)
{
    return postie_mbedtls_start((postie_mbedtls *)ctx, server_name);
}

static void tr_close(void *ctx)
{
    postie_mbedtls_close((postie_mbedtls *)ctx);
}

void postie_mbedtls_transport(postie_mbedtls *t, postie_transport *tr)
{
    if (tr == NULL) {
        return;
    }
    tr->ctx = t;
    tr->send = tr_send;
    tr->recv = tr_recv;
    tr->start_tls = tr_start_tls;
    tr->close = tr_close;
}
