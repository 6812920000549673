/*
 * POP3 pieces with no I/O (RFC 1939, RFC 2449): status-line classifier,
 * multi-line body decoder, listing-line helper, and the parsers for STAT,
 * LIST, UIDL, CAPA and the greeting's APOP timestamp.
 */
#include "postie/pop3_proto.h"
#include "postie/md5.h"
#include "postie/postie_config_defaults.h"
#include "pop3_session.h"

#include <limits.h>
#include <string.h>

/* ---- status lines ------------------------------------------------------ */

postie_pop3_reply_kind postie_pop3_classify(const char *line, size_t len, const char **text)
{
    /* the indicators in the order of their kinds; "+OK" before "+" */
    static const char ind[][5] = {"+OK", "-ERR", "+"};
    size_t k;

    if (text != NULL) {
        *text = NULL;
    }
    if (line == NULL) {
        return POSTIE_POP3_REPLY_INVALID;
    }
    for (k = 0; k < sizeof ind / sizeof ind[0]; k++) {
        size_t skip = strlen(ind[k]);
        if (len >= skip && memcmp(line, ind[k], skip) == 0) {
            /* The indicator must stand alone: "+OKAY" or "-ERROR" is not a
             * status, nor is "+x" a continuation. */
            if (len > skip) {
                if (line[skip] != ' ') {
                    return POSTIE_POP3_REPLY_INVALID;
                }
                skip++; /* the one space after the indicator */
            }
            if (text != NULL) {
                *text = line + skip;
            }
            return (postie_pop3_reply_kind)(k + POSTIE_POP3_REPLY_OK);
        }
    }
    return POSTIE_POP3_REPLY_INVALID;
}

/* ---- multi-line body decoder ------------------------------------------- */

enum {
    BODY_LINE_START = 0, /* next byte starts a line (after CRLF, or the body's first) */
    BODY_MID,            /* inside a line */
    BODY_MID_CR,         /* inside a line, the last byte handed out was a CR */
    BODY_DOT,            /* a line started with '.', which was dropped */
    BODY_DOT_CR,         /* ".\r" at the start of a line, the CR held back */
    BODY_DONE            /* the terminating line was consumed */
};

void postie_pop3_body_init(postie_pop3_body *b)
{
    if (b == NULL) {
        return;
    }
    b->state = BODY_LINE_START;
}

/* Only CRLF ends a line: a CR moves to BODY_MID_CR, and only an LF right after
 * it starts a new line. A bare LF or a lone CR is a data byte inside a line,
 * so a '.' after it is data too, and "\n.\n" or "\n.\r\n" never ends the body.
 * check: the public call's argument checks (the session's call has none). */
/* inlined into both callers: gcc -Os would otherwise keep one copy with
 * check as an argument (and the session's call would pass eight); at -O2
 * and -O3 gcc inlines it by itself, into the same code as before */
#if defined(__GNUC__) && defined(__OPTIMIZE_SIZE__)
#define BODY_INLINE inline __attribute__((always_inline))
#else
#define BODY_INLINE inline
#endif
static BODY_INLINE postie_status body_feed(int check, postie_pop3_body *b, const char *in, size_t n,
                                      size_t *consumed, char *out, size_t cap, size_t *produced)
{
    size_t i = 0, o = 0;

    if (check) {
        if (consumed != NULL) {
            *consumed = 0;
        }
        if (produced != NULL) {
            *produced = 0;
        }
        if (b == NULL || consumed == NULL || produced == NULL || (in == NULL && n > 0) ||
            (out == NULL && cap > 0)) {
            return POSTIE_ERR_PARAM;
        }
    }
    while (b->state != BODY_DONE) {
        char c;
        if (b->state == BODY_DOT_CR && i < n && in[i] != '\n') {
            /* ".\r" then not LF: the line was ".\r...", un-stuffed to "\r...".
             * Hand out the CR (consumed earlier) and look at in[i] again. */
            if (o >= cap) {
                break;
            }
            out[o++] = '\r';
            b->state = BODY_MID_CR;
            continue;
        }
        if (i >= n) {
            break;
        }
        c = in[i];
        switch (b->state) {
        case BODY_LINE_START:
            if (c == '.') {
                b->state = BODY_DOT;
                i++;
                continue;
            }
            break;
        case BODY_DOT:
            if (c == '\r') {
                b->state = BODY_DOT_CR;
                i++;
                continue;
            }
            /* a stuffed line: the dot is gone, c is data (a bare LF too:
             * ".\n" is not the end, only "." CRLF is) */
            b->state = BODY_MID;
            break;
        case BODY_DOT_CR: /* c == '\n' here: "." CRLF */
            b->state = BODY_DONE;
            i++;
            continue;
        default:
            break;
        }
        /* c is data */
        if (o >= cap) {
            break;
        }
        out[o++] = c;
        i++;
        if (c == '\r') {
            b->state = BODY_MID_CR;
        } else if (c == '\n' && b->state == BODY_MID_CR) {
            b->state = BODY_LINE_START;
        } else {
            b->state = BODY_MID;
        }
    }
    *consumed = i;
    *produced = o;
    return b->state == BODY_DONE ? POSTIE_DONE : POSTIE_OK;
}

postie_status postie_pop3_body_feed(postie_pop3_body *b, const char *in, size_t n,
                                    size_t *consumed, char *out, size_t cap, size_t *produced)
{
    return body_feed(1, b, in, n, consumed, out, cap, produced);
}

postie_status postie_pop3_body_run(postie_pop3_body *b, const char *in, size_t n,
                                   size_t *consumed, char *out, size_t cap, size_t *produced)
{
    return body_feed(0, b, in, n, consumed, out, cap, produced);
}

int postie_pop3_listing_line(char *line, size_t *len)
{
    if (line == NULL || len == NULL || *len == 0 || line[0] != '.') {
        return 0;
    }
    if (*len == 1) {
        return 1;
    }
    memmove(line, line + 1, *len - 1);
    (*len)--;
    line[*len] = '\0';
    return 0;
}

/* ---- parsers ----------------------------------------------------------- */

/* Decimal digits at s (no sign, no overflow of unsigned long) that end at
 * the end of the text or at a space: their value into *v (untouched when
 * not) and the end of them, or NULL. */
const char *postie_pop3_number(const char *s, unsigned long *v)
{
    unsigned long x = 0;
    const char *p = s;

    while (*p >= '0' && *p <= '9') {
        unsigned d = (unsigned)(*p - '0');
        if (x > (ULONG_MAX - d) / 10) {
            return NULL;
        }
        x = x * 10 + d;
        p++;
    }
    if (p == s || (*p != '\0' && *p != ' ')) {
        return NULL;
    }
    *v = x;
    return p;
}

postie_status postie_pop3_parse_num_pair(const char *text, unsigned long *a, unsigned long *b)
{
    const char *p;
    unsigned long x, y;

    if (text == NULL || (p = postie_pop3_number(text, &x)) == NULL || *p != ' ') {
        return POSTIE_ERR_PROTOCOL;
    }
    while (*p == ' ') {
        p++;
    }
    /* RFC 1939 sec. 5 (STAT): anything may follow the size after a space. */
    if (postie_pop3_number(p, &y) == NULL) {
        return POSTIE_ERR_PROTOCOL;
    }
    if (a != NULL) {
        *a = x;
    }
    if (b != NULL) {
        *b = y;
    }
    return POSTIE_OK;
}

postie_status postie_pop3_parse_uidl(const char *text, unsigned long *msg, char *uid, size_t cap)
{
    const char *p, *u;
    unsigned long x;
    size_t len;

    if (text == NULL || (p = postie_pop3_number(text, &x)) == NULL || *p != ' ') {
        return POSTIE_ERR_PROTOCOL;
    }
    while (*p == ' ') {
        p++;
    }
    u = p;
    while (*p >= 0x21 && *p <= 0x7e) {
        p++;
    }
    len = (size_t)(p - u);
    while (*p == ' ') { /* tolerate trailing spaces */
        p++;
    }
    if (len < 1 || len > POSTIE_POP3_UID_MAX - 1 || *p != '\0') {
        return POSTIE_ERR_PROTOCOL;
    }
    if (msg != NULL) {
        *msg = x;
    }
    if (uid == NULL || cap < len + 1) {
        return POSTIE_ERR_BUFFER;
    }
    memcpy(uid, u, len);
    uid[len] = '\0';
    return POSTIE_OK;
}

int postie_pop3_parse_timestamp(const char *text, char *ts, size_t cap)
{
    const char *lt, *p;
    size_t len;

    if (ts != NULL && cap > 0) {
        ts[0] = '\0';
    }
    if (text == NULL || ts == NULL || cap == 0) {
        return 0;
    }
    lt = strchr(text, '<');
    if (lt == NULL) {
        return 0;
    }
    for (p = lt + 1; *p != '>'; p++) {
        /* msg-id syntax: printable, no space, no nested '<' */
        if (*p < 0x21 || *p > 0x7e || *p == '<') {
            return 0;
        }
    }
    len = (size_t)(p - lt) + 1;
    if (len < 3 || len + 1 > cap) {
        return 0;
    }
    memcpy(ts, lt, len);
    ts[len] = '\0';
    return 1;
}

static int ascii_upper(int c)
{
    return (c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c;
}

/* keyword of len bytes equals upper-case name, ignoring case */
static int keyword_is(const char *kw, size_t len, const char *name)
{
    size_t i;
    if (strlen(name) != len) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (ascii_upper((unsigned char)kw[i]) != name[i]) {
            return 0;
        }
    }
    return 1;
}

static void copy_mechs(const char *p, char *sasl, size_t cap)
{
    size_t o = 0;

    if (sasl == NULL || cap == 0) {
        return;
    }
    sasl[0] = '\0';
    for (;;) {
        const char *m;
        size_t len, need, i;
        int ok = 1;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        m = p;
        while (*p != '\0' && *p != ' ' && *p != '\t') {
            if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e) {
                ok = 0;
            }
            p++;
        }
        len = (size_t)(p - m);
        if (!ok) {
            continue; /* never keep control bytes: a mechanism goes on the wire */
        }
        need = len + (o > 0 ? 1 : 0);
        if (o + need + 1 > cap) {
            break; /* truncate at a mechanism boundary */
        }
        if (o > 0) {
            sasl[o++] = ' ';
        }
        for (i = 0; i < len; i++) {
            sasl[o++] = (char)ascii_upper((unsigned char)m[i]);
        }
        sasl[o] = '\0';
    }
}

/* the CAPA names below are in the order of their bits */
typedef char postie_capa_bits_in_order[(POSTIE_POP3_CAP_TOP == 1u << 1 && POSTIE_POP3_CAP_SASL == 1u << 4 &&
                                        POSTIE_POP3_CAP_PIPELINING == 1u << 6 &&
                                        POSTIE_POP3_CAP_LOGIN_DELAY == 1u << 11) ? 1 : -1];

unsigned postie_pop3_parse_capa_line(const char *line, char *sasl, size_t cap)
{
    /* names held in arrays, not pointers: the table stays in read-only data
     * even in position-independent builds (no relocated .data.rel.ro). The
     * name at index i is the capability POSTIE_POP3_CAP_* bit i + 1 (TOP is
     * 0x0002 ... LOGIN-DELAY 0x0800, pop3_proto.h): no bit stored per name. */
    static const char caps[][15] = {
        "TOP", "UIDL", "USER", "SASL", "STLS", "PIPELINING", "RESP-CODES",
        "AUTH-RESP-CODE", "UTF8", "EXPIRE", "LOGIN-DELAY",
    };
    const char *p;
    size_t len, i;

    if (line == NULL) {
        return 0;
    }
    p = line;
    while (*p != '\0' && *p != ' ' && *p != '\t') {
        p++;
    }
    len = (size_t)(p - line);
    for (i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        if (keyword_is(line, len, caps[i])) {
            unsigned bit = 1u << (i + 1);
            if (bit == POSTIE_POP3_CAP_SASL) {
                copy_mechs(p, sasl, cap);
            }
            return bit;
        }
    }
    return 0;
}

void postie_pop3_apop_digest(const char *timestamp, const char *secret, char hex[33])
{
    postie_md5_ctx md5;
    unsigned char digest[POSTIE_MD5_DIGEST_LEN];

    if (hex == NULL) {
        return;
    }
    postie_md5_init(&md5);
    if (timestamp != NULL) {
        postie_md5_update(&md5, timestamp, strlen(timestamp));
    }
    if (secret != NULL) {
        postie_md5_update(&md5, secret, strlen(secret));
    }
    postie_md5_final(&md5, digest);
    postie_hex_lower(digest, sizeof digest, hex);
}
