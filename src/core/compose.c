/*
 * RFC 5322 / MIME message composer: a state machine that stages one small
 * unit of output at a time (a header token, a few lines of an encoded body)
 * in c->out and hands it out in pieces of whatever size the caller asks for.
 * See include/postie/compose.h and docs/compose.md.
 */
#include "postie/compose.h"
#include "decimal.h"

#include <stddef.h>
#include <string.h>

#if POSTIE_WITH_COMPOSE

#define FOLD_AT 76          /* header lines are folded to at most this many chars */
#define EWORD_MAX 75        /* RFC 2047 sec. 2: an encoded-word is <= 75 chars     */
#define EWORD_OVERHEAD 12   /* "=?UTF-8?B?" + "?="                                 */
#define QP_MAX 75           /* QP chars before a soft break ("=" makes it 76)      */
#define B64_LINE 76         /* base64 characters a line (RFC 2045 sec. 6.8)        */
#define LINE_OCTETS_MAX 998 /* RFC 5322 sec. 2.1.1 / RFC 5321 sec. 4.5.3.1.6       */
#define WORD_MAX_TEXT 73    /* longest plain word of a subject or display name     */
#define WORD_MAX_EXTRA 300  /* longest plain word of a caller header value         */
#define WSP_RUN_MAX 32      /* longest run of spaces/tabs kept as-is               */
#define CTYPE_MAX 200       /* longest attachment content type                     */
#define MAGIC 0x00c300c3u  /* "begun"; no memset fill (one byte repeated) makes it, and Thumb-2 encodes it as an immediate */

/* The stages in their order (the attachments' come after the body's end and
 * go back to ST_DONE). */
enum stage {
    ST_DATE, ST_FROM, ST_REPLYTO, ST_TO, ST_CC, ST_SUBJECT, ST_MSGID, ST_PRIO,
#if POSTIE_WITH_COMPOSE_HEADERS
    ST_EXTRA,
#endif
    ST_MIME, ST_BODY, ST_DONE
#if POSTIE_WITH_COMPOSE_MIME
    , ST_ATT_HDR, ST_ATT_FNAME, ST_ATT_HDR2, ST_ATT_BODY, ST_CLOSE
#endif
};

enum cte { CTE_7BIT, CTE_8BIT, CTE_QP };
/* produce() finds the priority's values by priority >> 2 */
typedef char prio_shift[POSTIE_COMPOSE_PRIORITY_HIGH >> 2 == 0 &&
                        POSTIE_COMPOSE_PRIORITY_LOW >> 2 == 1 ? 1 : -1];
enum wmode { WM_ATOMS, WM_QUOTED, WM_EWORD };

/* b's two hexadecimal digits (upper case) at p; p after them. From a table
 * where quoted-printable or attachments use it for every byte they encode;
 * computed where only the Message-ID does. */
#if POSTIE_WITH_QP || POSTIE_WITH_COMPOSE_MIME
static const char hexdig[] = "0123456789ABCDEF";

static char *hex_byte(char *p, unsigned b)
{
    p[0] = hexdig[b >> 4];
    p[1] = hexdig[b & 15];
    return p + 2;
}
#else
static char *hex_byte(char *p, unsigned b)
{
    int k;
    for (k = 4; k >= 0; k -= 4) {
        unsigned d = b >> k & 15;
        *p++ = (char)(d < 10 ? '0' + d : 'A' - 10 + d);
    }
    return p;
}
#endif

/* ---- character classes --------------------------------------------------- */

/* atext (RFC 5322 sec. 3.2.3): letters, digits and !#$%&'*+-/=?^_`{|}~, as
 * a bitmap of the ASCII codes */
static const unsigned char atext_map[16] = {
    0x00, 0x00, 0x00, 0x00, 0xfa, 0xac, 0xff, 0xa3, 0xfe, 0xff, 0xff, 0xc7, 0xff, 0xff, 0xff, 0x7f
};

static int is_atext(unsigned char ch)
{
    return ch < 128 && (atext_map[ch >> 3] >> (ch & 7) & 1) != 0;
}

#if POSTIE_WITH_COMPOSE_RICH_HEADERS || POSTIE_WITH_COMPOSE_MIME
static int is_wsp(unsigned char ch)
{
    return ch == ' ' || ch == '\t';
}
#endif

/* RFC 2231 attribute-char: CHAR except SPACE, CTLs, "*", "'", "%", tspecials. */
#if POSTIE_WITH_COMPOSE_MIME
static int is_attr_char(unsigned char ch)
{
    if (ch <= 32 || ch >= 127) {
        return 0;
    }
    return strchr("*'%()<>@,;:\\\"/[]?=", ch) == NULL;
}

#endif

#define BAD ((size_t)-1)

/* The length of s when it can go into a header: no CR or LF (NUL ends it),
 * at most max octets, and strict UTF-8 (RFC 3629: no overlongs, no
 * surrogates, nothing past U+10FFFF); BAD otherwise. */
static size_t text_len(const char *str, size_t max)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i, need = 0;
    unsigned lo = 0x80, hi = 0xBF; /* the range of the next continuation byte */
    for (i = 0; s[i] != '\0'; i++) {
        unsigned b = s[i];
        if (i >= max) {
            return BAD;
        }
        if (need > 0) {
            if (b < lo || b > hi) {
                return BAD;
            }
            need--;
            lo = 0x80;
            hi = 0xBF;
        } else if (b >= 0x80) {
            if (b < 0xC2 || b > 0xF4) {
                return BAD;
            }
            need = 1 + (b >= 0xE0) + (b >= 0xF0);
            if (b == 0xE0) {
                lo = 0xA0;
            } else if (b == 0xF0) {
                lo = 0x90;
            } else if (b == 0xED) {
                hi = 0x9F;
            } else if (b == 0xF4) {
                hi = 0x8F;
            }
        } else if (b == '\r' || b == '\n') {
            return BAD;
        }
    }
    return need > 0 ? BAD : i;
}

/* Length of the (valid) UTF-8 character starting with lead byte b. */
#if POSTIE_WITH_ENCODED_WORDS
static size_t utf8_len(unsigned char b)
{
    if (b < 0x80) {
        return 1;
    }
    if (b < 0xE0) {
        return 2;
    }
    if (b < 0xF0) {
        return 3;
    }
    return 4;
}
#endif

#if POSTIE_WITH_COMPOSE_HEADERS
static int lower(int ch)
{
    return (ch >= 'A' && ch <= 'Z') ? ch - 'A' + 'a' : ch;
}

static int ieq(const char *a, const char *b)
{
    while (*a != '\0' && *b != '\0') {
        if (lower((unsigned char)*a) != lower((unsigned char)*b)) {
            return 0;
        }
        a++;
        b++;
    }
    return *a == *b;
}

static int iprefix(const char *s, const char *prefix)
{
    while (*prefix != '\0') {
        if (lower((unsigned char)*s) != lower((unsigned char)*prefix)) {
            return 0;
        }
        s++;
        prefix++;
    }
    return 1;
}
#endif

/* ---- checks done by postie_compose_begin() -------------------------------- */

/* An addr-spec as compose.h describes it (addr 1), or a dot-atom-text of 1
 * to 253 octets (RFC 5322 sec. 3.2.3; addr 0). */
static int atoms_ok(const char *s, int addr)
{
    size_t i, at = 0; /* 1 + the position of the '@', 0 before it */
    if (s == NULL) {
        return 0;
    }
    for (i = 0; s[i] != '\0'; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (i >= (addr ? POSTIE_COMPOSE_ADDRESS_MAX : 253)) {
            return 0;
        }
        if (ch == '@' && addr) {
            if (at != 0) {
                return 0; /* a second '@' */
            }
            at = i + 1;
        } else if (ch == '.') {
            if (!addr && (i == 0 || s[i + 1] == '.' || s[i + 1] == '\0')) {
                return 0;
            }
        } else if (!is_atext(ch) && !(at != 0 && (ch == '[' || ch == ']' || ch == ':'))) {
            return 0; /* (address literals: after the '@' of an address) */
        }
    }
    return addr ? at > 1 && at != i : i > 0; /* the '@' neither first nor last */
}

#if POSTIE_WITH_COMPOSE_RICH_HEADERS
/* Decides how a header text (display name, subject, caller header value) is
 * written: as plain words (atoms), as a quoted string (display names with
 * specials), or as encoded-words (non-ASCII, controls, "=?" that a reader
 * would take for an encoded-word, leading/trailing or long runs of
 * whitespace, a word too long for a line). Also validates it. */
static postie_status classify(const char *s, int phrase, size_t word_max, int *mode)
{
    size_t n = text_len(s, POSTIE_COMPOSE_VALUE_MAX), i, w = 0, run = 0;
    int need_quote = 0, enc = 0;
    if (n == BAD) {
        return POSTIE_ERR_PARAM;
    }
    if (n > 0 && (is_wsp((unsigned char)s[0]) || is_wsp((unsigned char)s[n - 1]))) {
        enc = 1;
    }
    for (i = 0; i < n && !enc; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x80 || (ch < 32 && ch != '\t') || ch == 0x7F) {
            enc = 1;
        } else if (is_wsp(ch)) {
            w = 0;
            if (++run > WSP_RUN_MAX) {
                enc = 1;
            }
        } else {
            run = 0;
            if (ch == '=' && s[i + 1] == '?') {
                enc = 1;
            }
            if (phrase && !is_atext(ch)) {
                need_quote = 1;
            }
            /* a quoted word may double in length (quoted-pairs) and carry a quote
             * on each side */
            w += (ch == '"' || ch == '\\') ? 2 : 1;
            if (w + 2 > word_max) {
                enc = 1;
            }
        }
    }
    *mode = enc ? WM_EWORD : (need_quote ? WM_QUOTED : WM_ATOMS);
    return POSTIE_OK;
}
#else
/* POSTIE_WITH_COMPOSE_RICH_HEADERS 0: a header text goes out as it is, on
 * its field's first line, which the full writer would write byte for byte
 * the same: printable ASCII words separated by single spaces, no "=?", and
 * "<name>: <text>" at most FOLD_AT columns. POSTIE_ERR_PARAM for what no
 * writer takes (CR, LF, too long, not UTF-8), POSTIE_ERR_UNSUPPORTED for
 * what only the full writer takes (it would fold, quote or encode). */
static postie_status plain_text(const char *s, size_t name_len)
{
    size_t i;
    for (i = 0; s[i] != '\0'; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (name_len + 2 + i >= FOLD_AT || ch < 32 || ch > 126 ||
            (ch == ' ' && (i == 0 || s[i + 1] == ' ' || s[i + 1] == '\0')) ||
            (ch == '=' && s[i + 1] == '?')) {
            /* not for the simple writer; for none when not even text (every
             * such text has one of these: CR, LF, a byte of 128 or more, or
             * too many bytes) */
            return text_len(s, POSTIE_COMPOSE_VALUE_MAX) == BAD ? POSTIE_ERR_PARAM
                                                              : POSTIE_ERR_UNSUPPORTED;
        }
    }
    return POSTIE_OK;
}
#endif

static postie_status check_list(const postie_compose_address *list, size_t count)
{
    size_t i;
    if (count > 0 && list == NULL) {
        return POSTIE_ERR_PARAM;
    }
    for (i = 0; i < count; i++) {
        if (!atoms_ok(list[i].address, 1)) {
            return POSTIE_ERR_PARAM;
        }
#if POSTIE_WITH_COMPOSE_RICH_HEADERS
        {
            int mode;
            if (list[i].name != NULL &&
                classify(list[i].name, 1, WORD_MAX_TEXT, &mode) != POSTIE_OK) {
                return POSTIE_ERR_PARAM;
            }
        }
#else
        if (list[i].name != NULL && list[i].name[0] != '\0') {
            /* display names: the full writer only */
            return text_len(list[i].name, POSTIE_COMPOSE_VALUE_MAX) == BAD ? POSTIE_ERR_PARAM
                                                                         : POSTIE_ERR_UNSUPPORTED;
        }
#endif
    }
    return POSTIE_OK;
}

#if POSTIE_WITH_COMPOSE_HEADERS
static int reserved_header(const char *name)
{
    static const char names[][13] = {
        "Date", "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Subject",
        "Message-ID", "MIME-Version", "X-Priority", "Importance"
    };
    size_t i;
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (ieq(name, names[i])) {
            return 1;
        }
    }
    return iprefix(name, "Content-");
}

static postie_status check_header(const postie_compose_header *h)
{
    size_t n;
    if (h->name == NULL || h->value == NULL) {
        return POSTIE_ERR_PARAM;
    }
    for (n = 0; h->name[n] != '\0'; n++) {
        unsigned char ch = (unsigned char)h->name[n];
        if (n >= POSTIE_COMPOSE_HEADER_NAME_MAX || ch < 33 || ch > 126 || ch == ':') {
            return POSTIE_ERR_PARAM;
        }
    }
    if (n == 0) {
        return POSTIE_ERR_PARAM;
    }
    if (reserved_header(h->name)) {
        return POSTIE_ERR_PARAM;
    }
#if POSTIE_WITH_COMPOSE_RICH_HEADERS
    {
        int mode;
        return classify(h->value, 0, WORD_MAX_EXTRA, &mode);
    }
#else
    return plain_text(h->value, n);
#endif
}

#endif /* POSTIE_WITH_COMPOSE_HEADERS */

#if POSTIE_WITH_COMPOSE_MIME
static postie_status check_attachment(const postie_compose_attachment *a)
{
    size_t n, i;
    if (a->read == NULL && a->data == NULL && a->len > 0) {
        return POSTIE_ERR_PARAM;
    }
    if (a->filename != NULL && text_len(a->filename, POSTIE_COMPOSE_FILENAME_MAX) == BAD) {
        return POSTIE_ERR_PARAM;
    }
    if (a->content_type != NULL) {
        int slash = 0;
        n = text_len(a->content_type, CTYPE_MAX); /* then ASCII only */
        if (n == BAD || n == 0 || is_wsp((unsigned char)a->content_type[0])) {
            return POSTIE_ERR_PARAM;
        }
        for (i = 0; i < n; i++) {
            unsigned char ch = (unsigned char)a->content_type[i];
            if ((ch < 32 && ch != '\t') || ch >= 127) {
                return POSTIE_ERR_PARAM;
            }
            if (ch == '/') {
                slash = 1;
            }
        }
        if (!slash) {
            return POSTIE_ERR_PARAM;
        }
    }
    return POSTIE_OK;
}
#endif

/* Chooses the transfer encoding of a body held in a buffer. */
static int choose_cte(const postie_compose_message *m, const char *boundary)
{
    const unsigned char *b = (const unsigned char *)m->body;
    size_t i, line = 0;
    int eight = 0;
#if POSTIE_WITH_COMPOSE_MIME
    size_t blen = strlen(boundary);
#else
    (void)boundary; /* no attachments: no boundary to avoid */
#endif
    if (m->body_read != NULL) {
        return CTE_QP;
    }
    for (i = 0; i < m->body_len; i++) {
        unsigned char ch = b[i];
        if (ch == '\n') {
            line = 0;
            continue;
        }
        if (ch == '\r') {
            if (i + 1 < m->body_len && b[i + 1] == '\n') {
                continue;
            }
            return CTE_QP; /* bare CR */
        }
        if (ch == 0) {
            return CTE_QP;
        }
        eight |= ch >> 7;
#if POSTIE_WITH_COMPOSE_MIME
        if (line == 0 && m->attachment_count > 0 && ch == '-' &&
            m->body_len - i >= 2 + blen && b[i + 1] == '-' &&
            memcmp(b + i + 2, boundary, blen) == 0) {
            return CTE_QP; /* would look like our own boundary */
        }
#endif
        if (++line > LINE_OCTETS_MAX) {
            return CTE_QP;
        }
    }
    if (!eight) {
        return CTE_7BIT;
    }
    return m->allow_8bit ? CTE_8BIT : CTE_QP;
}

/* ---- Date ------------------------------------------------------------------ */

#if POSTIE_WITH_COMPOSE_MIME
/* v in decimal at out, at least width digits (decimal.c: no 64-bit division). */
static size_t put_uint(char *out, unsigned long long v, int width)
{
    char tmp[POSTIE_DECIMAL_MAX];
    size_t n = postie_decimal(tmp, v), pad = 0;
    while ((int)(n + pad) < width) {
        out[pad++] = '0';
    }
    memcpy(out + pad, tmp + sizeof tmp - n, n);
    return pad + n;
}
#endif

#define TIME_MAX ((int64_t)253402300799) /* 9999-12-31T23:59:59Z */
#define DATE_MAX 32                      /* the longest date and its NUL */

/* The RFC 5322 date-time of time in the zone off minutes east of UTC, with
 * its NUL, in out (DATE_MAX bytes): where it starts (out, or out + 1 when the
 * day of the month has one digit; its length is out + 31 minus that), NULL
 * when time or off is out of range. */
static char *date_fmt(int64_t time, int off, char *out)
{
    /* the weekdays from 1970-01-01, then the months from March */
    static const char names[] = "ThuFriSatSunMonTueWedMarAprMayJunJulAugSepOctNovDecJanFeb";
    /* the two-digit numbers from the right: bits 0-4 the position, 0x40 a
     * sexagesimal digit (else centesimal), 0x80 the last of its value */
    static const unsigned char steps[9] = {29 | 0x40, 27 | 0x80, 23 | 0x40, 20 | 0x40,
                                           17 | 0x80, 14, 12 | 0x80, 5, 0};
    const unsigned char *st;
    unsigned long d, val[3], n, c, y, m, v; /* val: after the offset's digits */
    const unsigned long *vp;
    char *s;

    if (time < 0 || time > TIME_MAX || off < -1439 || off > 1439) {
        return NULL;
    }
    {
        /* one day later, so never negative (the offset is at most a day);
         * 86400 = 128 * 675 and (u >> 7) < 2^31: a 32-bit division */
        unsigned long long u = (unsigned long long)(time + (int64_t)off * 60 + 86400);
        d = (unsigned long)(u >> 7) / 675u; /* days since 1969-12-31 */
        val[0] = (unsigned long)u - d * 86400u; /* seconds of the day */
    }
    /* The civil date of day d: from the days since 0000-03-01 (d + 719467),
     * the century, the year in it and the day in that, with years that run
     * March to February, so that a leap day is a year's last (the century's
     * quadruple leap day its last too). */
    n = 4 * (d + 719467) + 3;
    c = n / 146097;
    n = n % 146097 / 4 * 4 + 3;
    y = 100 * c + n / 1461;
    n = n % 1461 / 4 * 5 + 2;
    m = n / 153; /* 0 for March */
    val[2] = n % 153 / 5 + 1;
    val[1] = y + (m >= 10);
    if (val[1] > 9999) {
        return NULL;
    }
    memcpy(out, "Thu, 00 Mar 0000 00:00:00 +0000", DATE_MAX);
    /* a day of the month without its leading zero: the weekday and its ", "
     * one further on, over that zero (the day's first digit adds 0 to it) */
    s = out + (val[2] < 10);
    memcpy(s, names + 3 * ((d + 6) % 7), 3);
    s[3] = ',';
    s[4] = ' ';
    memcpy(out + 8, names + 21 + 3 * m, 3);
    if (off < 0) {
        out[26] = '-';
        off = -off;
    }
    for (st = steps, v = (unsigned long)off, vp = val; *st != 0; st++) {
        unsigned r = *st & 0x40 ? 60 : 100, x = (unsigned)(v % r);
        char *p = out + (*st & 31);
        v /= r;
        p[0] = (char)(p[0] + x / 10);
        p[1] = (char)(p[1] + x % 10);
        if (*st & 0x80) {
            v = *vp++;
        }
    }
    return s;
}

postie_status postie_compose_format_date(int64_t time, int utc_offset_minutes,
                                         char *out, size_t cap, size_t *len)
{
    char buf[DATE_MAX];
    const char *p;
    size_t n;

    if (out == NULL || (p = date_fmt(time, utc_offset_minutes, buf)) == NULL) {
        return POSTIE_ERR_PARAM;
    }
    n = (size_t)(buf + 31 - p);
    if (cap < n + 1) {
        return POSTIE_ERR_BUFFER;
    }
    memcpy(out, p, n + 1);
    if (len != NULL) {
        *len = n;
    }
    return POSTIE_OK;
}

/* ---- set-up ---------------------------------------------------------------- */

void postie_compose_message_init(postie_compose_message *m)
{
    if (m == NULL) {
        return;
    }
    memset(m, 0, sizeof *m);
    m->priority = POSTIE_COMPOSE_PRIORITY_NORMAL;
}

/* The address lists after From (Reply-To, To, Cc, Bcc) are pointer and
 * count pairs one after another in a postie_compose_message: list k - 1 of
 * them starts LIST_STEP * (k - 1) bytes after the first. */
#define LIST_AT(f) offsetof(postie_compose_message, f)
#define LIST_STEP (LIST_AT(to) - LIST_AT(reply_to))
typedef char lists_evenly_spaced[LIST_AT(cc) - LIST_AT(to) == LIST_STEP &&
                                 LIST_AT(bcc) - LIST_AT(cc) == LIST_STEP ? 1 : -1];

/* Address list k of m (0 From, 1 Reply-To, 2 To, 3 Cc, 4 Bcc) and its
 * length in *count. */
static const postie_compose_address *address_list(const postie_compose_message *m, size_t k,
                                                  size_t *count)
{
    const char *f;
    if (k == 0) {
        *count = 1;
        return &m->from;
    }
    f = (const char *)m + LIST_AT(reply_to) + LIST_STEP * (k - 1);
    *count = *(const size_t *)(f + LIST_AT(to_count) - LIST_AT(to));
    return *(const postie_compose_address *const *)f;
}

static const char *msgid_domain(const postie_compose_message *m)
{
    if (m->message_id_domain != NULL) {
        return m->message_id_domain;
    }
    return strchr(m->from.address, '@') + 1;
}

#if !POSTIE_WITH_ENCODED_WORDS && POSTIE_WITH_COMPOSE_RICH_HEADERS
/* 1 when a display name, the subject or a caller header would need RFC 2047
 * encoded words (m already checked). */
static int needs_eword(const postie_compose_message *m)
{
    const postie_compose_address *lists[5];
    size_t counts[5], i, k;
    int mode = WM_ATOMS;

    lists[0] = &m->from;   counts[0] = 1;
    lists[1] = m->reply_to; counts[1] = m->reply_to_count;
    lists[2] = m->to;      counts[2] = m->to_count;
    lists[3] = m->cc;      counts[3] = m->cc_count;
    lists[4] = m->bcc;     counts[4] = 0; /* Bcc is not written */
    for (k = 0; k < 5; k++) {
        for (i = 0; i < counts[k]; i++) {
            const char *name = lists[k][i].name;
            if (name != NULL && name[0] != '\0' &&
                (classify(name, 1, WORD_MAX_TEXT, &mode) != POSTIE_OK || mode == WM_EWORD)) {
                return 1;
            }
        }
    }
    if (m->subject != NULL &&
        (classify(m->subject, 0, WORD_MAX_TEXT, &mode) != POSTIE_OK || mode == WM_EWORD)) {
        return 1;
    }
    for (i = 0; i < m->header_count; i++) {
        if (classify(m->headers[i].value, 0, WORD_MAX_EXTRA, &mode) != POSTIE_OK ||
            mode == WM_EWORD) {
            return 1;
        }
    }
    return 0;
}
#endif

postie_status postie_compose_begin(postie_compose *c, const postie_compose_message *m)
{
#if POSTIE_WITH_COMPOSE_HEADERS || POSTIE_WITH_COMPOSE_MIME
    size_t i;
#endif
    size_t k, n;
    postie_status st;
    char date[DATE_MAX];

    if (c == NULL) {
        return POSTIE_ERR_PARAM;
    }
    c->magic = 0;
    if (m == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (date_fmt(m->time, m->utc_offset_minutes, date) == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (m->random == NULL || m->random_len < POSTIE_COMPOSE_RANDOM_MIN) {
        return POSTIE_ERR_PARAM;
    }
    if (m->priority != POSTIE_COMPOSE_PRIORITY_HIGH && m->priority != POSTIE_COMPOSE_PRIORITY_NORMAL &&
        m->priority != POSTIE_COMPOSE_PRIORITY_LOW) {
        return POSTIE_ERR_PARAM;
    }
    for (k = 0; k < 5; k++) { /* From, Reply-To, To, Cc, Bcc */
        const postie_compose_address *list = address_list(m, k, &n);
        if ((st = check_list(list, n)) != POSTIE_OK) {
            return st; /* PARAM; UNSUPPORTED: a display name without the full writer */
        }
    }
    if (!atoms_ok(msgid_domain(m), 0)) {
        return POSTIE_ERR_PARAM;
    }
#if POSTIE_WITH_COMPOSE_RICH_HEADERS
    {
        int mode;
        if (m->subject != NULL && classify(m->subject, 0, WORD_MAX_TEXT, &mode) != POSTIE_OK) {
            return POSTIE_ERR_PARAM;
        }
    }
#else
    if (m->subject != NULL && (st = plain_text(m->subject, 7)) != POSTIE_OK) {
        return st;
    }
#endif
    if (m->header_count > 0 && m->headers == NULL) {
        return POSTIE_ERR_PARAM;
    }
#if POSTIE_WITH_COMPOSE_HEADERS
    for (i = 0; i < m->header_count; i++) {
        if ((st = check_header(&m->headers[i])) != POSTIE_OK) {
            return st == POSTIE_ERR_UNSUPPORTED ? st : POSTIE_ERR_PARAM;
        }
    }
#else
    if (m->header_count > 0) {
        return POSTIE_ERR_UNSUPPORTED; /* POSTIE_WITH_COMPOSE_HEADERS 0 */
    }
#endif
    if (m->body_read == NULL && m->body == NULL && m->body_len > 0) {
        return POSTIE_ERR_PARAM;
    }
    if (m->attachment_count > 0 && m->attachments == NULL) {
        return POSTIE_ERR_PARAM;
    }
#if POSTIE_WITH_COMPOSE_MIME
    for (i = 0; i < m->attachment_count; i++) {
        if (check_attachment(&m->attachments[i]) != POSTIE_OK) {
            return POSTIE_ERR_PARAM;
        }
    }
#else
    if (m->attachment_count > 0) {
        return POSTIE_ERR_UNSUPPORTED; /* POSTIE_WITH_COMPOSE_MIME 0 */
    }
#endif
#if !POSTIE_WITH_ENCODED_WORDS && POSTIE_WITH_COMPOSE_RICH_HEADERS
    if (needs_eword(m)) {
        return POSTIE_ERR_UNSUPPORTED; /* POSTIE_WITH_ENCODED_WORDS 0 */
    }
#endif

    memset(c, 0, sizeof *c);
    c->m = *m;
#if POSTIE_WITH_COMPOSE_MIME
    memcpy(c->boundary, "=_postie_", 9);
    for (i = 0; i < 8; i++) {
        (void)hex_byte(c->boundary + 9 + 2 * i, m->random[8 + i]);
    }
    c->boundary[25] = '\0';
#endif
#if POSTIE_WITH_COMPOSE_MIME
    c->body_cte = choose_cte(m, c->boundary);
#else
    c->body_cte = choose_cte(m, NULL);
#endif
#if !POSTIE_WITH_QP
    if (c->body_cte == CTE_QP) {
        c->magic = 0;
        return POSTIE_ERR_UNSUPPORTED; /* POSTIE_WITH_QP 0 */
    }
#endif
    c->stage = ST_DATE;
    c->error = POSTIE_OK;
    c->magic = MAGIC;
    return POSTIE_OK;
}

int postie_compose_is_8bit(const postie_compose *c)
{
    return c != NULL && c->magic == MAGIC && c->body_cte == CTE_8BIT;
}

const char *postie_compose_sender(const postie_compose *c)
{
    return (c != NULL && c->magic == MAGIC) ? c->m.from.address : NULL;
}

size_t postie_compose_recipient_count(const postie_compose *c)
{
    if (c == NULL || c->magic != MAGIC) {
        return 0;
    }
    return c->m.to_count + c->m.cc_count + c->m.bcc_count;
}

const char *postie_compose_recipient(const postie_compose *c, size_t i)
{
    if (c == NULL || c->magic != MAGIC) {
        return NULL;
    }
    if (i < c->m.to_count) {
        return c->m.to[i].address;
    }
    i -= c->m.to_count;
    if (i < c->m.cc_count) {
        return c->m.cc[i].address;
    }
    i -= c->m.cc_count;
    if (i < c->m.bcc_count) {
        return c->m.bcc[i].address;
    }
    return NULL;
}

/* ---- staging ---------------------------------------------------------------- */

/* The templates emit() writes, members of one object, so that a template is
 * passed as its offset in it (an immediate operand) rather than as an
 * address that each caller loads from a literal pool. In a template a byte 1
 * stands for emit()'s string a, a byte 2 for b. The simple writer's field
 * names come first (their offsets in a table of bytes; none is a template
 * that produce() names, so its offset 0 can mean none; the full writer has
 * an empty template there). */
#if POSTIE_WITH_QP
#define CTE_BIT "" /* the whole name from cte_names */
#else
#define CTE_BIT "bit"
#endif
#define TEXT_PLAIN "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: \1" CTE_BIT "\r\n\r\n"
/* The names of the address fields From, Reply-To, To and Cc (the simple
 * writer's with their colon), each ended by a NUL, FIELD_NAME_STEP bytes
 * apart: To is the end of Reply-To, NULs fill the gaps. */
#if POSTIE_WITH_COMPOSE_RICH_HEADERS
#define FIELD_NAMES "From\0\0Reply-To\0\0\0\0Cc"
#define FIELD_COLON ""
#else
#define FIELD_NAMES "From:\0Reply-To:\0\0\0Cc:"
#define FIELD_COLON ":"
#endif
#define FIELD_NAME_STEP 6
typedef char field_names_spaced[sizeof FIELD_NAMES == 3 * FIELD_NAME_STEP + sizeof("Cc" FIELD_COLON) &&
                                sizeof "Reply-" == FIELD_NAME_STEP + 1 ? 1 : -1];
#if POSTIE_WITH_COMPOSE_RICH_HEADERS
#define TPL_SIMPLE(X) X(none, "") /* (at offset 0) */
#else
#define TPL_SIMPLE(X) X(fields, FIELD_NAMES) /* the address fields' names */               \
    X(addr, "\1 \2,") X(addr_last, "\1 \2\r\n") /* \1 the field name, or a fold */   \
    X(subject, "Subject:\1\2\r\n") /* \1 a space unless the subject is empty */
#endif
#if POSTIE_WITH_COMPOSE_HEADERS && !POSTIE_WITH_COMPOSE_RICH_HEADERS
#define TPL_EXTRA(X) X(extra, "\1: \2\r\n") X(extra_empty, "\1:\r\n")
#else
#define TPL_EXTRA(X)
#endif
#if POSTIE_WITH_COMPOSE_MIME
#define TPL_MIME(X) X(mime, "MIME-Version: 1.0\r\n")                                     \
    X(multipart, "Content-Type: multipart/mixed;\r\n boundary=\"\1\"\r\n\r\n"            \
                 "This is a multi-part message in MIME format.\r\n\r\n--\1\r\n")         \
    X(text_plain, TEXT_PLAIN)                                                            \
    X(att_hdr, "\r\n--\1\r\nContent-Type: \2\r\nContent-Disposition: attachment")        \
    X(att_fname, ";\r\n") X(att_b64, "Content-Transfer-Encoding: base64\r\n\r\n")        \
    X(close, "\r\n--\1--\r\n")
#else
#define TPL_MIME(X) X(mime, "MIME-Version: 1.0\r\n" TEXT_PLAIN)
#endif
#define TEMPLATES(X) TPL_SIMPLE(X) TPL_EXTRA(X) X(date, "Date: \1\r\n")                  \
    X(msgid, "Message-ID: <\1@\2>\r\n") X(prio, "X-Priority: \1\r\nImportance: \2\r\n")  \
    X(crlf, "\r\n") TPL_MIME(X)
#define TPL_MEMBER(name, text) char name[sizeof text];
#define TPL_TEXT(name, text) text,
static const struct templates {
    TEMPLATES(TPL_MEMBER)
} tpl = {TEMPLATES(TPL_TEXT)};
#define T(name) ((unsigned)offsetof(struct templates, name))
typedef char no_template_at_0[T(date) != 0 ? 1 : -1];

/* Appends the template at offset t_at of tpl, in which a byte 1 stands for
 * the string a and a byte 2 for b (the strings themselves are copied as
 * they are). */
static void emit(postie_compose *c, unsigned t_at, const char *a, const char *b)
{
    const char *t;
    for (t = (const char *)&tpl + t_at; *t != '\0'; t++) {
        const char *s = t, *end = t + 1; /* the template's byte, */
        if (*t == '\1' || *t == '\2') {  /* or an argument to its end */
            s = *t == '\1' ? a : b;
            end = NULL;
        }
        for (; s != end && *s != '\0'; s++) {
            if (c->out_len >= sizeof c->out) { /* cannot happen: every unit is bounded by the checks */
                c->error = POSTIE_ERR_INTERNAL;
                return;
            }
            c->out[c->out_len++] = *s;
        }
    }
}

#if POSTIE_WITH_COMPOSE_RICH_HEADERS || POSTIE_WITH_COMPOSE_MIME || POSTIE_WITH_QP
static size_t room(const postie_compose *c)
{
    return sizeof c->out - c->out_len;
}

static void put(postie_compose *c, const char *s, size_t n)
{
    if (n > room(c)) { /* cannot happen: every unit is bounded by the checks */
        c->error = POSTIE_ERR_INTERNAL;
        return;
    }
    memcpy(c->out + c->out_len, s, n);
    c->out_len += n;
}

static void puts_(postie_compose *c, const char *s)
{
    put(c, s, strlen(s));
}

static void putc_(postie_compose *c, char ch)
{
    put(c, &ch, 1);
}
#endif

/* ---- header tokens ------------------------------------------------------ */

/* The address fields from ST_FROM on: their names (the simple writer's with
 * their colon) at FIELD_NAME(k), and their lists from address_list(). */
#if POSTIE_WITH_COMPOSE_RICH_HEADERS
static const char field_names[] = FIELD_NAMES;
#define FIELD_NAME(k) (field_names + FIELD_NAME_STEP * (k))
#else
#define FIELD_NAME(k) (T(fields) + FIELD_NAME_STEP * (k))
#endif

#if POSTIE_WITH_COMPOSE_RICH_HEADERS
static void field_start(postie_compose *c, const char *name)
{
    puts_(c, name);
    putc_(c, ':');
    c->col = strlen(name) + 1;
    c->line_has = 0;
    c->pos = 0;
}

static void field_end(postie_compose *c)
{
    puts_(c, "\r\n");
    c->col = 0;
}

/* Folds before a token of seplen + wlen characters when it would not fit. */
static void fold_for(postie_compose *c, size_t seplen, size_t wlen)
{
    if (c->line_has && c->col + seplen + wlen > FOLD_AT) {
        puts_(c, "\r\n");
        c->col = 0;
    }
    c->line_has = 1;
    c->col += seplen + wlen;
}
#endif

/* Bytes of whole UTF-8 characters from s (n left) that fit in max bytes. */
#if POSTIE_WITH_ENCODED_WORDS
static size_t utf8_fit(const unsigned char *s, size_t n, size_t max)
{
    size_t k = 0;
    while (k < n) {
        size_t l = utf8_len(s[k]);
        if (k + l > max) {
            break;
        }
        k += l;
    }
    return k;
}

/* One encoded-word (RFC 2047, B encoding) of the text s[c->pos..n). */
static void emit_eword(postie_compose *c, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s + c->pos;
    size_t left = n - c->pos, maxb = 0, take, avail;
    postie_base64_stream b;
    char enc[64];
    size_t elen;

    avail = c->col + 1 < FOLD_AT ? FOLD_AT - c->col - 1 : 0;
    if (avail > EWORD_MAX) {
        avail = EWORD_MAX;
    }
    if (avail >= EWORD_OVERHEAD + 4) {
        maxb = (avail - EWORD_OVERHEAD) / 4 * 3;
    }
    take = utf8_fit(p, left, maxb);
    if (take == 0) {
        puts_(c, "\r\n");
        c->col = 0;
        take = utf8_fit(p, left, (EWORD_MAX - EWORD_OVERHEAD) / 4 * 3);
    }
    postie_base64_stream_init(&b, 0);
    elen = postie_base64_stream_update(&b, p, take, enc, sizeof enc);
    elen += postie_base64_stream_final(&b, enc + elen, sizeof enc - elen);
    puts_(c, " =?UTF-8?B?");
    put(c, enc, elen);
    puts_(c, "?=");
    c->col += 1 + EWORD_OVERHEAD + elen;
    c->line_has = 1;
    c->pos += take;
}
#endif

#if POSTIE_WITH_COMPOSE_RICH_HEADERS
/* One word (with the whitespace before it) of a plain or quoted text. */
static void emit_word(postie_compose *c, const char *s, size_t n, int quoted)
{
    size_t sep0 = c->pos, w0, w1, i, wlen = 0;
    int first = c->pos == 0;
    while (c->pos < n && is_wsp((unsigned char)s[c->pos])) {
        c->pos++;
    }
    w0 = c->pos;
    while (c->pos < n && !is_wsp((unsigned char)s[c->pos])) {
        c->pos++;
    }
    w1 = c->pos;
    for (i = w0; i < w1; i++) {
        wlen += (quoted && (s[i] == '"' || s[i] == '\\')) ? 2 : 1;
    }
    if (quoted) {
        wlen += (first ? 1 : 0) + (w1 == n ? 1 : 0);
    }
    if (first) {
        fold_for(c, 1, wlen);
        putc_(c, ' ');
    } else {
        fold_for(c, w0 - sep0, wlen);
        put(c, s + sep0, w0 - sep0);
    }
    if (quoted && first) {
        putc_(c, '"');
    }
    for (i = w0; i < w1; i++) {
        if (quoted && (s[i] == '"' || s[i] == '\\')) {
            putc_(c, '\\');
        }
        putc_(c, s[i]);
    }
    if (quoted && w1 == n) {
        putc_(c, '"');
    }
}

/* Emits the next token of text s; returns 1 when s is used up. */
static int emit_text(postie_compose *c, const char *s)
{
    size_t n = strlen(s);
    if (c->pos >= n) {
        return 1;
    }
#if POSTIE_WITH_ENCODED_WORDS
    if (c->word_mode == WM_EWORD) {
        emit_eword(c, s, n);
    } else
#endif
    {
        emit_word(c, s, n, c->word_mode == WM_QUOTED);
    }
    return c->pos >= n;
}

#endif /* POSTIE_WITH_COMPOSE_RICH_HEADERS */

#if POSTIE_WITH_COMPOSE_RICH_HEADERS
/* The address field of c->stage, one token per call. Returns 1 when done. */
static int field_addresses(postie_compose *c)
{
    size_t count;
    const postie_compose_address *list = address_list(&c->m, (size_t)(c->stage - ST_FROM), &count);
    const postie_compose_address *a;
    if (count == 0) {
        return 1;
    }
    switch (c->sub) {
    case 0:
        field_start(c, FIELD_NAME(c->stage - ST_FROM));
        c->idx = 0;
        c->sub = 1;
        return 0;
    case 1: /* start of an item */
        a = &list[c->idx];
        c->pos = 0;
        if (a->name != NULL && a->name[0] != '\0') {
            (void)classify(a->name, 1, WORD_MAX_TEXT, &c->word_mode);
            c->sub = 2;
        } else {
            c->sub = 3;
        }
        return 0;
    case 2: /* display name */
        if (emit_text(c, list[c->idx].name)) {
            c->sub = 3;
        }
        return 0;
    default: { /* the address itself */
        int named;
        size_t alen;
        a = &list[c->idx];
        named = a->name != NULL && a->name[0] != '\0';
        alen = strlen(a->address);
        fold_for(c, 1, alen + (named ? 2 : 0) + (c->idx + 1 < count ? 1 : 0));
        putc_(c, ' ');
        if (named) {
            putc_(c, '<');
        }
        put(c, a->address, alen);
        if (named) {
            putc_(c, '>');
        }
        c->idx++;
        if (c->idx < count) {
            putc_(c, ',');
            c->sub = 1;
            return 0;
        }
        field_end(c);
        return 1;
    }
    }
}
#else
/* The address field of c->stage, one address per call, the first after the
 * field's name; between two addresses the line is folded when the next
 * would not fit (no display names: postie_compose_begin() refused them).
 * An address after the first is written after a line break, which is left
 * out (the unit handed out from its third byte) when the address fits.
 * Returns 1 when done. */
static int field_addresses(postie_compose *c)
{
    size_t k = (size_t)(c->stage - ST_FROM), count, i = c->idx, n;
    const postie_compose_address *list = address_list(&c->m, k, &count);
    int more;
    if (i >= count) {
        return 1; /* no field for an empty list */
    }
    more = i + 1 < count;
    c->idx = i + 1;
    emit(c, more ? T(addr) : T(addr_last),
         i == 0 ? (const char *)&tpl + FIELD_NAME(k) : "\r\n", list[i].address);
    n = c->out_len - (more ? 2 : 4); /* " address" and its comma */
    if (i == 0) {
        c->col = c->out_len; /* the unit began empty */
    } else if (c->col + n > FOLD_AT) {
        c->col = n;
    } else {
        c->col += n;
        c->out_pos = 2;
    }
    return !more;
}
#endif

#if POSTIE_WITH_COMPOSE_RICH_HEADERS
#if POSTIE_WITH_COMPOSE_HEADERS
/* An unstructured field, one token per call. Returns 1 when done. */
static int field_text(postie_compose *c, const char *name, const char *value)
{
    if (c->sub == 0) {
        field_start(c, name);
        (void)classify(value, 0, WORD_MAX_EXTRA, &c->word_mode);
        c->sub = 1;
        return 0;
    }
    if (emit_text(c, value)) {
        field_end(c);
        return 1;
    }
    return 0;
}
#endif
#elif POSTIE_WITH_COMPOSE_HEADERS
/* A caller's field, whole (plain_text() said it fits as it is). */
static int field_text(postie_compose *c, const char *name, const char *value)
{
    emit(c, value[0] != '\0' ? T(extra) : T(extra_empty), name, value);
    return 1;
}
#endif

/* ---- sources (a quoted-printable body, attachments) ------------------------ */

/* A body or attachment from a reader needs quoted-printable or an
 * attachment's base64 (postie_compose_begin() refuses it without both), and
 * a 7bit or 8bit body is copied from its buffer by body_copy(): without them
 * neither sources nor the reader path (and its buffer in postie_compose) are
 * compiled. */
#if POSTIE_WITH_QP || POSTIE_WITH_COMPOSE_MIME
static void src_set(postie_compose *c, const void *buf, size_t len, postie_compose_read_fn fn, void *user)
{
    c->src_buf = (const unsigned char *)buf;
    c->src_len = len;
    c->src_fn = fn;
    c->src_user = user;
    c->src_pos = 0;
    c->in_len = c->in_pos = 0;
    c->src_done = 0;
}

/* Available input: OK with *p and *len (len > 0), DONE at the end, or an error. */
static postie_status src_peek(postie_compose *c, const unsigned char **p, size_t *len)
{
    if (c->src_fn != NULL) {
        if (c->in_pos >= c->in_len) {
            size_t got = 0;
            postie_status st;
            if (c->src_done) {
                return POSTIE_DONE;
            }
            st = c->src_fn(c->src_user, c->in, sizeof c->in, &got);
            if (st == POSTIE_DONE) {
                c->src_done = 1; /* DONE may carry the last bytes */
                if (got == 0) {
                    return POSTIE_DONE;
                }
            } else if (st != POSTIE_OK) {
                return st < 0 ? st : POSTIE_ERR_PARAM;
            } else if (got == 0) {
                return POSTIE_ERR_PARAM; /* the reader broke its contract */
            }
            if (got > sizeof c->in) {
                return POSTIE_ERR_PARAM; /* the reader broke its contract */
            }
            c->in_len = got;
            c->in_pos = 0;
        }
        *p = (const unsigned char *)c->in + c->in_pos;
        *len = c->in_len - c->in_pos;
        return POSTIE_OK;
    }
    if (c->src_pos >= c->src_len) {
        return POSTIE_DONE;
    }
    *p = c->src_buf + c->src_pos;
    *len = c->src_len - c->src_pos;
    return POSTIE_OK;
}

static void src_take(postie_compose *c, size_t k)
{
    if (c->src_fn != NULL) {
        c->in_pos += k;
        return;
    }
    c->src_pos += k;
}
#endif

/* ---- quoted-printable (RFC 2045 sec. 6.7) --------------------------------- */

#if POSTIE_WITH_QP
static void qp_lit(postie_compose *c, char ch)
{
    if (c->qp_col + 1 > QP_MAX) {
        puts_(c, "=\r\n");
        c->qp_col = 0;
    }
    putc_(c, ch);
    c->qp_col++;
}

static void qp_enc(postie_compose *c, unsigned char b)
{
    char e[3];
    if (c->qp_col + 3 > QP_MAX) {
        puts_(c, "=\r\n");
        c->qp_col = 0;
    }
    e[0] = '=';
    (void)hex_byte(e + 1, b);
    put(c, e, 3);
    c->qp_col += 3;
}

/* A held space or tab: literal when something follows on its line, encoded
 * when it would end the line (rule 3). */
static void qp_flush_ws(postie_compose *c, int encode)
{
    if (c->pend_ws != 0) {
        if (encode) {
            qp_enc(c, (unsigned char)c->pend_ws);
        } else {
            qp_lit(c, (char)c->pend_ws);
        }
        c->pend_ws = 0;
    }
}

static void qp_hard_break(postie_compose *c)
{
    qp_flush_ws(c, 1);
    puts_(c, "\r\n");
    c->qp_col = 0;
}

static void qp_byte(postie_compose *c, unsigned char b)
{
    if (c->pend_cr) {
        c->pend_cr = 0;
        if (b == '\n') {
            qp_hard_break(c);
            return;
        }
        qp_flush_ws(c, 0);
        qp_enc(c, '\r');
    }
    if (b == '\r') {
        c->pend_cr = 1;
    } else if (b == '\n') {
        qp_hard_break(c);
    } else if (b == ' ' || b == '\t') {
        qp_flush_ws(c, 0);
        c->pend_ws = b;
    } else {
        qp_flush_ws(c, 0);
        if (b == '=' || b < 33 || b > 126) {
            qp_enc(c, b);
        } else {
            qp_lit(c, (char)b);
        }
    }
}

static void qp_end(postie_compose *c)
{
    if (c->pend_cr) {
        c->pend_cr = 0;
        qp_flush_ws(c, 0);
        qp_enc(c, '\r');
    }
    qp_flush_ws(c, 1);
}

/* ---- body and attachment steps ---------------------------------------------- */

/* Encodes as much of a quoted-printable text body as fits. OK: more to come;
 * DONE: body finished; an error from the reader otherwise. */
static postie_status body_step(postie_compose *c)
{
    while (room(c) >= 16) {
        const unsigned char *p = NULL;
        size_t len = 0, k;
        postie_status st = src_peek(c, &p, &len);
        if (st == POSTIE_DONE) {
            qp_end(c);
            return POSTIE_DONE;
        }
        if (st != POSTIE_OK) {
            return st;
        }
        for (k = 0; k < len && room(c) >= 16; k++) {
            qp_byte(c, p[k]);
        }
        src_take(c, k);
    }
    return POSTIE_OK;
}
#endif

#if POSTIE_WITH_COMPOSE_MIME
static postie_status att_step(postie_compose *c)
{
    for (;;) {
        const unsigned char *p = NULL;
        size_t len = 0, chunk = 57; /* one base64 line */
        postie_status st;
        if (room(c) < postie_base64_stream_max_out(&c->b64, chunk)) {
            return POSTIE_OK;
        }
        st = src_peek(c, &p, &len);
        if (st == POSTIE_DONE) {
            c->out_len += postie_base64_stream_final(&c->b64, c->out + c->out_len, room(c));
            return POSTIE_DONE;
        }
        if (st != POSTIE_OK) {
            return st;
        }
        if (len < chunk) {
            chunk = len;
        }
        c->out_len += postie_base64_stream_update(&c->b64, p, chunk, c->out + c->out_len, room(c));
        src_take(c, chunk);
    }
}

/* RFC 2231 file name parameter, one line per call; returns 1 when done. */
static int fname_step(postie_compose *c, const char *fname)
{
    const unsigned char *f = (const unsigned char *)fname;
    size_t n = strlen(fname), i, esc = 0, enc = 0;
    int plain = 1;
    char num[24];
    size_t numlen, avail;

    for (i = 0; i < n; i++) {
        if (f[i] < 32 || f[i] >= 127) {
            plain = 0;
        }
        esc += (f[i] == '"' || f[i] == '\\') ? 2 : 1;
        enc += is_attr_char(f[i]) ? 1 : 3;
    }
    if (c->sub == 0 && plain && 11 + esc + 1 <= FOLD_AT) { /* ' filename="' ... '"' */
        puts_(c, " filename=\"");
        for (i = 0; i < n; i++) {
            if (f[i] == '"' || f[i] == '\\') {
                putc_(c, '\\');
            }
            putc_(c, (char)f[i]);
        }
        puts_(c, "\"\r\n");
        return 1;
    }
    if (c->sub == 0 && 12 + 7 + enc <= FOLD_AT) { /* ' filename*=' UTF-8'' ... */
        puts_(c, " filename*=UTF-8''");
        c->pos = 0;
    } else {
        numlen = put_uint(num, (unsigned long long)c->sub, 1);
        puts_(c, " filename*");
        put(c, num, numlen);
        puts_(c, "*=");
        c->col = 1 + 9 + numlen + 2;
        if (c->sub == 0) {
            puts_(c, "UTF-8''");
            c->col += 7;
            c->pos = 0;
        }
        avail = FOLD_AT - c->col - 1; /* keep room for ';' */
        while (c->pos < n) {
            size_t cost = is_attr_char(f[c->pos]) ? 1 : 3;
            if (cost > avail) {
                break;
            }
            avail -= cost;
            if (cost == 1) {
                putc_(c, (char)f[c->pos]);
            } else {
                char e[3];
                e[0] = '%';
                (void)hex_byte(e + 1, f[c->pos]);
                put(c, e, 3);
            }
            c->pos++;
        }
        c->sub++;
        if (c->pos < n) {
            puts_(c, ";\r\n");
            return 0;
        }
        puts_(c, "\r\n");
        return 1;
    }
    for (i = 0; i < n; i++) {
        if (is_attr_char(f[i])) {
            putc_(c, (char)f[i]);
        } else {
            char e[3];
            e[0] = '%';
            (void)hex_byte(e + 1, f[i]);
            put(c, e, 3);
        }
    }
    puts_(c, "\r\n");
    return 1;
}
#endif

/* The transfer encodings' names, CTE_STEP bytes apart (CTE_*); without
 * quoted-printable only their first digit, the template has the rest. */
#if POSTIE_WITH_QP
static const char cte_names[] = "7bit\0" "8bit\0" "quoted-printable";
#define CTE_STEP 5
#else
static const char cte_names[] = "7\0" "8";
#define CTE_STEP 2
#endif

static void next_stage(postie_compose *c, int stage)
{
    c->stage = stage;
#if POSTIE_WITH_COMPOSE_RICH_HEADERS || POSTIE_WITH_COMPOSE_MIME
    c->sub = 0;
#endif
    c->idx = 0;
    c->pos = 0;
}

/* Copies as much of the body as fits, a bare LF as CRLF (7bit or 8bit: the
 * body is a buffer), leaving room for a last CRLF. Returns 1 when the body
 * is done. */
static int body_copy(postie_compose *c)
{
    const char *b = c->m.body;
    size_t i = c->pos, n = c->m.body_len, o = c->out_len;
    while (i < n && o < sizeof c->out - 3) {
        if (b[i] == '\n' && (i == 0 || b[i - 1] != '\r')) {
            c->out[o++] = '\r';
        }
        c->out[o++] = b[i++];
    }
    c->pos = i;
    c->out_len = o;
    return i >= n;
}

/* Stages the next unit. Returns OK (maybe with nothing staged: call again),
 * or an error. */
static postie_status produce(postie_compose *c)
{
    const postie_compose_message *m = &c->m;
    unsigned t = 0;                  /* what to emit() at the end: a template */
    const char *a = NULL, *b = NULL; /* (0: none) and its strings             */
    char buf[POSTIE_DECIMAL_MAX + 18];          /* the Date or the Message-ID */
    int done = 1; /* the stage is finished: on to the next */
#if POSTIE_WITH_QP || POSTIE_WITH_COMPOSE_MIME
    postie_status st;
#endif

    switch (c->stage) {
    case ST_DATE:
        a = date_fmt(m->time, m->utc_offset_minutes, buf); /* checked by begin */
        t = T(date);
        break;
    case ST_FROM:
    case ST_REPLYTO:
    case ST_TO:
    case ST_CC:
        done = field_addresses(c);
        break;
    case ST_SUBJECT:
        if (m->subject != NULL) {
#if POSTIE_WITH_COMPOSE_RICH_HEADERS
            if (c->sub == 0) {
                field_start(c, "Subject");
                (void)classify(m->subject, 0, WORD_MAX_TEXT, &c->word_mode);
                c->sub = 1;
                done = 0;
            } else if (emit_text(c, m->subject)) {
                field_end(c);
            } else {
                done = 0;
            }
#else
            t = T(subject); /* as it is, after a space unless empty */
            a = &" "[m->subject[0] == '\0'];
            b = m->subject;
#endif
        }
        break;
    case ST_MSGID: {
        /* "<time.random@domain>": the time in decimal, 8 random bytes in hex */
        char *p = buf + POSTIE_DECIMAL_MAX;
        size_t i, k = postie_decimal(buf, (unsigned long long)m->time);
        *p++ = '.';
        for (i = 0; i < 8; i++) {
            p = hex_byte(p, m->random[i]);
        }
        *p = '\0';
        t = T(msgid);
        a = buf + POSTIE_DECIMAL_MAX - k;
        b = msgid_domain(m);
        break;
    }
    case ST_PRIO:
        if (m->priority != POSTIE_COMPOSE_PRIORITY_NORMAL) {
            /* the two values of HIGH, then of LOW, 17 bytes apart (HIGH >> 2
             * is 0, LOW >> 2 is 1); each second value 12 bytes after its first */
            static const char prio[] = "1 (Highest)\0high\0" "5 (Lowest)\0\0low";
            t = T(prio);
            a = prio + 17 * (m->priority >> 2);
            b = a + 12;
        }
        break;
#if POSTIE_WITH_COMPOSE_HEADERS
    case ST_EXTRA:
        if (c->idx < m->header_count) {
            done = 0;
            if (field_text(c, m->headers[c->idx].name, m->headers[c->idx].value)) {
                c->idx++;
#if POSTIE_WITH_COMPOSE_RICH_HEADERS
                c->sub = 0;
#endif
            }
        }
        break;
#endif
    case ST_MIME:
#if POSTIE_WITH_COMPOSE_MIME
        emit(c, T(mime), NULL, NULL);
        if (m->attachment_count > 0) {
            emit(c, T(multipart), c->boundary, NULL);
        }
        emit(c, T(text_plain), cte_names + CTE_STEP * c->body_cte, NULL);
#else
        t = T(mime);
        a = cte_names + CTE_STEP * c->body_cte;
#endif
#if POSTIE_WITH_QP
        src_set(c, m->body, m->body_len, m->body_read, m->body_user);
#endif
        break;
    case ST_BODY: {
        int lf; /* the body ends with a line break, or is empty */
#if POSTIE_WITH_QP
        if (c->body_cte == CTE_QP) {
            st = body_step(c);
            if (st != POSTIE_DONE) {
                if (st != POSTIE_OK) {
                    return st;
                }
                done = 0;
                break;
            }
            lf = c->qp_col == 0; /* after a hard line break, or nothing */
        } else
#endif
        {
            if (!body_copy(c)) {
                done = 0;
                break;
            }
            lf = m->body_len == 0 || m->body[m->body_len - 1] == '\n';
        }
#if POSTIE_WITH_COMPOSE_MIME
        if (m->attachment_count > 0) {
            done = 0;
            next_stage(c, ST_ATT_HDR); /* the boundary starts with a line break */
            break;
        }
#endif
        if (!lf) {
            t = T(crlf); /* a last line gets its line break */
        }
        break;
    }
#if POSTIE_WITH_COMPOSE_MIME
    case ST_ATT_HDR: {
        const postie_compose_attachment *at = &m->attachments[c->att];
        emit(c, T(att_hdr), c->boundary,
             at->content_type != NULL ? at->content_type : "application/octet-stream");
        done = 0;
        if (at->filename != NULL) {
            emit(c, T(att_fname), NULL, NULL);
            next_stage(c, ST_ATT_FNAME);
        } else {
            emit(c, T(crlf), NULL, NULL);
            next_stage(c, ST_ATT_HDR2);
        }
        break;
    }
    case ST_ATT_FNAME:
        done = fname_step(c, m->attachments[c->att].filename); /* then ST_ATT_HDR2 */
        break;
    case ST_ATT_HDR2: {
        const postie_compose_attachment *at = &m->attachments[c->att];
        emit(c, T(att_b64), NULL, NULL);
        src_set(c, at->data, at->len, at->read, at->read_user);
        postie_base64_stream_init(&c->b64, B64_LINE);
        break; /* then ST_ATT_BODY */
    }
    case ST_ATT_BODY:
        st = att_step(c);
        done = 0;
        if (st == POSTIE_DONE) {
            c->att++;
            next_stage(c, c->att < m->attachment_count ? ST_ATT_HDR : ST_CLOSE);
        } else if (st != POSTIE_OK) {
            return st;
        }
        break;
    case ST_CLOSE:
        emit(c, T(close), c->boundary, NULL);
        done = 0;
        next_stage(c, ST_DONE);
        break;
#endif
    default:
        done = 0;
        break;
    }
    if (t != 0) {
        emit(c, t, a, b);
    }
    if (done) {
        next_stage(c, c->stage + 1);
    }
    return (postie_status)c->error;
}

postie_status postie_compose_read(postie_compose *c, char *buf, size_t cap, size_t *n)
{
    size_t got = 0;
    if (n != NULL) {
        *n = 0;
    }
    if (c == NULL || buf == NULL || n == NULL || cap == 0) {
        return POSTIE_ERR_PARAM;
    }
    if (c->magic != MAGIC) {
        return POSTIE_ERR_STATE;
    }
    if (c->error != POSTIE_OK) {
        return (postie_status)c->error;
    }
    while (got < cap) {
        if (c->out_pos < c->out_len) {
            size_t k = c->out_len - c->out_pos;
            if (k > cap - got) {
                k = cap - got;
            }
            memcpy(buf + got, c->out + c->out_pos, k);
            c->out_pos += k;
            got += k;
            continue;
        }
        if (c->stage == ST_DONE) {
            break;
        }
        c->out_pos = c->out_len = 0;
        {
            postie_status st = produce(c);
            if (st != POSTIE_OK) {
                c->error = st;
                return st;
            }
        }
    }
    *n = got;
    return got > 0 ? POSTIE_OK : POSTIE_DONE;
}

postie_status postie_compose_reader(void *user, char *buf, size_t cap, size_t *n)
{
    return postie_compose_read((postie_compose *)user, buf, cap, n);
}

postie_status postie_compose_size(const postie_compose_message *m, postie_compose *scratch,
                                  unsigned long long *size)
{
    char buf[256];
    size_t i, n = 0;
    unsigned long long total = 0;
    postie_status st;

    if (m == NULL || scratch == NULL || size == NULL) {
        return POSTIE_ERR_PARAM;
    }
    st = postie_compose_begin(scratch, m);
    if (st != POSTIE_OK) {
        return st;
    }
    if (m->body_read != NULL) {
        scratch->magic = 0;
        return POSTIE_ERR_UNSUPPORTED;
    }
    for (i = 0; i < m->attachment_count; i++) {
        if (m->attachments[i].read != NULL) {
            scratch->magic = 0;
            return POSTIE_ERR_UNSUPPORTED;
        }
    }
    while ((st = postie_compose_read(scratch, buf, sizeof buf, &n)) == POSTIE_OK) {
        total += n;
    }
    scratch->magic = 0;
    if (st != POSTIE_DONE) {
        return st; /* cannot happen without readers */
    }
    *size = total;
    return POSTIE_OK;
}

#else /* POSTIE_WITH_COMPOSE 0: the composer is not built; its calls say so */

postie_status postie_compose_format_date(int64_t time, int utc_offset_minutes, char *out,
                                         size_t cap, size_t *outlen)
{
    (void)time;
    (void)utc_offset_minutes;
    (void)out;
    (void)cap;
    if (outlen != NULL) {
        *outlen = 0;
    }
    return POSTIE_ERR_UNSUPPORTED;
}

void postie_compose_message_init(postie_compose_message *m)
{
    if (m != NULL) {
        memset(m, 0, sizeof *m);
        m->priority = POSTIE_COMPOSE_PRIORITY_NORMAL;
    }
}

postie_status postie_compose_begin(postie_compose *c, const postie_compose_message *m)
{
    (void)c;
    (void)m;
    return POSTIE_ERR_UNSUPPORTED;
}

int postie_compose_is_8bit(const postie_compose *c)
{
    (void)c;
    return 0;
}

const char *postie_compose_sender(const postie_compose *c)
{
    (void)c;
    return NULL;
}

size_t postie_compose_recipient_count(const postie_compose *c)
{
    (void)c;
    return 0;
}

const char *postie_compose_recipient(const postie_compose *c, size_t i)
{
    (void)c;
    (void)i;
    return NULL;
}

postie_status postie_compose_read(postie_compose *c, char *buf, size_t cap, size_t *n)
{
    (void)c;
    (void)buf;
    (void)cap;
    if (n != NULL) {
        *n = 0;
    }
    return POSTIE_ERR_UNSUPPORTED;
}

postie_status postie_compose_reader(void *user, char *buf, size_t cap, size_t *n)
{
    return postie_compose_read((postie_compose *)user, buf, cap, n);
}

postie_status postie_compose_size(const postie_compose_message *m, postie_compose *scratch,
                                  unsigned long long *size)
{
    (void)m;
    (void)scratch;
    if (size != NULL) {
        *size = 0;
    }
    return POSTIE_ERR_UNSUPPORTED;
}

#endif /* POSTIE_WITH_COMPOSE */
