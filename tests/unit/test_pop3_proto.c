/* POP3 core: classifier, body decoder (every chunk size, every output size),
 * listing lines through the framer at every chunk size, and the parsers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "postie/line.h"
#include "postie/pop3.h"
#include "postie/pop3_proto.h"

/* ---- classifier -------------------------------------------------------- */

static void check_class(const char *line, postie_pop3_reply_kind want, const char *want_text)
{
    const char *text = (const char *)1;
    postie_pop3_reply_kind k = postie_pop3_classify(line, strlen(line), &text);
    if (k != want) {
        print_error("classify(\"%s\") = %d, want %d\n", line, (int)k, (int)want);
    }
    assert_int_equal(k, want);
    if (want_text != NULL) {
        assert_non_null(text);
        assert_string_equal(text, want_text);
    } else {
        assert_null(text);
    }
}

static void test_classify(void **state)
{
    (void)state;
    check_class("+OK", POSTIE_POP3_REPLY_OK, "");
    check_class("+OK ", POSTIE_POP3_REPLY_OK, "");
    check_class("+OK 2 320", POSTIE_POP3_REPLY_OK, "2 320");
    check_class("+OK  two spaces", POSTIE_POP3_REPLY_OK, " two spaces");
    check_class("-ERR", POSTIE_POP3_REPLY_ERR, "");
    check_class("-ERR [IN-USE] locked", POSTIE_POP3_REPLY_ERR, "[IN-USE] locked");
    check_class("+ ", POSTIE_POP3_REPLY_CONT, "");
    check_class("+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2U+", POSTIE_POP3_REPLY_CONT,
                "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2U+");
    check_class("+", POSTIE_POP3_REPLY_CONT, "");
    check_class("+OKAY", POSTIE_POP3_REPLY_INVALID, NULL);
    check_class("-ERROR", POSTIE_POP3_REPLY_INVALID, NULL);
    check_class("+ok", POSTIE_POP3_REPLY_INVALID, NULL);
    check_class("OK", POSTIE_POP3_REPLY_INVALID, NULL);
    check_class("", POSTIE_POP3_REPLY_INVALID, NULL);
    check_class("-", POSTIE_POP3_REPLY_INVALID, NULL);
    check_class("+O", POSTIE_POP3_REPLY_INVALID, NULL);
    check_class("* OK imap", POSTIE_POP3_REPLY_INVALID, NULL);
    check_class("220 smtp", POSTIE_POP3_REPLY_INVALID, NULL);
    /* len is honoured, not the NUL */
    assert_int_equal(postie_pop3_classify("+OK\0x", 5, NULL), POSTIE_POP3_REPLY_INVALID);
    assert_int_equal(postie_pop3_classify("+OKAY", 3, NULL), POSTIE_POP3_REPLY_OK);
    assert_int_equal(postie_pop3_classify(NULL, 0, NULL), POSTIE_POP3_REPLY_INVALID);
}

/* ---- body decoder ------------------------------------------------------ */

/* Feeds in[0..n) in pieces of `chunk`, writing into out pieces of `ocap`
 * bytes. Returns the decoded bytes in dec; *used = input consumed. */
static postie_status decode(const char *in, size_t n, size_t chunk, size_t ocap, char *dec,
                            size_t deccap, size_t *declen, size_t *used)
{
    postie_pop3_body b;
    size_t pos = 0, d = 0;
    char out[4096];
    postie_status st = POSTIE_OK;

    assert_true(ocap <= sizeof out);
    postie_pop3_body_init(&b);
    while (pos < n) {
        size_t piece = n - pos < chunk ? n - pos : chunk, off = 0;
        for (;;) {
            size_t c = 0, p = 0;
            st = postie_pop3_body_feed(&b, in + pos + off, piece - off, &c, out, ocap, &p);
            assert_true(st == POSTIE_OK || st == POSTIE_DONE);
            assert_true(c <= piece - off);
            assert_true(p <= ocap);
            assert_true(d + p <= deccap);
            memcpy(dec + d, out, p);
            d += p;
            off += c;
            /* never more out than in, counting from the start */
            assert_true(d <= pos + off);
            if (st == POSTIE_DONE) {
                if (p == 0) {
                    break;
                }
                continue; /* let it say DONE with nothing more */
            }
            if (off == piece && p < ocap) {
                break; /* input used up (and out not full) */
            }
            assert_true(c > 0 || p > 0); /* progress */
        }
        pos += off;
        if (st == POSTIE_DONE) {
            break;
        }
    }
    *declen = d;
    *used = pos;
    return st;
}

static const size_t out_sizes[] = {1, 2, 3, 5, 64, 4096};

/* in ends the body at in_end bytes (rest is what follows the reply). */
static void check_body(const char *in, size_t in_end, const char *want)
{
    size_t n = strlen(in), chunk, k;
    char dec[8192];
    for (chunk = 1; chunk <= n; chunk++) {
        for (k = 0; k < sizeof out_sizes / sizeof out_sizes[0]; k++) {
            size_t dl = 0, used = 0;
            postie_status st = decode(in, n, chunk, out_sizes[k], dec, sizeof dec, &dl, &used);
            if (st != POSTIE_DONE || dl != strlen(want) || memcmp(dec, want, dl) != 0 ||
                used != in_end) {
                print_error("chunk %zu out %zu: st %d used %zu/%zu got \"%.*s\"\n", chunk,
                            out_sizes[k], (int)st, used, in_end, (int)dl, dec);
            }
            assert_int_equal(st, POSTIE_DONE);
            assert_int_equal(used, in_end);
            assert_int_equal(dl, strlen(want));
            assert_memory_equal(dec, want, dl);
        }
    }
}

static void check_body_all(const char *in, const char *want)
{
    check_body(in, strlen(in), want);
}

static void test_body_basic(void **state)
{
    (void)state;
    check_body_all("abc\r\n.\r\n", "abc\r\n");
    check_body_all(".\r\n", "");
    check_body_all("\r\n.\r\n", "\r\n");
    check_body_all("Subject: x\r\n\r\nline one\r\nline two\r\n.\r\n",
                   "Subject: x\r\n\r\nline one\r\nline two\r\n");
}

static void test_body_dot_stuffing(void **state)
{
    (void)state;
    check_body_all("..abc\r\n.\r\n", ".abc\r\n");
    check_body_all("a\r\n..\r\n.\r\n", "a\r\n.\r\n");
    check_body_all("a\r\n...\r\n.\r\n", "a\r\n..\r\n");
    check_body_all("a\r\n..\r\n..\r\n.\r\n", "a\r\n.\r\n.\r\n");
    check_body_all("a.b\r\nc..\r\n.\r\n", "a.b\r\nc..\r\n");
    /* an unstuffed dot line from a sloppy server: the dot is still dropped */
    check_body_all(".x\r\n.\r\n", "x\r\n");
    /* ".\r" not followed by LF is data: "\r" and the rest */
    check_body_all(".\rx\r\n.\r\n", "\rx\r\n");
    check_body_all(".\r\r\n.\r\n", "\r\r\n");
}

static void test_body_not_a_terminator(void **state)
{
    (void)state;
    /* ".\r\n" arriving after a piece that did not end in CRLF is data */
    check_body_all("abc.\r\n.\r\n", "abc.\r\n");
    /* CR without LF does not start a line */
    check_body_all("abc\r.\r\n.\r\n", "abc\r.\r\n");
    check_body_all("x .\r\n.\r\n", "x .\r\n");
}

static void test_body_split_packets(void **state)
{
    postie_pop3_body b;
    char out[64];
    size_t c, p;
    (void)state;
    /* "abc" in one read, ".\r\n" in the next: "abc.\r\n" data, not the end */
    postie_pop3_body_init(&b);
    assert_int_equal(postie_pop3_body_feed(&b, "abc", 3, &c, out, sizeof out, &p), POSTIE_OK);
    assert_int_equal(c, 3);
    assert_int_equal(p, 3);
    assert_memory_equal(out, "abc", 3);
    assert_int_equal(postie_pop3_body_feed(&b, ".\r\n", 3, &c, out, sizeof out, &p), POSTIE_OK);
    assert_int_equal(c, 3);
    assert_int_equal(p, 3);
    assert_memory_equal(out, ".\r\n", 3);
    assert_int_equal(postie_pop3_body_feed(&b, ".\r\n", 3, &c, out, sizeof out, &p), POSTIE_DONE);
    assert_int_equal(c, 3);
    assert_int_equal(p, 0);
    /* after DONE nothing more is consumed */
    assert_int_equal(postie_pop3_body_feed(&b, "+OK", 3, &c, out, sizeof out, &p), POSTIE_DONE);
    assert_int_equal(c, 0);
    assert_int_equal(p, 0);
}

static void test_body_terminator_split_everywhere(void **state)
{
    static const char in[] = "one\r\n..two\r\n.\r\n";
    static const char want[] = "one\r\n.two\r\n";
    size_t n = sizeof in - 1, k, j;
    (void)state;
    /* two feeds split at k, and three feeds split at k and j */
    for (k = 0; k <= n; k++) {
        for (j = k; j <= n; j++) {
            postie_pop3_body b;
            char out[64];
            size_t c1, p1, c2, p2, c3, p3;
            postie_status s1, s2, s3;
            postie_pop3_body_init(&b);
            s1 = postie_pop3_body_feed(&b, in, k, &c1, out, sizeof out, &p1);
            s2 = postie_pop3_body_feed(&b, in + k, j - k, &c2, out + p1, sizeof out - p1, &p2);
            s3 = postie_pop3_body_feed(&b, in + j, n - j, &c3, out + p1 + p2,
                                       sizeof out - p1 - p2, &p3);
            assert_int_equal(s1, k == n ? POSTIE_DONE : POSTIE_OK);
            assert_int_equal(s2, j == n ? POSTIE_DONE : POSTIE_OK);
            assert_int_equal(s3, POSTIE_DONE);
            assert_int_equal(c1 + c2 + c3, n);
            assert_int_equal(p1 + p2 + p3, strlen(want));
            assert_memory_equal(out, want, strlen(want));
        }
    }
}

/* Only CRLF "." CRLF ends a body (issue 17, defect 2): a bare LF or a lone CR
 * does not start a line, so the '.' after it is data and is not unstuffed. */
static void test_body_bare_lf_is_data(void **state)
{
    (void)state;
    /* the case: a server that stuffs only CRLF-ended lines passes
     * "\n.\n" through; the message arrives whole, up to the real end */
    check_body_all("a\n.\nb\r\n.\r\n", "a\n.\nb\r\n");
    check_body_all("a\n.\r\nb\r\n.\r\n", "a\n.\r\nb\r\n");
    check_body_all("a\n..b\n.\n\r\n.\r\n", "a\n..b\n.\n\r\n");
    check_body_all("a\r.\r\n.\r\n", "a\r.\r\n");
    check_body_all("a\r\r.\r\n.\r\n", "a\r\r.\r\n");
    check_body_all("\n.\n.\r\n\r\n.\r\n", "\n.\n.\r\n\r\n");
    /* CR CR LF: the last CR LF ends the line, the next one starts fresh */
    check_body_all("a\r\r\n.\r\n", "a\r\r\n");
    check_body_all("a\r\r\n..\n\r\n.\r\n", "a\r\r\n.\n\r\n");
    /* after CRLF, a line ".\n..." is a stuffed line: the dot goes, LF is data */
    check_body_all("a\r\n.\n.\r\n.\r\n", "a\r\n\n.\r\n");
    check_body_all(".\n\r\n.\r\n", "\n\r\n");
    /* a ".\r" held back, then a lone CR: "\r\r", no line start after it */
    check_body_all(".\r\r.\r\n.\r\n", "\r\r.\r\n");
}

/* A body made only of bare-LF lines never ends: every byte stays data and the
 * decoder asks for more (the caller's deadline and size limit apply). */
static void test_body_bare_lf_never_ends(void **state)
{
    static const char in[] = "+OK\nline\n..dot\n.\n";
    size_t chunk, k;
    char dec[256];
    (void)state;
    for (chunk = 1; chunk <= sizeof in - 1; chunk++) {
        for (k = 0; k < sizeof out_sizes / sizeof out_sizes[0]; k++) {
            size_t dl = 0, used = 0;
            assert_int_equal(decode(in, sizeof in - 1, chunk, out_sizes[k], dec, sizeof dec, &dl,
                                    &used),
                             POSTIE_OK);
            assert_int_equal(used, sizeof in - 1);
            assert_int_equal(dl, sizeof in - 1);
            assert_memory_equal(dec, in, dl);
        }
    }
}

static void test_body_stops_at_terminator(void **state)
{
    static const char in[] = "a\r\n.\r\n+OK next\r\n";
    (void)state;
    check_body(in, 6, "a\r\n");
}

static void test_body_zero_cap(void **state)
{
    postie_pop3_body b;
    size_t c = 9, p = 9;
    char out[4];
    (void)state;
    postie_pop3_body_init(&b);
    /* with no room, a leading dot and the terminator can still be consumed */
    assert_int_equal(postie_pop3_body_feed(&b, ".\r\n", 3, &c, NULL, 0, &p), POSTIE_DONE);
    assert_int_equal(c, 3);
    assert_int_equal(p, 0);
    postie_pop3_body_init(&b);
    assert_int_equal(postie_pop3_body_feed(&b, "ab", 2, &c, NULL, 0, &p), POSTIE_OK);
    assert_int_equal(c, 0);
    assert_int_equal(p, 0);
    /* ".\r" then data, with a 1-byte buffer: CR handed out first, then data */
    postie_pop3_body_init(&b);
    assert_int_equal(postie_pop3_body_feed(&b, ".\r", 2, &c, out, 1, &p), POSTIE_OK);
    assert_int_equal(c, 2);
    assert_int_equal(p, 0);
    assert_int_equal(postie_pop3_body_feed(&b, "z", 1, &c, out, 1, &p), POSTIE_OK);
    assert_int_equal(c, 0);
    assert_int_equal(p, 1);
    assert_int_equal(out[0], '\r');
    assert_int_equal(postie_pop3_body_feed(&b, "z", 1, &c, out, 1, &p), POSTIE_OK);
    assert_int_equal(c, 1);
    assert_int_equal(p, 1);
    assert_int_equal(out[0], 'z');
    assert_int_equal(postie_pop3_body_feed(NULL, "z", 1, &c, out, 1, &p), POSTIE_ERR_PARAM);
    assert_int_equal(postie_pop3_body_feed(&b, NULL, 1, &c, out, 1, &p), POSTIE_ERR_PARAM);
}

/* ---- listings through the framer --------------------------------------- */

static void test_listing_line(void **state)
{
    char l[16];
    size_t len;
    (void)state;
    strcpy(l, ".");
    len = 1;
    assert_int_equal(postie_pop3_listing_line(l, &len), 1);
    strcpy(l, "..");
    len = 2;
    assert_int_equal(postie_pop3_listing_line(l, &len), 0);
    assert_int_equal(len, 1);
    assert_string_equal(l, ".");
    strcpy(l, ".x y");
    len = 4;
    assert_int_equal(postie_pop3_listing_line(l, &len), 0);
    assert_string_equal(l, "x y");
    assert_int_equal(len, 3);
    strcpy(l, "1 120");
    len = 5;
    assert_int_equal(postie_pop3_listing_line(l, &len), 0);
    assert_string_equal(l, "1 120");
    len = 0;
    assert_int_equal(postie_pop3_listing_line(l, &len), 0);
}

/* Frames in at `chunk` bytes; for each listing line up to ".", calls parse
 * and appends its output to acc, separated by '|'. Returns bytes consumed. */
typedef void (*line_fn)(const char *line, char *acc);

static size_t run_listing(const char *in, size_t chunk, line_fn fn, char *acc)
{
    postie_line l;
    size_t n = strlen(in), pos = 0;
    postie_line_init(&l);
    acc[0] = '\0';
    while (pos < n) {
        size_t piece = n - pos < chunk ? n - pos : chunk, used = 0;
        postie_status st = postie_line_feed(&l, in + pos, piece, &used);
        pos += used;
        if (st == POSTIE_DONE) {
            if (postie_pop3_listing_line(l.buf, &l.len)) {
                return pos;
            }
            fn(l.buf, acc);
        } else {
            assert_int_equal(st, POSTIE_OK);
        }
    }
    fail_msg("no terminator");
    return 0;
}

static void list_fn(const char *line, char *acc)
{
    unsigned long a, b;
    char tmp[64];
    assert_int_equal(postie_pop3_parse_num_pair(line, &a, &b), POSTIE_OK);
    snprintf(tmp, sizeof tmp, "%lu=%lu|", a, b);
    strcat(acc, tmp);
}

static void uidl_fn(const char *line, char *acc)
{
    unsigned long a;
    char uid[POSTIE_POP3_UID_MAX], tmp[128];
    assert_int_equal(postie_pop3_parse_uidl(line, &a, uid, sizeof uid), POSTIE_OK);
    snprintf(tmp, sizeof tmp, "%lu=%s|", a, uid);
    strcat(acc, tmp);
}

static char capa_sasl[128];
static void capa_fn(const char *line, char *acc)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%x|", postie_pop3_parse_capa_line(line, capa_sasl,
                                                                 sizeof capa_sasl));
    strcat(acc, tmp);
}

/* A listing line ended by a bare LF is no line: ".\n" never ends a listing
 * early (which would read the rest as the next command's reply); the framer
 * stops with POSTIE_ERR_PROTOCOL at the LF, at every chunk size. */
static void test_listing_bare_lf_terminator(void **state)
{
    static const char in[] = "1 aaa\r\n2 bbb\n.\n3 ccc\r\n.\r\n";
    size_t chunk;
    (void)state;
    for (chunk = 1; chunk <= sizeof in - 1; chunk++) {
        postie_line l;
        size_t pos = 0, lines = 0;
        postie_status st = POSTIE_OK;
        postie_line_init(&l);
        while (pos < sizeof in - 1) {
            size_t piece = sizeof in - 1 - pos < chunk ? sizeof in - 1 - pos : chunk, used = 0;
            st = postie_line_feed(&l, in + pos, piece, &used);
            pos += used;
            if (st == POSTIE_DONE) {
                assert_int_equal(postie_pop3_listing_line(l.buf, &l.len), 0);
                lines++;
            } else if (st != POSTIE_OK) {
                break;
            }
        }
        assert_int_equal(st, POSTIE_ERR_PROTOCOL);
        assert_int_equal(lines, 1);
        assert_int_equal(pos, 12); /* stopped at the LF after "2 bbb" */
    }
}

static void test_listings_every_chunk(void **state)
{
    static const char list[] = "1 120\r\n2 200\r\n.\r\n+OK";
    static const char uidl[] = "1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n";
    static const char capa[] = "TOP\r\nuser\r\nSASL PLAIN cram-md5\r\n"
                               "RESP-CODES\r\nLOGIN-DELAY 900\r\nX-FOO\r\n"
                               "IMPLEMENTATION Shlemazle-Plotz-v302\r\n.\r\n";
    size_t chunk;
    char acc[512];
    (void)state;
    for (chunk = 1; chunk <= strlen(list); chunk++) {
        assert_int_equal(run_listing(list, chunk, list_fn, acc), strlen(list) - 3);
        assert_string_equal(acc, "1=120|2=200|");
    }
    for (chunk = 1; chunk <= strlen(uidl); chunk++) {
        assert_int_equal(run_listing(uidl, chunk, uidl_fn, acc), strlen(uidl));
        assert_string_equal(acc, "1=whqtswO00WBw418f9t5JxYwZ|2=QhdPYR:00WBw1Ph7x7|");
    }
    for (chunk = 1; chunk <= strlen(capa); chunk++) {
        char want[128];
        capa_sasl[0] = '\0';
        assert_int_equal(run_listing(capa, chunk, capa_fn, acc), strlen(capa));
        snprintf(want, sizeof want, "%x|%x|%x|%x|%x|0|0|", POSTIE_POP3_CAP_TOP,
                 POSTIE_POP3_CAP_USER, POSTIE_POP3_CAP_SASL, POSTIE_POP3_CAP_RESP_CODES,
                 POSTIE_POP3_CAP_LOGIN_DELAY);
        assert_string_equal(acc, want);
        assert_string_equal(capa_sasl, "PLAIN CRAM-MD5");
    }
}

/* ---- parsers ----------------------------------------------------------- */

static void test_parse_num_pair(void **state)
{
    unsigned long a = 7, b = 7;
    static const char *bad[] = {
        "", "2", "2 ", "2abc 320", "-1 5", "+1 5", " 2 320", "2 -3", "2 320x", "2\t320",
        "a b", "18446744073709551616 1", "1 99999999999999999999999", "2 3,",
    };
    size_t i;
    (void)state;
    assert_int_equal(postie_pop3_parse_num_pair("2 320", &a, &b), POSTIE_OK);
    assert_int_equal(a, 2);
    assert_int_equal(b, 320);
    assert_int_equal(postie_pop3_parse_num_pair("0 0", &a, &b), POSTIE_OK);
    assert_int_equal(a, 0);
    assert_int_equal(b, 0);
    assert_int_equal(postie_pop3_parse_num_pair("3 1024 more info", &a, &b), POSTIE_OK);
    assert_int_equal(a, 3);
    assert_int_equal(b, 1024);
    assert_int_equal(postie_pop3_parse_num_pair("4  5", &a, &b), POSTIE_OK);
    assert_int_equal(a, 4);
    assert_int_equal(b, 5);
    assert_int_equal(postie_pop3_parse_num_pair("4294967295 1", NULL, NULL), POSTIE_OK);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        a = b = 7;
        if (postie_pop3_parse_num_pair(bad[i], &a, &b) != POSTIE_ERR_PROTOCOL) {
            fail_msg("accepted \"%s\"", bad[i]);
        }
        assert_int_equal(a, 7); /* untouched on error */
        assert_int_equal(b, 7);
    }
    assert_int_equal(postie_pop3_parse_num_pair(NULL, &a, &b), POSTIE_ERR_PROTOCOL);
}

static void test_parse_uidl(void **state)
{
    unsigned long m = 0;
    char uid[POSTIE_POP3_UID_MAX], small[4];
    char line[128];
    (void)state;
    assert_int_equal(postie_pop3_parse_uidl("1 whqtswO00WBw418f9t5JxYwZ", &m, uid, sizeof uid),
                     POSTIE_OK);
    assert_int_equal(m, 1);
    assert_string_equal(uid, "whqtswO00WBw418f9t5JxYwZ");
    assert_int_equal(postie_pop3_parse_uidl("12 ~!", &m, uid, sizeof uid), POSTIE_OK);
    assert_int_equal(m, 12);
    assert_string_equal(uid, "~!");
    /* 70 characters: the RFC 1939 maximum */
    strcpy(line, "3 ");
    memset(line + 2, 'u', 70);
    line[72] = '\0';
    assert_int_equal(postie_pop3_parse_uidl(line, &m, uid, sizeof uid), POSTIE_OK);
    assert_int_equal(strlen(uid), 70);
    line[72] = 'u';
    line[73] = '\0';
    assert_int_equal(postie_pop3_parse_uidl(line, &m, uid, sizeof uid), POSTIE_ERR_PROTOCOL);
    assert_int_equal(postie_pop3_parse_uidl("1", &m, uid, sizeof uid), POSTIE_ERR_PROTOCOL);
    assert_int_equal(postie_pop3_parse_uidl("1 ", &m, uid, sizeof uid), POSTIE_ERR_PROTOCOL);
    assert_int_equal(postie_pop3_parse_uidl("x abc", &m, uid, sizeof uid), POSTIE_ERR_PROTOCOL);
    assert_int_equal(postie_pop3_parse_uidl("1 ab cd", &m, uid, sizeof uid),
                     POSTIE_ERR_PROTOCOL);
    assert_int_equal(postie_pop3_parse_uidl("1 ab\x01", &m, uid, sizeof uid),
                     POSTIE_ERR_PROTOCOL);
    assert_int_equal(postie_pop3_parse_uidl("1 ab\x7f", &m, uid, sizeof uid),
                     POSTIE_ERR_PROTOCOL);
    m = 0;
    assert_int_equal(postie_pop3_parse_uidl("5 abcd", &m, small, sizeof small),
                     POSTIE_ERR_BUFFER);
    assert_int_equal(m, 5);
    assert_int_equal(postie_pop3_parse_uidl("5 abc", &m, small, sizeof small), POSTIE_OK);
    assert_string_equal(small, "abc");
}

static void test_parse_timestamp(void **state)
{
    char ts[POSTIE_POP3_TIMESTAMP_MAX], tiny[8];
    (void)state;
    assert_int_equal(postie_pop3_parse_timestamp(
                         "POP3 server ready <1896.697170952@dbc.mtview.ca.us>", ts, sizeof ts),
                     1);
    assert_string_equal(ts, "<1896.697170952@dbc.mtview.ca.us>");
    assert_int_equal(postie_pop3_parse_timestamp("ready <a@b> and <c@d>", ts, sizeof ts), 1);
    assert_string_equal(ts, "<a@b>");
    strcpy(ts, "junk");
    assert_int_equal(postie_pop3_parse_timestamp("POP3 server ready", ts, sizeof ts), 0);
    assert_string_equal(ts, "");
    assert_int_equal(postie_pop3_parse_timestamp("ready <>", ts, sizeof ts), 0);
    assert_int_equal(postie_pop3_parse_timestamp("ready <a b>", ts, sizeof ts), 0);
    assert_int_equal(postie_pop3_parse_timestamp("ready <abc", ts, sizeof ts), 0);
    assert_int_equal(postie_pop3_parse_timestamp("ready <a\x01>", ts, sizeof ts), 0);
    assert_string_equal(ts, "");
    /* tiny holds 7 characters and the NUL */
    assert_int_equal(postie_pop3_parse_timestamp("<123456>", tiny, sizeof tiny), 0);
    assert_string_equal(tiny, "");
    assert_int_equal(postie_pop3_parse_timestamp("<12345>", tiny, sizeof tiny), 1);
    assert_string_equal(tiny, "<12345>");
}

static void test_parse_capa(void **state)
{
    static const struct {
        const char *line;
        unsigned bit;
    } t[] = {
        {"TOP", POSTIE_POP3_CAP_TOP},
        {"top", POSTIE_POP3_CAP_TOP},
        {"UIDL", POSTIE_POP3_CAP_UIDL},
        {"User", POSTIE_POP3_CAP_USER},
        {"STLS", POSTIE_POP3_CAP_STLS},
        {"PIPELINING", POSTIE_POP3_CAP_PIPELINING},
        {"RESP-CODES", POSTIE_POP3_CAP_RESP_CODES},
        {"AUTH-RESP-CODE", POSTIE_POP3_CAP_AUTH_RESP_CODE},
        {"UTF8 USER", POSTIE_POP3_CAP_UTF8},
        {"EXPIRE 60", POSTIE_POP3_CAP_EXPIRE},
        {"EXPIRE NEVER", POSTIE_POP3_CAP_EXPIRE},
        {"LOGIN-DELAY 900", POSTIE_POP3_CAP_LOGIN_DELAY},
        {"login-delay\t900", POSTIE_POP3_CAP_LOGIN_DELAY},
        {"TOPS", 0},
        {"TO", 0},
        {"X-TOP", 0},
        {"IMPLEMENTATION x", 0},
        {"", 0},
    };
    char sasl[128], small[12]; /* fixed sizes: independent of the config */
    size_t i;
    (void)state;
    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        strcpy(sasl, "untouched");
        if (postie_pop3_parse_capa_line(t[i].line, sasl, sizeof sasl) != t[i].bit) {
            fail_msg("capa \"%s\"", t[i].line);
        }
        assert_string_equal(sasl, "untouched");
    }
    assert_int_equal(postie_pop3_parse_capa_line("SASL PLAIN CRAM-MD5  login", sasl, sizeof sasl),
                     POSTIE_POP3_CAP_SASL);
    assert_string_equal(sasl, "PLAIN CRAM-MD5 LOGIN");
    assert_int_equal(postie_pop3_parse_capa_line("sasl", sasl, sizeof sasl),
                     POSTIE_POP3_CAP_SASL);
    assert_string_equal(sasl, "");
    /* truncated at a mechanism boundary */
    assert_int_equal(postie_pop3_parse_capa_line("SASL PLAIN CRAM-MD5", small, sizeof small),
                     POSTIE_POP3_CAP_SASL);
    assert_string_equal(small, "PLAIN");
    assert_int_equal(postie_pop3_parse_capa_line("SASL PLAIN LOGIN", small, sizeof small),
                     POSTIE_POP3_CAP_SASL);
    assert_string_equal(small, "PLAIN LOGIN");
    /* a mechanism with control bytes is dropped */
    assert_int_equal(postie_pop3_parse_capa_line("SASL BAD\x01 PLAIN", sasl, sizeof sasl),
                     POSTIE_POP3_CAP_SASL);
    assert_string_equal(sasl, "PLAIN");
    assert_int_equal(postie_pop3_parse_capa_line("SASL PLAIN", NULL, 0), POSTIE_POP3_CAP_SASL);
}

static void test_apop_digest(void **state)
{
    char hex[33];
    (void)state;
    /* RFC 1939 sec. 7 example */
    postie_pop3_apop_digest("<1896.697170952@dbc.mtview.ca.us>", "tanstaaf", hex);
    assert_string_equal(hex, "c4c9334bac560ecc979e58001b3e22fb");
    /* MD5("") (RFC 1321 A.5) */
    postie_pop3_apop_digest("", "", hex);
    assert_string_equal(hex, "d41d8cd98f00b204e9800998ecf8427e");
    /* MD5("abc") split between timestamp and secret */
    postie_pop3_apop_digest("a", "bc", hex);
    assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_body_basic),
        cmocka_unit_test(test_body_dot_stuffing),
        cmocka_unit_test(test_body_not_a_terminator),
        cmocka_unit_test(test_body_split_packets),
        cmocka_unit_test(test_body_terminator_split_everywhere),
        cmocka_unit_test(test_body_bare_lf_is_data),
        cmocka_unit_test(test_body_bare_lf_never_ends),
        cmocka_unit_test(test_body_stops_at_terminator),
        cmocka_unit_test(test_body_zero_cap),
        cmocka_unit_test(test_listing_line),
        cmocka_unit_test(test_listings_every_chunk),
        cmocka_unit_test(test_listing_bare_lf_terminator),
        cmocka_unit_test(test_parse_num_pair),
        cmocka_unit_test(test_parse_uidl),
        cmocka_unit_test(test_parse_timestamp),
        cmocka_unit_test(test_parse_capa),
        cmocka_unit_test(test_apop_digest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
