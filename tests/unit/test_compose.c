/* Message composer: exact bytes, encodings, folding, injection, streaming. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "postie/base64.h"
#include "postie/compose.h"

static const unsigned char RND[16] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
                                      0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10};

static void base_message(postie_compose_message *m)
{
    postie_compose_message_init(m);
    m->time = 1700000000; /* Tue, 14 Nov 2023 22:13:20 UTC */
    m->utc_offset_minutes = 60;
    m->random = RND;
    m->random_len = sizeof RND;
    m->from.name = "Alice Example";
    m->from.address = "alice@example.org";
}

/* Reads the whole message with reads of `cap` bytes; returns a malloc'd,
 * NUL-terminated copy (the test owns it). */
static char *compose_all(const postie_compose_message *m, size_t cap, size_t *len)
{
    postie_compose c;
    size_t total = 0, room = 4096, n = 0;
    char *out = malloc(room);
    char *buf = malloc(cap);
    postie_status st;
    assert_non_null(out);
    assert_non_null(buf);
    assert_int_equal(postie_compose_begin(&c, m), POSTIE_OK);
    for (;;) {
        st = postie_compose_read(&c, buf, cap, &n);
        if (st == POSTIE_DONE) {
            assert_int_equal(n, 0);
            break;
        }
        assert_int_equal(st, POSTIE_OK);
        assert_true(n > 0 && n <= cap);
        if (total + n + 1 > room) {
            room = (total + n + 1) * 2;
            out = realloc(out, room);
            assert_non_null(out);
        }
        memcpy(out + total, buf, n);
        total += n;
    }
    /* stays done */
    assert_int_equal(postie_compose_read(&c, buf, cap, &n), POSTIE_DONE);
    assert_int_equal(n, 0);
    out[total] = '\0';
    free(buf);
    if (len != NULL) {
        *len = total;
    }
    return out;
}

/* Every line ends with CRLF, no bare CR or LF, and no line is longer than max. */
static void assert_lines(const char *s, size_t len, size_t max)
{
    size_t i, line = 0;
    for (i = 0; i < len; i++) {
        if (s[i] == '\r') {
            assert_true(i + 1 < len && s[i + 1] == '\n');
            assert_true(line <= max);
            line = 0;
            i++;
        } else {
            assert_true(s[i] != '\n');
            line++;
        }
    }
    assert_int_equal(line, 0); /* ends with CRLF */
}

/* The header section (up to and including the empty line). */
static size_t header_len(const char *s)
{
    const char *e = strstr(s, "\r\n\r\n");
    assert_non_null(e);
    return (size_t)(e - s) + 4;
}

/* The unfolded value of header `name` (first one), without the leading space;
 * NULL when absent. Caller frees. */
static char *header_value(const char *msg, const char *name)
{
    size_t hl = header_len(msg), nl = strlen(name), i = 0;
    while (i < hl) {
        const char *line = msg + i;
        if ((i == 0 || msg[i - 1] == '\n') && strncmp(line, name, nl) == 0 && line[nl] == ':') {
            char *v = malloc(hl);
            size_t o = 0, j = i + nl + 1;
            assert_non_null(v);
            for (;;) {
                if (msg[j] == '\r' && msg[j + 1] == '\n') {
                    if (msg[j + 2] == ' ' || msg[j + 2] == '\t') {
                        j += 2; /* unfold */
                        continue;
                    }
                    break;
                }
                v[o++] = msg[j++];
            }
            v[o] = '\0';
            if (v[0] == ' ') {
                memmove(v, v + 1, o);
            }
            return v;
        }
        i++;
    }
    return NULL;
}

/* Decodes a value made of RFC 2047 B encoded-words separated by whitespace
 * (and any plain text around them). Every encoded-word must be <= 75 chars
 * and decode to complete UTF-8 characters. Returns a malloc'd string. */
static int utf8_complete(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t l = p[i] < 0x80 ? 1 : p[i] < 0xE0 ? 2 : p[i] < 0xF0 ? 3 : 4;
        if (p[i] >= 0x80 && p[i] < 0xC0) {
            return 0;
        }
        if (i + l > n) {
            return 0;
        }
        i += l;
    }
    return 1;
}

static char *decode_ewords(const char *v, int *ewords)
{
    size_t n = strlen(v), i = 0, o = 0;
    char *out = malloc(n + 1);
    int last_was_eword = 0;
    assert_non_null(out);
    *ewords = 0;
    while (i < n) {
        if (strncmp(v + i, "=?UTF-8?B?", 10) == 0) {
            const char *end = strstr(v + i + 10, "?=");
            size_t got = 0;
            assert_non_null(end);
            assert_true((size_t)(end + 2 - (v + i)) <= 75);
            assert_int_equal(postie_base64_decode(v + i + 10, (size_t)(end - (v + i + 10)),
                                                  out + o, n + 1 - o, &got),
                             POSTIE_OK);
            assert_true(utf8_complete((const unsigned char *)out + o, got));
            o += got;
            i = (size_t)(end + 2 - v);
            (*ewords)++;
            last_was_eword = 1;
        } else if (last_was_eword && (v[i] == ' ' || v[i] == '\t')) {
            size_t j = i;
            while (j < n && (v[j] == ' ' || v[j] == '\t')) {
                j++;
            }
            if (strncmp(v + j, "=?", 2) == 0) {
                i = j; /* whitespace between encoded-words is dropped */
            } else {
                out[o++] = v[i++];
                last_was_eword = 0;
            }
        } else {
            out[o++] = v[i++];
            last_was_eword = 0;
        }
    }
    out[o] = '\0';
    return out;
}

/* ---- exact bytes ----------------------------------------------------------- */

static void test_plain_exact(void **state)
{
    postie_compose_message m;
    postie_compose_address to[2] = {{"Bob", "bob@example.com"}, {NULL, "carol@example.net"}};
    postie_compose_address cc[1] = {{"Dave D.", "dave@example.com"}};
    char *msg;
    size_t len;
    static const char expect[] =
        "Date: Tue, 14 Nov 2023 23:13:20 +0100\r\n"
        "From: Alice Example <alice@example.org>\r\n"
        "To: Bob <bob@example.com>, carol@example.net\r\n"
        "Cc: \"Dave D.\" <dave@example.com>\r\n"
        "Subject: Hello there\r\n"
        "Message-ID: <1700000000.0123456789ABCDEF@example.org>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "Hi Bob,\r\n"
        "\r\n"
        "see you.\r\n";
    (void)state;
    base_message(&m);
    m.to = to;
    m.to_count = 2;
    m.cc = cc;
    m.cc_count = 1;
    m.subject = "Hello there";
    m.body = "Hi Bob,\n\nsee you.";
    m.body_len = strlen(m.body);
    msg = compose_all(&m, 4096, &len);
    assert_string_equal(msg, expect);
    assert_int_equal(len, strlen(expect));
    free(msg);
}

/* Reply-To (folded before an address that does not fit) and Cc, whose field
 * names the composer finds by position; an empty subject, LOW priority, a
 * last line without its line break; read a byte at a time. */
static void test_reply_to_cc_exact(void **state)
{
    postie_compose_message m;
    postie_compose_address to[1] = {{NULL, "bob@example.com"}};
    postie_compose_address reply_to[2] = {{"Help Desk", "desk@example.org"},
                                          {NULL, "night-shift.supervisor@operations.example.org"}};
    postie_compose_address cc[2] = {{NULL, "log@example.net"},
                                    {"Archive", "archive@storage.example.net"}};
    char *msg;
    static const char expect[] =
        "Date: Tue, 14 Nov 2023 23:13:20 +0100\r\n"
        "From: Alice Example <alice@example.org>\r\n"
        "Reply-To: Help Desk <desk@example.org>,\r\n"
        " night-shift.supervisor@operations.example.org\r\n"
        "To: bob@example.com\r\n"
        "Cc: log@example.net, Archive <archive@storage.example.net>\r\n"
        "Subject:\r\n"
        "Message-ID: <1700000000.0123456789ABCDEF@example.org>\r\n"
        "X-Priority: 5 (Lowest)\r\n"
        "Importance: low\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "line one\r\n"
        "line two\r\n";
    (void)state;
    base_message(&m);
    m.reply_to = reply_to;
    m.reply_to_count = 2;
    m.to = to;
    m.to_count = 1;
    m.cc = cc;
    m.cc_count = 2;
    m.subject = "";
    m.priority = POSTIE_COMPOSE_PRIORITY_LOW;
    m.body = "line one\nline two";
    m.body_len = strlen(m.body);
    msg = compose_all(&m, 1, NULL);
    assert_string_equal(msg, expect);
    free(msg);
}

/* The Message-ID's time in decimal past 32 bits (no 64-bit division). */
static void test_message_id_time(void **state)
{
    static const int64_t times[] = {4294967296, 253402300799, 0};
    static const char *const expect[] = {"<4294967296.0123456789ABCDEF@example.org>",
                                         "<253402300799.0123456789ABCDEF@example.org>",
                                         "<0.0123456789ABCDEF@example.org>"};
    size_t k;
    (void)state;
    for (k = 0; k < 3; k++) {
        postie_compose_message m;
        char *msg, *v;
        base_message(&m);
        m.time = times[k];
        m.utc_offset_minutes = 0;
        msg = compose_all(&m, 4096, NULL);
        v = header_value(msg, "Message-ID");
        assert_string_equal(v, expect[k]);
        free(v);
        free(msg);
    }
}

static void test_multipart_exact(void **state)
{
    postie_compose_message m;
    postie_compose_attachment att[2] = {
        {"hello.txt", "text/plain", "hello world", 11, NULL, NULL},
        {NULL, NULL, "", 0, NULL, NULL},
    };
    char *msg;
    static const char expect[] =
        "Date: Tue, 14 Nov 2023 23:13:20 +0100\r\n"
        "From: Alice Example <alice@example.org>\r\n"
        "Message-ID: <1700000000.0123456789ABCDEF@example.org>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed;\r\n"
        " boundary=\"=_postie_FEDCBA9876543210\"\r\n"
        "\r\n"
        "This is a multi-part message in MIME format.\r\n"
        "\r\n"
        "--=_postie_FEDCBA9876543210\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
        "Body\r\n"
        "\r\n"
        "--=_postie_FEDCBA9876543210\r\n"
        "Content-Type: text/plain\r\n"
        "Content-Disposition: attachment;\r\n"
        " filename=\"hello.txt\"\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        "aGVsbG8gd29ybGQ=\r\n"
        "--=_postie_FEDCBA9876543210\r\n"
        "Content-Type: application/octet-stream\r\n"
        "Content-Disposition: attachment\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        "\r\n"
        "--=_postie_FEDCBA9876543210--\r\n";
    (void)state;
    base_message(&m);
    m.body = "Body\r\n";
    m.body_len = 6;
    m.attachments = att;
    m.attachment_count = 2;
    msg = compose_all(&m, 4096, NULL);
    assert_string_equal(msg, expect);
    free(msg);
}

/* ---- Date ------------------------------------------------------------------ */

static void check_date(int64_t t, int off, const char *expect)
{
    char out[40];
    size_t len = 0;
    assert_int_equal(postie_compose_format_date(t, off, out, sizeof out, &len), POSTIE_OK);
    assert_string_equal(out, expect);
    assert_int_equal(len, strlen(expect));
}

static void test_date(void **state)
{
    char out[40];
    (void)state;
    check_date(0, 0, "Thu, 1 Jan 1970 00:00:00 +0000");
    check_date(0, -60, "Wed, 31 Dec 1969 23:00:00 -0100");
    check_date(68169600, 0, "Tue, 29 Feb 1972 00:00:00 +0000");       /* leap day */
    check_date(951782400, 0, "Tue, 29 Feb 2000 00:00:00 +0000");      /* 400-year leap */
    check_date(1582934400, -210, "Fri, 28 Feb 2020 20:30:00 -0330");  /* negative, half hour */
    check_date(1709164800, -480, "Wed, 28 Feb 2024 16:00:00 -0800");
    check_date(1709164800 + 86399, 0, "Thu, 29 Feb 2024 23:59:59 +0000");
    check_date(1709164800 + 86399, 1, "Fri, 1 Mar 2024 00:00:59 +0001");
    check_date(4107542400, 0, "Mon, 1 Mar 2100 00:00:00 +0000");      /* 2100 not leap */
    check_date(1700000000, 345, "Wed, 15 Nov 2023 03:58:20 +0545");
    check_date(1700000000, 0, "Tue, 14 Nov 2023 22:13:20 +0000");
    check_date(253402300799, 0, "Fri, 31 Dec 9999 23:59:59 +0000");
    check_date(253402300799, -1439, "Fri, 31 Dec 9999 00:00:59 -2359");
    assert_int_equal(postie_compose_format_date(253402300799, 1, out, sizeof out, NULL), POSTIE_ERR_PARAM);
    assert_int_equal(postie_compose_format_date(-1, 0, out, sizeof out, NULL), POSTIE_ERR_PARAM);
    assert_int_equal(postie_compose_format_date(0, 1440, out, sizeof out, NULL), POSTIE_ERR_PARAM);
    assert_int_equal(postie_compose_format_date(0, -1440, out, sizeof out, NULL), POSTIE_ERR_PARAM);
    assert_int_equal(postie_compose_format_date(0, 0, NULL, 40, NULL), POSTIE_ERR_PARAM);
    assert_int_equal(postie_compose_format_date(0, 0, out, 30, NULL), POSTIE_ERR_BUFFER);
    assert_int_equal(postie_compose_format_date(0, 0, out, 31, NULL), POSTIE_OK);
}

/* Every day from 1969-12-31 to 9999-12-31, against a calendar counted a day
 * at a time (the composer splits the day number into centuries and years),
 * with the weekday, the time of day and the offset moving along. */
static void test_date_every_day(void **state)
{
    static const char wdays[] = "WedThuFriSatSunMonTue"; /* from 1969-12-31 */
    static const char mons[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    int y = 1969, mo = 12, d = 31, mdays;
    long long day;
    char out[40], expect[96];
    (void)state;
    for (day = -1; y <= 9999; day++) {
        int off = (int)(day % 2879) - 1439; /* -1439 .. 1439 */
        long long secs = (day * 7919) % 86400, t = day * 86400 + secs - off * 60LL;
        int a = off < 0 ? -off : off;
        if (t >= 0 && t <= 253402300799LL) {
            snprintf(expect, sizeof expect, "%.3s, %d %.3s %04d %02d:%02d:%02d %c%02d%02d",
                     wdays + 3 * ((day + 1) % 7), d, mons + 3 * (mo - 1), y, (int)(secs / 3600),
                     (int)(secs / 60 % 60), (int)(secs % 60), off < 0 ? '-' : '+', a / 60, a % 60);
            assert_int_equal(postie_compose_format_date(t, off, out, sizeof out, NULL), POSTIE_OK);
            if (strcmp(out, expect) != 0) {
                fail_msg("day %lld: \"%s\", expected \"%s\"", day, out, expect);
            }
        }
        mdays = mo == 2 ? ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28)
                        : (mo == 4 || mo == 6 || mo == 9 || mo == 11) ? 30 : 31;
        if (++d > mdays) {
            d = 1;
            if (++mo > 12) {
                mo = 1;
                y++;
            }
        }
    }
}

/* Strict UTF-8 by decoding (RFC 3629): the reference for the checks below. */
static int utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned long cp;
        size_t need, k;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        if (s[i] >= 0xC0 && s[i] < 0xE0) {
            need = 1;
        } else if (s[i] >= 0xE0 && s[i] < 0xF0) {
            need = 2;
        } else if (s[i] >= 0xF0 && s[i] < 0xF8) {
            need = 3;
        } else {
            return 0;
        }
        cp = s[i] & (0x3Fu >> need);
        for (k = 1; k <= need; k++) {
            if (i + k >= n || (s[i + k] & 0xC0) != 0x80) {
                return 0;
            }
            cp = cp << 6 | (s[i + k] & 0x3Fu);
        }
        if (cp < (need == 1 ? 0x80ul : need == 2 ? 0x800ul : 0x10000ul) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF)) {
            return 0;
        }
        i += need + 1;
    }
    return 1;
}

/* A subject is refused (POSTIE_ERR_PARAM) exactly when it is not strict
 * UTF-8: every sequence of one and two bytes, and every lead byte from 0xE0
 * on with two or three more bytes from around the edges of the
 * continuation ranges. */
static void test_utf8_subjects(void **state)
{
    static const unsigned char edge[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0};
    postie_compose_message m;
    postie_compose c;
    unsigned char s[8];
    unsigned long v, k;
    size_t n, i, j;
    (void)state;
    base_message(&m);
    m.subject = (const char *)s;
    for (v = 1; v < 0x10000 + 16 * 100 + 16 * 1000; v++) {
        if (v < 0x100) {
            s[0] = (unsigned char)v;
            n = 1;
        } else if (v < 0x10000) {
            s[0] = (unsigned char)(v >> 8);
            s[1] = (unsigned char)v;
            n = 2;
        } else if (v < 0x10000 + 16 * 100) {
            k = v - 0x10000;
            s[0] = (unsigned char)(0xE0 + k / 100);
            s[1] = edge[k / 10 % 10];
            s[2] = edge[k % 10];
            n = 3;
        } else {
            k = v - 0x10000 - 16 * 100;
            s[0] = (unsigned char)(0xF0 + k / 1000);
            s[1] = edge[k / 100 % 10];
            s[2] = edge[k / 10 % 10];
            s[3] = edge[k % 10];
            n = 4;
        }
        s[n] = '\0';
        for (i = 0; i < n && s[i] != '\0'; i++) {
        }
        for (j = 0; j < i && s[j] != '\r' && s[j] != '\n'; j++) {
        }
        if (j < i) {
            continue; /* CR or LF: refused for that */
        }
        if (postie_compose_begin(&c, &m) != (utf8_ok(s, i) ? POSTIE_OK : POSTIE_ERR_PARAM)) {
            fail_msg("subject %02x %02x %02x %02x (%zu bytes)", s[0], s[1], s[2], s[3], i);
        }
    }
}

/* ---- RFC 2047 ------------------------------------------------------------ */

static void check_subject(const char *subject, int min_ewords)
{
    postie_compose_message m;
    char *msg, *v, *dec;
    size_t len;
    int ew = 0;
    base_message(&m);
    m.subject = subject;
    msg = compose_all(&m, 4096, &len);
    assert_lines(msg, len, 76);
    v = header_value(msg, "Subject");
    assert_non_null(v);
    dec = decode_ewords(v, &ew);
    assert_string_equal(dec, subject);
    if (ew < min_ewords) {
        fail_msg("%d encoded-words for \"%s\"", ew, subject);
    }
    free(dec);
    free(v);
    free(msg);
}

static void test_rfc2047_subject(void **state)
{
    char s[200];
    size_t k;
    (void)state;
    check_subject("Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln", 1);
    check_subject("Caf\xc3\xa9 \xe2\x80\x94 a rather long subject line that needs several encoded-words "
                  "to fit within the limits \xf0\x9f\x98\x80 of RFC 2047 and RFC 5322, and then some more",
                  3);
    /* A 4-byte character placed at every offset around the first and second
     * encoded-word boundary: never split (decode_ewords checks each word). */
    for (k = 30; k < 100; k++) {
        memset(s, 'a', k);
        memcpy(s + k, "\xf0\x9f\x98\x80 tail \xe2\x82\xac", 13);
        s[k + 13] = '\0';
        check_subject(s, 2);
    }
    /* Plain ASCII stays plain; "=?" in it forces encoding. */
    check_subject("=?not an encoded word?=", 1);
    check_subject("tab\there", 0);       /* a tab is whitespace: kept plain */
    check_subject("bell\x07 char", 1);
    check_subject(" leading space", 1);
}

static void test_rfc2047_plain_ascii_untouched(void **state)
{
    postie_compose_message m;
    char *msg, *v;
    (void)state;
    base_message(&m);
    m.subject = "Quarterly report: numbers (final) & notes";
    msg = compose_all(&m, 4096, NULL);
    v = header_value(msg, "Subject");
    assert_string_equal(v, "Quarterly report: numbers (final) & notes");
    assert_null(strstr(msg, "=?"));
    free(v);
    free(msg);
}

static void test_display_names(void **state)
{
    postie_compose_message m;
    postie_compose_address to[4] = {
        {"Smith, John", "js@example.com"},
        {"Say \"hi\" \\ back", "q@example.com"},
        {"J\xc3\xbcrgen M\xc3\xbcller", "jm@example.de"},
        {"", "plain@example.com"},
    };
    char *msg, *v, *dec;
    int ew;
    (void)state;
    base_message(&m);
    m.to = to;
    m.to_count = 4;
    msg = compose_all(&m, 4096, NULL);
    v = header_value(msg, "To");
    dec = decode_ewords(v, &ew);
    assert_int_equal(ew, 1);
    assert_string_equal(dec, "\"Smith, John\" <js@example.com>, \"Say \\\"hi\\\" \\\\ back\" <q@example.com>, "
                             "J\xc3\xbcrgen M\xc3\xbcller <jm@example.de>, plain@example.com");
    free(dec);
    free(v);
    free(msg);
}

/* ---- folding --------------------------------------------------------------- */

static void test_folding_many_addresses(void **state)
{
    postie_compose_message m;
    postie_compose_address to[60];
    char names[60][32], addrs[60][40], expect[8192];
    char *msg, *v;
    size_t i, len, o = 0;
    (void)state;
    base_message(&m);
    for (i = 0; i < 60; i++) {
        size_t nl = 0, al = 0;
        names[i][nl++] = 'U';
        names[i][nl++] = 's';
        names[i][nl++] = 'e';
        names[i][nl++] = 'r';
        names[i][nl++] = ' ';
        names[i][nl++] = (char)('A' + i % 26);
        names[i][nl++] = (char)('0' + i / 10);
        names[i][nl++] = (char)('0' + i % 10);
        names[i][nl] = '\0';
        memcpy(addrs[i], "someone.with.a.long.name", 24);
        al = 24;
        addrs[i][al++] = (char)('0' + i / 10);
        addrs[i][al++] = (char)('0' + i % 10);
        memcpy(addrs[i] + al, "@example.com", 13);
        to[i].name = (i % 3 == 2) ? NULL : names[i];
        to[i].address = addrs[i];
        if (i > 0) {
            memcpy(expect + o, ", ", 2);
            o += 2;
        }
        if (to[i].name != NULL) {
            o += (size_t)(strlen(names[i]));
            memcpy(expect + o - strlen(names[i]), names[i], strlen(names[i]));
            expect[o++] = ' ';
            expect[o++] = '<';
        }
        memcpy(expect + o, addrs[i], strlen(addrs[i]));
        o += strlen(addrs[i]);
        if (to[i].name != NULL) {
            expect[o++] = '>';
        }
    }
    expect[o] = '\0';
    m.to = to;
    m.to_count = 60;
    m.cc = to;
    m.cc_count = 60;
    m.subject = "a b c d e f g h i j k l m n o p q r s t u v w x y z a b c d e f g h i j k l m n o "
                "p q r s t u v w x y z a b c d e f g h i j k l m n o p q r s t u v w x y z";
    msg = compose_all(&m, 4096, &len);
    assert_lines(msg, len, 78);
    v = header_value(msg, "To");
    assert_string_equal(v, expect);
    free(v);
    v = header_value(msg, "Cc");
    assert_string_equal(v, expect);
    free(v);
    v = header_value(msg, "Subject");
    assert_string_equal(v, m.subject);
    free(v);
    /* folded: more than 60 header lines */
    {
        size_t lines = 0, hl = header_len(msg);
        for (i = 0; i < hl; i++) {
            lines += msg[i] == '\n';
        }
        assert_true(lines > 60);
    }
    free(msg);
}

/* ---- Bcc, injection, parameters -------------------------------------------- */

static void test_bcc_absent(void **state)
{
    postie_compose_message m;
    postie_compose_address to[1] = {{NULL, "to@example.com"}};
    postie_compose_address bcc[2] = {{"Secret Person", "secret@hidden.example"}, {NULL, "b2@hidden.example"}};
    postie_compose c;
    char *msg;
    (void)state;
    base_message(&m);
    m.to = to;
    m.to_count = 1;
    m.bcc = bcc;
    m.bcc_count = 2;
    msg = compose_all(&m, 4096, NULL);
    assert_null(strstr(msg, "hidden"));
    assert_null(strstr(msg, "Secret"));
    assert_null(strstr(msg, "Bcc"));
    free(msg);
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_OK);
    assert_string_equal(postie_compose_sender(&c), "alice@example.org");
    assert_int_equal(postie_compose_recipient_count(&c), 3);
    assert_string_equal(postie_compose_recipient(&c, 0), "to@example.com");
    assert_string_equal(postie_compose_recipient(&c, 1), "secret@hidden.example");
    assert_string_equal(postie_compose_recipient(&c, 2), "b2@hidden.example");
    assert_null(postie_compose_recipient(&c, 3));
}

static void expect_refused(const postie_compose_message *m)
{
    postie_compose c;
    char buf[16];
    size_t n = 99;
    memset(&c, 0xA5, sizeof c);
    assert_int_equal(postie_compose_begin(&c, m), POSTIE_ERR_PARAM);
    assert_int_equal(postie_compose_read(&c, buf, sizeof buf, &n), POSTIE_ERR_STATE);
    assert_int_equal(n, 0);
}

static void test_injection_refused(void **state)
{
    static const char *const bad[] = {"x\r\nBcc: evil@example.com", "x\ry", "x\nX-Evil: 1", "\n", "\r"};
    static const char *const bad_addr[] = {"a@b\r\nBcc: evil@example.com", "a@b\n", "a@\rb",
                                           "a b@c", "<a@b>", "a@b,c@d", "ab", "@b", "a@", "a@b@c",
                                           "\xc3\xa4@b", ""};
    postie_compose_message m;
    postie_compose_address list[2];
    postie_compose_header h[1];
    postie_compose_attachment att[1];
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        base_message(&m);
        m.subject = bad[i];
        expect_refused(&m);
        base_message(&m);
        m.from.name = bad[i];
        expect_refused(&m);
        base_message(&m);
        list[0].name = "ok";
        list[0].address = "ok@example.com";
        list[1].name = bad[i];
        list[1].address = "x@example.com";
        m.to = list;
        m.to_count = 2;
        expect_refused(&m);
        m.to_count = 0;
        m.cc = list;
        m.cc_count = 2;
        expect_refused(&m);
        m.cc_count = 0;
        m.bcc = list;
        m.bcc_count = 2;
        expect_refused(&m);
        m.bcc_count = 0;
        m.reply_to = list;
        m.reply_to_count = 2;
        expect_refused(&m);
        base_message(&m);
        h[0].name = "X-Test";
        h[0].value = bad[i];
        m.headers = h;
        m.header_count = 1;
        expect_refused(&m);
        base_message(&m);
        memset(att, 0, sizeof att);
        att[0].filename = bad[i];
        m.attachments = att;
        m.attachment_count = 1;
        expect_refused(&m);
        att[0].filename = "f.txt";
        att[0].content_type = bad[i];
        expect_refused(&m);
        base_message(&m);
        m.message_id_domain = bad[i];
        expect_refused(&m);
    }
    for (i = 0; i < sizeof bad_addr / sizeof bad_addr[0]; i++) {
        base_message(&m);
        m.from.address = bad_addr[i];
        expect_refused(&m);
        base_message(&m);
        list[0].name = NULL;
        list[0].address = bad_addr[i];
        m.to = list;
        m.to_count = 1;
        expect_refused(&m);
        m.to_count = 0;
        m.bcc = list;
        m.bcc_count = 1;
        expect_refused(&m);
        m.bcc_count = 0;
        m.cc = list;
        m.cc_count = 1;
        expect_refused(&m);
        m.cc_count = 0;
        m.reply_to = list;
        m.reply_to_count = 1;
        expect_refused(&m);
    }
    /* header names */
    {
        static const char *const names[] = {"X-Evil\r\nTo", "Bcc", "bcc", "To", "Subject", "Date",
                                            "Content-Type", "content-transfer-encoding",
                                            "MIME-Version", "Message-ID", "X Space", "X:Colon", "",
                                            "X-Priority", "Importance", "Reply-To", "From", "Cc"};
        for (i = 0; i < sizeof names / sizeof names[0]; i++) {
            base_message(&m);
            h[0].name = names[i];
            h[0].value = "v";
            m.headers = h;
            m.header_count = 1;
            expect_refused(&m);
        }
    }
    /* invalid UTF-8 */
    base_message(&m);
    m.subject = "bad \xc3\x28 utf8";
    expect_refused(&m);
    base_message(&m);
    m.subject = "overlong \xc0\xaf";
    expect_refused(&m);
    base_message(&m);
    m.from.name = "surrogate \xed\xa0\x80";
    expect_refused(&m);
}

static void test_params(void **state)
{
    postie_compose_message m;
    postie_compose c;
    char buf[8];
    size_t n = 5;
    (void)state;
    base_message(&m);
    assert_int_equal(postie_compose_begin(NULL, &m), POSTIE_ERR_PARAM);
    assert_int_equal(postie_compose_begin(&c, NULL), POSTIE_ERR_PARAM);
    m.random_len = 15;
    expect_refused(&m);
    base_message(&m);
    m.random = NULL;
    expect_refused(&m);
    base_message(&m);
    m.from.address = NULL;
    expect_refused(&m);
    base_message(&m);
    m.to_count = 1; /* to NULL */
    expect_refused(&m);
    base_message(&m);
    m.body_len = 3; /* body NULL */
    expect_refused(&m);
    base_message(&m);
    m.time = -1;
    expect_refused(&m);
    base_message(&m);
    m.utc_offset_minutes = 1440;
    expect_refused(&m);
    base_message(&m);
    m.from.address = "a@[192.0.2.1]"; /* literal: no Message-ID domain */
    expect_refused(&m);
    m.message_id_domain = "mail.example.org";
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_OK);
    base_message(&m);
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_OK);
    assert_int_equal(postie_compose_read(&c, buf, 0, &n), POSTIE_ERR_PARAM);
    assert_int_equal(n, 0);
    assert_int_equal(postie_compose_read(&c, NULL, 8, &n), POSTIE_ERR_PARAM);
    assert_int_equal(postie_compose_read(&c, buf, 8, NULL), POSTIE_ERR_PARAM);
    assert_int_equal(postie_compose_read(NULL, buf, 8, &n), POSTIE_ERR_PARAM);
}

/* ---- priority ------------------------------------------------------------- */

static void test_priority(void **state)
{
    postie_compose_message m;
    char *msg;
    static const int badp[] = {0, 3, 5, -1, 100};
    size_t i;
    (void)state;
    base_message(&m);
    m.priority = POSTIE_COMPOSE_PRIORITY_HIGH;
    msg = compose_all(&m, 4096, NULL);
    assert_non_null(strstr(msg, "\r\nX-Priority: 1 (Highest)\r\nImportance: high\r\n"));
    free(msg);
    m.priority = POSTIE_COMPOSE_PRIORITY_LOW;
    msg = compose_all(&m, 4096, NULL);
    assert_non_null(strstr(msg, "\r\nX-Priority: 5 (Lowest)\r\nImportance: low\r\n"));
    free(msg);
    m.priority = POSTIE_COMPOSE_PRIORITY_NORMAL;
    msg = compose_all(&m, 4096, NULL);
    assert_null(strstr(msg, "X-Priority"));
    assert_null(strstr(msg, "Importance"));
    free(msg);
    for (i = 0; i < sizeof badp / sizeof badp[0]; i++) {
        base_message(&m);
        m.priority = badp[i];
        expect_refused(&m);
    }
}

/* ---- caller headers ---------------------------------------------------------- */

static void test_extra_headers(void **state)
{
    postie_compose_message m;
    postie_compose_header h[3] = {
        {"X-Mailer", "Postie"},
        {"List-Unsubscribe", "<https://example.com/unsubscribe?id=0123456789abcdef0123456789abcdef0123456789>"},
        {"X-Comment", "\xc3\xa9t\xc3\xa9"},
    };
    char *msg, *v, *dec;
    size_t len;
    int ew;
    (void)state;
    base_message(&m);
    m.headers = h;
    m.header_count = 3;
    msg = compose_all(&m, 4096, &len);
    assert_lines(msg, len, 998);
    assert_non_null(strstr(msg, "\r\nX-Mailer: Postie\r\n"));
    v = header_value(msg, "List-Unsubscribe");
    assert_string_equal(v, h[1].value);
    free(v);
    v = header_value(msg, "X-Comment");
    dec = decode_ewords(v, &ew);
    assert_int_equal(ew, 1);
    assert_string_equal(dec, h[2].value);
    free(dec);
    free(v);
    free(msg);
}

/* ---- body encodings ---------------------------------------------------------- */

static char *body_of(const char *msg)
{
    return (char *)msg + header_len(msg);
}

static char *compose_body(const char *body, size_t blen, int allow8, char *cte, size_t ctecap)
{
    postie_compose_message m;
    char *msg, *v;
    base_message(&m);
    m.body = body;
    m.body_len = blen;
    m.allow_8bit = allow8;
    msg = compose_all(&m, 4096, NULL);
    v = header_value(msg, "Content-Transfer-Encoding");
    assert_non_null(v);
    assert_true(strlen(v) < ctecap);
    memcpy(cte, v, strlen(v) + 1);
    free(v);
    return msg;
}

/* Decodes quoted-printable (CRLF hard breaks kept as CRLF, soft breaks removed). */
static size_t qp_decode(const char *in, char *out)
{
    size_t i = 0, o = 0, n = strlen(in);
    while (i < n) {
        if (in[i] == '=') {
            if (in[i + 1] == '\r' && in[i + 2] == '\n') {
                i += 3;
                continue;
            }
            {
                char hex[3] = {in[i + 1], in[i + 2], 0};
                assert_true(strchr("0123456789ABCDEF", hex[0]) != NULL && hex[0] != 0);
                assert_true(strchr("0123456789ABCDEF", hex[1]) != NULL && hex[1] != 0);
                out[o++] = (char)strtol(hex, NULL, 16);
                i += 3;
            }
        } else {
            out[o++] = in[i++];
        }
    }
    return o;
}

static void test_qp_body(void **state)
{
    char cte[32], dec[4096];
    char *msg, *b;
    size_t dl;
    static const char body[] = "a=b \nend with tab\t\r\n\xc3\xa9t\xc3\xa9\nbare\rcr\n"
                               "=\r\n"
                               "012345678901234567890123456789012345678901234567890123456789"
                               "012345678901234567890123456789 tail  \n"
                               "x\x01y\x7f" "z" " \t";
    static const char expect[] = "a=3Db=20\r\n"
                                 "end with tab=09\r\n"
                                 "=C3=A9t=C3=A9\r\n"
                                 "bare=0Dcr\r\n"
                                 "=3D\r\n"
                                 "012345678901234567890123456789012345678901234567890123456789012345678901234=\r\n"
                                 "567890123456789 tail =20\r\n"
                                 "x=01y=7Fz =09\r\n";
    (void)state;
    msg = compose_body(body, sizeof body - 1, 0, cte, sizeof cte);
    assert_string_equal(cte, "quoted-printable");
    b = body_of(msg);
    assert_string_equal(b, expect);
    assert_lines(b, strlen(b), 76);
    dl = qp_decode(b, dec);
    dec[dl] = '\0';
    assert_string_equal(dec, "a=b \r\nend with tab\t\r\n\xc3\xa9t\xc3\xa9\r\nbare\rcr\r\n=\r\n"
                             "012345678901234567890123456789012345678901234567890123456789"
                             "012345678901234567890123456789 tail  \r\n"
                             "x\x01y\x7fz \t\r\n");
    free(msg);
}

static void test_qp_long_line_and_encoded_at_edge(void **state)
{
    char cte[32], body[2000], dec[8000];
    char *msg, *b;
    size_t i, dl;
    (void)state;
    /* '=' everywhere: encoded triples must not be split by a soft break */
    for (i = 0; i < 1500; i++) {
        body[i] = (char)(i % 7 == 0 ? '=' : (i % 11 == 0 ? '\xff' : 'a' + (char)(i % 26)));
    }
    msg = compose_body(body, 1500, 1, cte, sizeof cte);
    assert_string_equal(cte, "quoted-printable"); /* 1500-octet line: never 8bit */
    b = body_of(msg);
    assert_lines(b, strlen(b), 76);
    dl = qp_decode(b, dec);
    assert_int_equal(dl, 1502); /* + CRLF added at the end */
    assert_memory_equal(dec, body, 1500);
    assert_memory_equal(dec + 1500, "\r\n", 2);
    free(msg);
}

static void test_8bit_and_7bit(void **state)
{
    char cte[32];
    char *msg;
    postie_compose c;
    postie_compose_message m;
    char line998[1001];
    (void)state;
    msg = compose_body("Gr\xc3\xbc\xc3\x9f" "e\n", 7, 1, cte, sizeof cte);
    assert_string_equal(cte, "8bit");
    assert_string_equal(body_of(msg), "Gr\xc3\xbc\xc3\x9f" "e\r\n");
    free(msg);
    msg = compose_body("Gr\xc3\xbc\xc3\x9f" "e\n", 7, 0, cte, sizeof cte);
    assert_string_equal(cte, "quoted-printable");
    assert_string_equal(body_of(msg), "Gr=C3=BC=C3=9Fe\r\n");
    free(msg);
    msg = compose_body("plain ascii  \nline\n", 19, 0, cte, sizeof cte);
    assert_string_equal(cte, "7bit");
    assert_string_equal(body_of(msg), "plain ascii  \r\nline\r\n");
    free(msg);
    /* exactly 998 octets: still 7bit; 999: quoted-printable */
    memset(line998, 'x', 999);
    line998[999] = '\n';
    msg = compose_body(line998, 998, 0, cte, sizeof cte);
    assert_string_equal(cte, "7bit");
    free(msg);
    msg = compose_body(line998, 999, 1, cte, sizeof cte);
    assert_string_equal(cte, "quoted-printable");
    free(msg);
    /* NUL forces QP even with 8BITMIME */
    msg = compose_body("a\0b", 3, 1, cte, sizeof cte);
    assert_string_equal(cte, "quoted-printable");
    assert_string_equal(body_of(msg), "a=00b\r\n");
    free(msg);
    /* empty body */
    msg = compose_body(NULL, 0, 0, cte, sizeof cte);
    assert_string_equal(cte, "7bit");
    assert_string_equal(body_of(msg), "");
    free(msg);

    base_message(&m);
    m.body = "\xc3\xa9";
    m.body_len = 2;
    m.allow_8bit = 1;
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_OK);
    assert_int_equal(postie_compose_is_8bit(&c), 1);
    m.allow_8bit = 0;
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_OK);
    assert_int_equal(postie_compose_is_8bit(&c), 0);
}

static void test_boundary_lookalike_in_body(void **state)
{
    postie_compose_message m;
    postie_compose_attachment att[1] = {{"a.bin", NULL, "x", 1, NULL, NULL}};
    char *msg, *v;
    (void)state;
    base_message(&m);
    m.body = "line\n--=_postie_FEDCBA9876543210--\nmore\n";
    m.body_len = strlen(m.body);
    m.attachments = att;
    m.attachment_count = 1;
    msg = compose_all(&m, 4096, NULL);
    v = strstr(msg, "charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                    "line\r\n--=3D_postie_FEDCBA9876543210--\r\nmore\r\n");
    assert_non_null(v);
    free(msg);
}

/* ---- readers ------------------------------------------------------------------ */

/* xorshift32 byte source with a varying piece size. */
typedef struct prng_reader {
    uint32_t state;
    uint64_t left;
    size_t piece;
    unsigned calls;
} prng_reader;

static unsigned char prng_byte(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return (unsigned char)(x >> 24);
}

/* n bytes of the same sequence as n calls of prng_byte(), faster. */
static void prng_fill(uint32_t *s, unsigned char *out, size_t n)
{
    uint32_t x = *s;
    size_t i;
    for (i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out[i] = (unsigned char)(x >> 24);
    }
    *s = x;
}

static postie_status prng_read(void *user, char *buf, size_t cap, size_t *n)
{
    prng_reader *r = user;
    size_t k;
    if (r->left == 0) {
        *n = 0;
        return POSTIE_DONE;
    }
    r->calls++;
    k = r->piece == 0 ? cap : (r->piece + r->calls % 5) % cap + 1;
    if (k > cap) {
        k = cap;
    }
    if (k > r->left) {
        k = (size_t)r->left;
    }
    prng_fill(&r->state, (unsigned char *)buf, k);
    r->left -= k;
    *n = k;
    return POSTIE_OK;
}

/* Finds the base64 content of the attachment whose headers start at `part`. */
static unsigned char *decode_part(const char *part, size_t *outlen)
{
    const char *start = strstr(part, "\r\n\r\n");
    const char *end;
    char *clean;
    unsigned char *out;
    size_t i, c = 0, line = 0, cap;
    assert_non_null(start);
    start += 4;
    end = strstr(start, "\r\n--=_postie_");
    assert_non_null(end);
    clean = malloc((size_t)(end - start) + 1);
    for (i = 0; start + i < end; i++) {
        if (start[i] == '\r') {
            assert_int_equal(start[i + 1], '\n');
            assert_int_equal(line, 76); /* every line but the last is full */
            line = 0;
            i++;
            continue;
        }
        clean[c++] = start[i];
        line++;
    }
    assert_true(line <= 76);
    cap = c / 4 * 3 + 3;
    out = malloc(cap);
    assert_int_equal(postie_base64_decode(clean, c, out, cap, outlen), POSTIE_OK);
    free(clean);
    return out;
}

static void test_attachment_roundtrip(void **state)
{
    postie_compose_message m;
    postie_compose_attachment att[2];
    prng_reader r = {12345u, 10000, 7, 0};
    unsigned char data[1000], expect[10000];
    uint32_t s = 12345u;
    unsigned char *dec;
    char *msg, *p;
    size_t i, dl;
    (void)state;
    for (i = 0; i < sizeof data; i++) {
        data[i] = (unsigned char)(i * 7 + 3);
    }
    for (i = 0; i < sizeof expect; i++) {
        expect[i] = prng_byte(&s);
    }
    memset(att, 0, sizeof att);
    att[0].filename = "data.bin";
    att[0].data = data;
    att[0].len = sizeof data;
    att[1].filename = "stream.bin";
    att[1].content_type = "application/x-test";
    att[1].read = prng_read;
    att[1].read_user = &r;
    base_message(&m);
    m.body = "see attached";
    m.body_len = strlen(m.body);
    m.attachments = att;
    m.attachment_count = 2;
    msg = compose_all(&m, 333, NULL);
    p = strstr(msg, "filename=\"data.bin\"");
    assert_non_null(p);
    dec = decode_part(p, &dl);
    assert_int_equal(dl, sizeof data);
    assert_memory_equal(dec, data, sizeof data);
    free(dec);
    p = strstr(msg, "Content-Type: application/x-test\r\n");
    assert_non_null(p);
    dec = decode_part(p, &dl);
    assert_int_equal(dl, sizeof expect);
    assert_memory_equal(dec, expect, sizeof expect);
    free(dec);
    assert_non_null(strstr(msg, "\r\n--=_postie_FEDCBA9876543210--\r\n"));
    free(msg);
}

static void test_filename_rfc2231(void **state)
{
    postie_compose_message m;
    postie_compose_attachment att[3];
    char *msg;
    size_t len;
    (void)state;
    memset(att, 0, sizeof att);
    att[0].filename = "r\xc3\xa9sum\xc3\xa9 2024.pdf";
    att[1].filename = "a very long file name that certainly does not fit on a single header line.txt";
    att[2].filename = "quote\"and\\back.txt";
    base_message(&m);
    m.attachments = att;
    m.attachment_count = 3;
    msg = compose_all(&m, 4096, &len);
    assert_lines(msg, len, 76);
    assert_non_null(strstr(msg, "Content-Disposition: attachment;\r\n"
                                " filename*=UTF-8''r%C3%A9sum%C3%A9%202024.pdf\r\n"));
    assert_non_null(strstr(msg, "Content-Disposition: attachment;\r\n"
                                " filename*0*=UTF-8''a%20very%20long%20file%20name%20that%20certainly%20does;\r\n"
                                " filename*1*=%20not%20fit%20on%20a%20single%20header%20line.txt\r\n"));
    assert_non_null(strstr(msg, " filename=\"quote\\\"and\\\\back.txt\"\r\n"));
    free(msg);
}

typedef struct fail_reader {
    int calls;
    postie_status fail_with;
    size_t give;
} fail_reader;

static postie_status failing_read(void *user, char *buf, size_t cap, size_t *n)
{
    fail_reader *f = user;
    (void)cap;
    if (f->calls++ < 2) {
        buf[0] = 'x';
        *n = 1;
        return POSTIE_OK;
    }
    *n = f->give;
    return f->fail_with;
}

static void test_reader_errors(void **state)
{
    postie_compose_message m;
    postie_compose c;
    fail_reader f = {0, POSTIE_ERR_IO, 0};
    char buf[64];
    size_t n;
    postie_status st;
    (void)state;
    base_message(&m);
    m.body_read = failing_read;
    m.body_user = &f;
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_OK);
    do {
        st = postie_compose_read(&c, buf, sizeof buf, &n);
    } while (st == POSTIE_OK);
    assert_int_equal(st, POSTIE_ERR_IO);
    assert_int_equal(postie_compose_read(&c, buf, sizeof buf, &n), POSTIE_ERR_IO); /* sticky */
    assert_int_equal(n, 0);
    /* contract broken: OK with 0 bytes */
    f.calls = 0;
    f.fail_with = POSTIE_OK;
    f.give = 0;
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_OK);
    do {
        st = postie_compose_read(&c, buf, sizeof buf, &n);
    } while (st == POSTIE_OK);
    assert_int_equal(st, POSTIE_ERR_PARAM);
    /* contract broken: more than cap */
    f.calls = 0;
    f.give = POSTIE_COMPOSE_IN_SIZE + 1;
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_OK);
    do {
        st = postie_compose_read(&c, buf, sizeof buf, &n);
    } while (st == POSTIE_OK);
    assert_int_equal(st, POSTIE_ERR_PARAM);
}

/* A reader that hands its last bytes together with POSTIE_DONE. */
typedef struct done_reader {
    const char *s;
    size_t pos;
} done_reader;

static postie_status done_with_bytes_read(void *user, char *buf, size_t cap, size_t *n)
{
    done_reader *r = user;
    size_t left = strlen(r->s) - r->pos, k = left < 4 ? left : 4;
    (void)cap;
    memcpy(buf, r->s + r->pos, k);
    r->pos += k;
    *n = k;
    return r->pos == strlen(r->s) ? POSTIE_DONE : POSTIE_OK;
}

static void test_reader_done_with_bytes(void **state)
{
    postie_compose_message m;
    postie_compose_attachment att[1];
    done_reader rb = {"body text", 0}, ra = {"attachment!", 0};
    char *msg;
    (void)state;
    memset(att, 0, sizeof att);
    att[0].read = done_with_bytes_read;
    att[0].read_user = &ra;
    base_message(&m);
    m.body_read = done_with_bytes_read;
    m.body_user = &rb;
    m.attachments = att;
    m.attachment_count = 1;
    msg = compose_all(&m, 4096, NULL);
    assert_non_null(strstr(msg, "quoted-printable\r\n\r\nbody text\r\n--="));
    assert_non_null(strstr(msg, "base64\r\n\r\nYXR0YWNobWVudCE=\r\n--="));
    free(msg);
}

static void test_streamed_body_is_qp(void **state)
{
    postie_compose_message m;
    prng_reader r = {777u, 5000, 3, 0};
    char *msg, *v;
    size_t len;
    (void)state;
    base_message(&m);
    m.body_read = prng_read;
    m.body_user = &r;
    m.allow_8bit = 1;
    msg = compose_all(&m, 100, &len);
    v = header_value(msg, "Content-Transfer-Encoding");
    assert_string_equal(v, "quoted-printable");
    free(v);
    assert_lines(msg, len, 76);
    {
        char *dec = malloc(len);
        size_t dl = qp_decode(body_of(msg), dec), i, o = 0;
        uint32_t s = 777u;
        /* the decoded body equals the source with bare LF turned into CRLF
         * (and bare CR kept) plus a final CRLF */
        unsigned char prev = 0;
        for (i = 0; i < 5000; i++) {
            unsigned char b = prng_byte(&s);
            if (b == '\n' && prev != '\r') {
                assert_int_equal((unsigned char)dec[o++], '\r');
            }
            assert_int_equal((unsigned char)dec[o++], b);
            prev = b;
        }
        if (!(o >= 1 && dec[o - 1] == '\n')) {
            assert_memory_equal(dec + o, "\r\n", 2);
            o += 2;
        }
        assert_int_equal(o, dl);
        free(dec);
    }
    free(msg);
}

/* ---- 50 MB streamed ---------------------------------------------------------- */

typedef struct checker {
    char line[1024];
    size_t len;
    int in_b64;
    uint32_t expect_state;
    uint64_t decoded;
    int closed;
    unsigned lines;
} checker;

static void check_line(checker *k)
{
    if (!k->in_b64) {
        if (k->len == 0 && k->lines > 0 && k->decoded == 0 && k->closed == 1) {
            k->in_b64 = 1; /* blank line after the attachment's headers */
            return;
        }
        if (strncmp(k->line, "Content-Transfer-Encoding: base64", 33) == 0) {
            k->closed = 1;
        }
        return;
    }
    if (k->len >= 2 && k->line[0] == '-' && k->line[1] == '-') {
        k->in_b64 = 0;
        k->closed = 2;
        return;
    }
    {
        unsigned char out[80], want[80];
        size_t got = 0;
        if (k->len > 76 || postie_base64_decode(k->line, k->len, out, sizeof out, &got) != POSTIE_OK) {
            fail_msg("bad base64 line %u", k->lines);
        }
        prng_fill(&k->expect_state, want, got);
        if (memcmp(out, want, got) != 0) {
            fail_msg("bytes after %llu differ", (unsigned long long)k->decoded);
        }
        k->decoded += got;
    }
}

static void test_50mb_streamed(void **state)
{
    postie_compose_message m;
    postie_compose c;
    postie_compose_attachment att[1];
    prng_reader r = {0xC0FFEEu, 50u * 1024 * 1024, 0, 0};
    checker k;
    static char buf[4096];
    size_t n, i;
    uint64_t total = 0;
    postie_status st;
    (void)state;
    /* the composer holds only small fixed buffers */
    assert_true(sizeof(postie_compose) < 2048);
    memset(&k, 0, sizeof k);
    k.expect_state = 0xC0FFEEu;
    memset(att, 0, sizeof att);
    att[0].filename = "big.bin";
    att[0].read = prng_read;
    att[0].read_user = &r;
    base_message(&m);
    m.body = "50 MB follow";
    m.body_len = strlen(m.body);
    m.attachments = att;
    m.attachment_count = 1;
    assert_int_equal(postie_compose_begin(&c, &m), POSTIE_OK);
    while ((st = postie_compose_read(&c, buf, sizeof buf, &n)) == POSTIE_OK) {
        total += n;
        /* plain ifs, not cmocka asserts, in the per-byte loop: keeps it fast */
        for (i = 0; i < n; i++) {
            if (buf[i] == '\n') {
                if (k.len == 0 || k.line[k.len - 1] != '\r') {
                    fail_msg("bare LF after %llu bytes", (unsigned long long)(total - n + i));
                }
                k.len--;
                k.line[k.len] = '\0';
                check_line(&k);
                k.lines++;
                k.len = 0;
            } else {
                if (k.len >= sizeof k.line - 1) {
                    fail_msg("line too long");
                }
                k.line[k.len++] = buf[i];
            }
        }
    }
    assert_int_equal(st, POSTIE_DONE);
    assert_int_equal(k.len, 0);
    assert_int_equal(k.closed, 2);
    assert_true(k.decoded == 50u * 1024 * 1024);
    assert_true(total > 50u * 1024 * 1024 / 3 * 4);
}

/* ---- read size independence ------------------------------------------------- */

static void test_read_sizes_identical(void **state)
{
    /* every cap from 1 to past the staging buffer, and a large one */
    size_t caps[POSTIE_COMPOSE_BUF_SIZE + 60];
    postie_compose_address to[3] = {{"Ren\xc3\xa9 Dupont", "rene@example.fr"}, {NULL, "x@example.com"},
                                    {"\"Quoted\" Name", "q@example.com"}};
    postie_compose_header h[1] = {{"X-Note", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e text"}};
    postie_compose_attachment att[2];
    postie_compose_message m;
    char *first = NULL;
    size_t first_len = 0, i;
    (void)state;
    for (i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        caps[i] = i + 1;
    }
    caps[sizeof caps / sizeof caps[0] - 1] = 4096;
    for (i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        prng_reader r1 = {99u, 3000, 5, 0}, r2 = {1234u, 777, 0, 0};
        char *msg;
        size_t len;
        memset(att, 0, sizeof att);
        att[0].filename = "\xe6\x97\xa5\xe6\x9c\xac.txt";
        att[0].read = prng_read;
        att[0].read_user = &r1;
        att[1].data = "abc";
        att[1].len = 3;
        base_message(&m);
        m.to = to;
        m.to_count = 3;
        m.subject = "Caf\xc3\xa9 cr\xc3\xa8me br\xc3\xbbl\xc3\xa9" "e and a long tail of words to fold";
        m.headers = h;
        m.header_count = 1;
        m.priority = POSTIE_COMPOSE_PRIORITY_LOW;
        m.body_read = prng_read;
        m.body_user = &r2;
        m.attachments = att;
        m.attachment_count = 2;
        msg = compose_all(&m, caps[i], &len);
        assert_lines(msg, len, 998);
        if (first == NULL) {
            first = msg;
            first_len = len;
        } else {
            assert_int_equal(len, first_len);
            assert_memory_equal(msg, first, len);
            free(msg);
        }
    }
    free(first);
}

/* ---- size ---------------------------------------------------------------- */

static void test_size(void **state)
{
    postie_compose_message m;
    postie_compose c;
    postie_compose_attachment att[1] = {{"x.bin", NULL, "0123456789", 10, NULL, NULL}};
    prng_reader r = {1u, 10, 0, 0};
    unsigned long long size = 0;
    size_t len;
    char *msg;
    (void)state;
    base_message(&m);
    m.subject = "Size me";
    m.body = "Hello\nWorld \xc3\xa9\n";
    m.body_len = strlen(m.body);
    m.attachments = att;
    m.attachment_count = 1;
    msg = compose_all(&m, 4096, &len);
    assert_int_equal(postie_compose_size(&m, &c, &size), POSTIE_OK);
    assert_int_equal(size, len);
    free(msg);
    att[0].read = prng_read;
    att[0].read_user = &r;
    assert_int_equal(postie_compose_size(&m, &c, &size), POSTIE_ERR_UNSUPPORTED);
    att[0].read = NULL;
    m.body_read = prng_read;
    m.body_user = &r;
    assert_int_equal(postie_compose_size(&m, &c, &size), POSTIE_ERR_UNSUPPORTED);
    m.body_read = NULL;
    m.priority = 3;
    assert_int_equal(postie_compose_size(&m, &c, &size), POSTIE_ERR_PARAM);
    assert_int_equal(postie_compose_size(NULL, &c, &size), POSTIE_ERR_PARAM);
}

/* ---- base64 stream ---------------------------------------------------------- */

static void test_base64_stream(void **state)
{
    postie_base64_stream s;
    char out[256];
    size_t o = 0, i;
    static const char in[] = "The quick brown fox jumps over the lazy dog, again and again and again.";
    (void)state;
    /* fed one byte at a time, with 8-character lines */
    postie_base64_stream_init(&s, 8);
    for (i = 0; i < 10; i++) {
        assert_true(postie_base64_stream_max_out(&s, 1) <= sizeof out - o);
        o += postie_base64_stream_update(&s, in + i, 1, out + o, sizeof out - o);
    }
    o += postie_base64_stream_final(&s, out + o, sizeof out - o);
    out[o] = '\0';
    assert_string_equal(out, "VGhlIHF1\r\naWNrIA==");
    /* one call, no breaks, matches the one-shot encoder */
    {
        char ref[256];
        size_t rl = 0;
        postie_base64_stream_init(&s, 0);
        o = postie_base64_stream_update(&s, in, sizeof in - 1, out, sizeof out);
        o += postie_base64_stream_final(&s, out + o, sizeof out - o);
        assert_int_equal(postie_base64_encode(in, sizeof in - 1, ref, sizeof ref, &rl), POSTIE_OK);
        assert_int_equal(o, rl);
        assert_memory_equal(out, ref, rl);
    }
    /* too small: nothing written */
    postie_base64_stream_init(&s, 76);
    assert_int_equal(postie_base64_stream_update(&s, in, 30, out, 10), 0);
    assert_int_equal(postie_base64_stream_final(&s, out, 5), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_exact),
        cmocka_unit_test(test_reply_to_cc_exact),
        cmocka_unit_test(test_message_id_time),
        cmocka_unit_test(test_multipart_exact),
        cmocka_unit_test(test_date),
        cmocka_unit_test(test_date_every_day),
        cmocka_unit_test(test_utf8_subjects),
        cmocka_unit_test(test_rfc2047_subject),
        cmocka_unit_test(test_rfc2047_plain_ascii_untouched),
        cmocka_unit_test(test_display_names),
        cmocka_unit_test(test_folding_many_addresses),
        cmocka_unit_test(test_bcc_absent),
        cmocka_unit_test(test_injection_refused),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_priority),
        cmocka_unit_test(test_extra_headers),
        cmocka_unit_test(test_qp_body),
        cmocka_unit_test(test_qp_long_line_and_encoded_at_edge),
        cmocka_unit_test(test_8bit_and_7bit),
        cmocka_unit_test(test_boundary_lookalike_in_body),
        cmocka_unit_test(test_attachment_roundtrip),
        cmocka_unit_test(test_filename_rfc2231),
        cmocka_unit_test(test_reader_errors),
        cmocka_unit_test(test_reader_done_with_bytes),
        cmocka_unit_test(test_streamed_body_is_qp),
        cmocka_unit_test(test_50mb_streamed),
        cmocka_unit_test(test_read_sizes_identical),
        cmocka_unit_test(test_size),
        cmocka_unit_test(test_base64_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
