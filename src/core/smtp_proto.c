/* SMTP pieces with no I/O: reply parser, EHLO keywords, DATA encoder, checks. */
#include "postie/smtp_proto.h"
#include "postie/sasl.h"
#include "smtp_dot.h"

#include <string.h>

/* ------------------------------------------------------------------------ */
/* Replies                                                                  */

void postie_smtp_reply_init(postie_smtp_reply *r)
{
    if (r == NULL) {
        return;
    }
    r->code = 0;
    r->enhanced[0] = '\0';
    r->text[0] = '\0';
    r->text_len = 0;
    r->lines = 0;
    r->done = 0;
    r->truncated = 0;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Length of an RFC 3463 code "c.s.d" at the start of t[0..n) whose class is
 * cls (subject and detail 1 to 3 digits each), followed by a space or the
 * end; 0 when there is none. */
static size_t enhanced_len(const char *t, size_t n, char cls)
{
    size_t i;
    unsigned digits = 0, dot = 0;

    if (n < 5 || t[0] != cls || t[1] != '.') {
        return 0;
    }
    for (i = 2; i < n && t[i] != ' '; i++) {
        if (is_digit(t[i]) && digits < 3) {
            digits++;
        } else if (t[i] == '.' && digits > 0 && !dot) {
            dot = 1;
            digits = 0;
        } else {
            return 0;
        }
    }
    return dot && digits > 0 ? i : 0;
}

/* Appends to r->text a '\n' (for a line after the first), then t[0..n),
 * as far as it fits (truncated = 1 for what does not). */
static void text_append(postie_smtp_reply *r, const char *t, size_t n)
{
    size_t i;

    for (i = r->lines > 1 ? 0 : 1; i <= n; i++) {
        char c = i > 0 ? t[i - 1] : '\n';
        if ((size_t)r->text_len + 1 >= sizeof r->text) {
            r->truncated = 1;
            break;
        }
        /* A NUL from the server would cut the C string short: keep text a
         * string of text_len bytes by writing '?' for it. */
        r->text[r->text_len++] = c == '\0' ? '?' : c;
    }
    r->text[r->text_len] = '\0';
}

static unsigned ehlo_line(postie_smtp_ext *e, const char *text, size_t len);

/* postie_smtp_reply_line(); with ext non-NULL, the text of a line after
 * the first of a 250 reply is parsed as an EHLO extension into ext. */
static postie_status reply_line(postie_smtp_reply *r, const char *line, size_t len,
                                postie_smtp_ext *ext)
{
    int code;
    const char *t;
    size_t tn, el;

    if (r->done) {
        postie_smtp_reply_init(r);
    }
    /* 2-5, 0-5, 0-9 (RFC 5321 sec. 4.2), then a space, a '-' or the end
     * (not a fourth digit, nor anything else) */
    if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' ||
        !is_digit(line[2]) || (len > 3 && line[3] != ' ' && line[3] != '-')) {
        return POSTIE_ERR_PROTOCOL;
    }
    code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (r->lines > 0 && code != r->code) {
        return POSTIE_ERR_PROTOCOL;
    }
    r->code = (short)code;
    if (r->lines < 255) {
        r->lines++;
    }
    tn = len > 4 ? 4 : len; /* the code and its separator */
    t = line + tn;
    tn = len - tn;
    el = enhanced_len(t, tn, line[0]);
    if (el > 0) {
        if (r->lines == 1) {
            memcpy(r->enhanced, t, el);
            r->enhanced[el] = '\0';
        }
        t += el;
        tn -= el;
        if (tn > 0) { /* the space after the code */
            t++;
            tn--;
        }
    }
    if (ext != NULL && r->lines > 1 && code == 250) {
        (void)ehlo_line(ext, t, tn);
    }
    text_append(r, t, tn);
    if (len > 3 && line[3] == '-') {
        return POSTIE_OK;
    }
    r->done = 1;
    return POSTIE_DONE;
}

postie_status postie_smtp_reply_line(postie_smtp_reply *r, const char *line, size_t len)
{
    if (r == NULL || (line == NULL && len > 0)) {
        return POSTIE_ERR_PARAM;
    }
    return reply_line(r, line, len, NULL);
}

postie_status postie_smtp_reply_read(postie_smtp_reply *r, postie_conn *c, postie_smtp_ext *ext)
{
    for (;;) {
        postie_status st = postie_conn_line(c);
        if (st != POSTIE_DONE) {
            return st; /* AGAIN, or what ended the connection */
        }
        st = reply_line(r, c->line.buf, c->line.len, ext);
        if (st != POSTIE_OK) {
            return st; /* DONE, or a malformed line */
        }
    }
}

postie_status postie_smtp_code_status(int code)
{
    if (code >= 200 && code < 400) {
        return POSTIE_OK;
    }
    if (code >= 400 && code < 500) {
        return POSTIE_ERR_TRANSIENT;
    }
    if (code >= 500 && code < 600) {
        return POSTIE_ERR_SERVER;
    }
    return POSTIE_ERR_PROTOCOL;
}

/* ------------------------------------------------------------------------ */
/* EHLO extensions                                                          */

void postie_smtp_ext_init(postie_smtp_ext *e)
{
    if (e == NULL) {
        return;
    }
    e->flags = 0;
    e->size_max = 0;
    e->auth = 0;
    e->auth_names[0] = '\0';
}

static char upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static int word_is(const char *w, size_t n, const char *kw)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (kw[i] == '\0' || upper(w[i]) != kw[i]) {
            return 0;
        }
    }
    return kw[n] == '\0';
}

/* Records the AUTH mechanisms of p[0..n) (space separated). */
static void ehlo_auth(postie_smtp_ext *e, const char *p, size_t n)
{
    size_t o = strlen(e->auth_names);

    while (n > 0) {
        size_t wl = 0;
        if (*p == ' ') {
            p++;
            n--;
            continue;
        }
        while (wl < n && p[wl] != ' ') {
            wl++;
        }
        e->auth |= (unsigned)postie_sasl_mech_from_name(p, wl);
        if (o + (o != 0) + wl < sizeof e->auth_names) { /* whole names only */
            if (o) {
                e->auth_names[o++] = ' ';
            }
            memcpy(e->auth_names + o, p, wl);
            o += wl;
            e->auth_names[o] = '\0';
        }
        p += wl;
        n -= wl;
    }
}

/* The EHLO keywords, in the order of their POSTIE_SMTP_EXT_* bits. */
static const char ehlo_keywords[] = "SIZE\0PIPELINING\0008BITMIME\0SMTPUTF8\0ENHANCEDSTATUSCODES\0"
                                    "AUTH\0STARTTLS\0CHUNKING\0DSN\0BINARYMIME\0";
typedef char postie_ehlo_bits_in_order[(POSTIE_SMTP_EXT_SIZE == 1u << 0 &&
                                        POSTIE_SMTP_EXT_AUTH == 1u << 5 &&
                                        POSTIE_SMTP_EXT_BINARYMIME == 1u << 9) ? 1 : -1];

/* postie_smtp_ehlo_line() of valid arguments (reply_line() calls it). */
static unsigned ehlo_line(postie_smtp_ext *e, const char *text, size_t len)
{
    size_t kl = 0, i;
    const char *args;
    size_t an;
    unsigned bit = 0;

    while (kl < len && text[kl] != ' ' && text[kl] != '=') {
        kl++;
    }
    args = text + kl;
    an = len - kl;
    if (an > 0) { /* skip the separator */
        args++;
        an--;
    }
    {
        const char *kw = ehlo_keywords;
        for (i = 0; *kw != '\0'; i++) {
            if (word_is(text, kl, kw)) {
                bit = 1u << i; /* the POSTIE_SMTP_EXT_* bits are in the list's order */
                break;
            }
            while (*kw++ != '\0') {
            }
        }
    }
    if (bit == POSTIE_SMTP_EXT_SIZE) {
        unsigned long v = 0; /* also for no argument */
        for (i = 0; i < an && args[i] != ' '; i++) {
            unsigned d = (unsigned)(args[i] - '0');
            if (d > 9 || v > (~0ul - d) / 10) {
                v = 0; /* not a number, or too big */
                break;
            }
            v = v * 10 + d;
        }
        e->size_max = v;
    } else if (bit == POSTIE_SMTP_EXT_AUTH) {
        ehlo_auth(e, args, an);
    }
    e->flags |= bit;
    return bit;
}

unsigned postie_smtp_ehlo_line(postie_smtp_ext *e, const char *text, size_t len)
{
    if (e == NULL || (text == NULL && len > 0)) {
        return 0;
    }
    return ehlo_line(e, text, len);
}

/* ------------------------------------------------------------------------ */
/* DATA encoder                                                             */

enum { DOT_BOL = 0, DOT_AFTER_CR = 1, DOT_MID = 2 };
/* the session starts its encoder with a memset (smtp_session.c, DOT_RESET) */
typedef char postie_dot_bol_is_zero[DOT_BOL == 0 ? 1 : -1];

void postie_smtp_dot_init(postie_smtp_dot *d)
{
    if (d == NULL) {
        return;
    }
    d->state = DOT_BOL;
    d->raw = 0;
    d->saw_8bit = 0;
    d->in_bytes = 0;
    d->out_bytes = 0;
}

/* The stuffing loop, which the public postie_smtp_dot_feed() runs behind
 * its checks and the session through postie_smtp_dot_run() (smtp_dot.h):
 * inline, so that the public call does not pay a second call per piece. */
static inline void dot_run(postie_smtp_dot *d, const char *in, size_t n, size_t *consumed,
                           char *out, size_t cap, size_t *produced)
{
    size_t i = 0, o = 0;
    unsigned char st = d->state;

    while (i < n && cap - o >= 2) {
        char c = in[i++];
        if (c == '\r') {
            /* A CR always ends the line; an LF right after it is swallowed. */
            out[o++] = '\r';
            out[o++] = '\n';
            st = DOT_AFTER_CR;
        } else if (c == '\n') {
            if (st != DOT_AFTER_CR) {
                out[o++] = '\r';
                out[o++] = '\n';
            }
            st = DOT_BOL;
        } else {
            if (c == '.' && st != DOT_MID && !d->raw) {
                out[o++] = '.';
            }
            if ((unsigned char)c >= 0x80) {
                d->saw_8bit = 1;
            }
            out[o++] = c;
            st = DOT_MID;
        }
    }
    d->state = st;
    d->in_bytes += i;
    d->out_bytes += o;
    *consumed = i;
    *produced = o;
}

postie_status postie_smtp_dot_feed(postie_smtp_dot *d, const char *in, size_t n,
                                   size_t *consumed, char *out, size_t cap, size_t *produced)
{
    if (d == NULL || consumed == NULL || produced == NULL || (in == NULL && n > 0) ||
        (out == NULL && cap > 0)) {
        return POSTIE_ERR_PARAM;
    }
    dot_run(d, in, n, consumed, out, cap, produced);
    return POSTIE_OK;
}

void postie_smtp_dot_run(postie_smtp_dot *d, const char *in, size_t n, size_t *consumed,
                         char *out, size_t cap, size_t *produced)
{
    dot_run(d, in, n, consumed, out, cap, produced);
}

int postie_smtp_needs_binary(const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    size_t i, line = 0;

    for (i = 0; i < n; i++) {
        if (b[i] == 0) {
            return 1;
        }
        if (b[i] == '\r' || b[i] == '\n') {
            line = 0;
        } else if (++line > 998) {
            return 1;
        }
    }
    return 0;
}

unsigned long long postie_smtp_wire_size(const char *p, size_t n)
{
    unsigned long long sz = 0;
    size_t i;
    int at_eol = 1;

    for (i = 0; i < n; i++) {
        size_t e = postie_smtp_content_eol(p + i, n - i);
        if (e > 0) {
            sz += 2;
            i += e - 1;
            at_eol = 1;
        } else {
            sz++;
            at_eol = 0;
        }
    }
    return at_eol ? sz : sz + 2;
}

size_t postie_smtp_content_eol(const char *p, size_t n)
{
    if (p == NULL || n == 0) {
        return 0;
    }
    if (p[0] == '\r') {
        return (n > 1 && p[1] == '\n') ? 2 : 1;
    }
    return p[0] == '\n' ? 1 : 0;
}

size_t postie_smtp_dot_end(postie_smtp_dot *d, char *out)
{
    size_t o = 0;

    if (d->state == DOT_MID) {
        out[o++] = '\r';
        out[o++] = '\n';
    }
    if (!d->raw) {
        memcpy(out + o, ".\r\n", 3);
        o += 3;
    }
    d->state = DOT_BOL;
    d->out_bytes += o;
    return o;
}

postie_status postie_smtp_dot_finish(postie_smtp_dot *d, char *out, size_t cap, size_t *produced)
{
    if (d == NULL || out == NULL || produced == NULL) {
        return POSTIE_ERR_PARAM;
    }
    *produced = 0;
    if (cap < POSTIE_SMTP_DOT_FINISH_MAX) {
        return POSTIE_ERR_BUFFER;
    }
    *produced = postie_smtp_dot_end(d, out);
    return POSTIE_OK;
}

/* ------------------------------------------------------------------------ */
/* Checks                                                                   */

int postie_smtp_arg_ok(const char *s)
{
    if (s == NULL) {
        return 0;
    }
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '<' || c == '>' || c == 0x7f || (c < 0x20 && c != '\t')) {
            return 0;
        }
    }
    return 1;
}

int postie_smtp_domain_ok(const char *s)
{
    size_t n, i;

    if (s == NULL) {
        return 0;
    }
    n = strlen(s);
    if (n == 0 || n >= POSTIE_SMTP_DOMAIN_MAX) {
        return 0;
    }
    if (s[0] == '[') {
        if (n < 3 || s[n - 1] != ']') {
            return 0;
        }
        for (i = 1; i + 1 < n; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c <= 0x20 || c >= 0x7f || c == '[' || c == ']' || c == '\\') {
                return 0;
            }
        }
        return 1;
    }
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' ||
              c == '.')) {
            return 0;
        }
    }
    return 1;
}

static int is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

postie_status postie_smtp_address_literal(const char *ip, char *out, size_t cap)
{
    size_t n, i, need;
    int v6 = 0;

    if (ip == NULL || out == NULL) {
        return POSTIE_ERR_PARAM;
    }
    n = strlen(ip);
    if (n == 0 || n > 45) {
        return POSTIE_ERR_PARAM;
    }
    for (i = 0; i < n; i++) {
        if (ip[i] == ':') {
            v6 = 1;
        } else if (!(is_hex(ip[i]) || ip[i] == '.')) {
            return POSTIE_ERR_PARAM;
        }
    }
    if (!v6) {
        for (i = 0; i < n; i++) {
            if (!(is_digit(ip[i]) || ip[i] == '.')) {
                return POSTIE_ERR_PARAM;
            }
        }
    }
    need = n + 2 + (v6 ? 5 : 0) + 1;
    if (cap < need) {
        return POSTIE_ERR_BUFFER;
    }
    i = 0;
    out[i++] = '[';
    if (v6) {
        memcpy(out + i, "IPv6:", 5);
        i += 5;
    }
    memcpy(out + i, ip, n);
    i += n;
    out[i++] = ']';
    out[i] = '\0';
    return POSTIE_OK;
}

int postie_smtp_has_8bit(const void *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i;

    if (p == NULL) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (p[i] >= 0x80) {
            return 1;
        }
    }
    return 0;
}
