/* SMTP core: reply parser, EHLO keywords, DATA encoder, argument checks.
 * Parsers are replayed at every chunk size; the encoder is fed at every
 * input chunk size and with every output room size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "postie/smtp_proto.h"
#include "postie/sasl.h"

/* ---- replies ---------------------------------------------------------- */

typedef struct parsed {
    postie_status st;      /* DONE, or the error */
    int code;
    char enhanced[POSTIE_SMTP_ENHANCED_MAX];
    char text[POSTIE_REPLY_TEXT_MAX];
    unsigned lines;
    size_t consumed;       /* bytes of input used up to the end of the reply */
} parsed;

/* Hands in[pos..pos+n) to the connection engine as far as it has room;
 * returns how many bytes it took. */
static size_t give(postie_conn *c, const char *in, size_t n)
{
    size_t cap = 0;
    char *room = postie_conn_in(c, &cap);
    if (n > cap) {
        n = cap;
    }
    if (n > 0) {
        memcpy(room, in, n);
        postie_conn_in_done(c, n);
    }
    return n;
}

/* Feeds in[0..n) in pieces of `chunk` bytes through the reply engine the
 * SMTP session runs (postie_smtp_reply_read over a connection engine) until
 * the first reply ends; out->consumed counts the bytes it took. */
static void parse_reply(const char *in, size_t n, size_t chunk, parsed *out)
{
    static postie_conn c;
    postie_smtp_reply r;
    size_t pos = 0, left;

    postie_conn_init(&c);
    postie_smtp_reply_init(&r);
    memset(out, 0, sizeof *out);
    out->st = POSTIE_OK;
    while (pos < n) {
        size_t piece = n - pos < chunk ? n - pos : chunk;
        postie_status st;
        pos += give(&c, in + pos, piece);
        st = postie_smtp_reply_read(&r, &c, NULL);
        if (st == POSTIE_AGAIN) {
            continue;
        }
        (void)postie_conn_input(&c, &left);
        out->st = st;
        if (st == POSTIE_DONE) {
            out->code = r.code;
            strcpy(out->enhanced, r.enhanced);
            strcpy(out->text, r.text);
            assert_int_equal(strlen(r.text), r.text_len);
            out->lines = r.lines;
        }
        out->consumed = pos - left;
        return;
    }
}

static void expect_reply(const char *in, int code, const char *enh, const char *text,
                         unsigned lines, size_t consumed)
{
    size_t n = strlen(in), chunk;
    for (chunk = 1; chunk <= n; chunk++) {
        parsed p;
        parse_reply(in, n, chunk, &p);
        assert_int_equal(p.st, POSTIE_DONE);
        assert_int_equal(p.code, code);
        assert_string_equal(p.enhanced, enh);
        assert_string_equal(p.text, text);
        assert_int_equal(p.lines, lines);
        assert_int_equal(p.consumed, consumed);
    }
}

static void expect_reply_error(const char *in, postie_status err)
{
    size_t n = strlen(in), chunk;
    for (chunk = 1; chunk <= n; chunk++) {
        parsed p;
        parse_reply(in, n, chunk, &p);
        assert_int_equal(p.st, err);
    }
}

static void test_reply_single(void **state)
{
    (void)state;
    expect_reply("250 OK\r\n", 250, "", "OK", 1, 8);
    expect_reply("220 mx.example.org ESMTP Postfix\r\n", 220, "",
                 "mx.example.org ESMTP Postfix", 1, 34);

}

static void test_reply_multiline(void **state)
{
    (void)state;
    expect_reply("250-mx.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n", 250, "",
                 "mx.example.org\nPIPELINING\n8BITMIME", 3, 50);
    /* stops at the end of the reply; the next one is not consumed */
    expect_reply("220-hello\r\n220 there\r\n250 next\r\n", 220, "", "hello\nthere", 2, 22);
}

static void test_reply_code_only(void **state)
{
    (void)state;
    expect_reply("334\r\n", 334, "", "", 1, 5);
    expect_reply("334 \r\n", 334, "", "", 1, 6);
    expect_reply("250-\r\n250\r\n", 250, "", "\n", 2, 11);
}

static void test_reply_enhanced(void **state)
{
    (void)state;
    expect_reply("250 2.1.0 Ok\r\n", 250, "2.1.0", "Ok", 1, 14);
    expect_reply("550-5.1.1 No such user\r\n550 5.1.1 here\r\n", 550, "5.1.1",
                 "No such user\nhere", 2, 40);
    expect_reply("552 5.3.4\r\n", 552, "5.3.4", "", 1, 11);
    expect_reply("451 4.123.999 try later\r\n", 451, "4.123.999", "try later", 1, 25);
    /* class must match the code; subject/detail at most 3 digits */
    expect_reply("250 5.1.0 odd\r\n", 250, "", "5.1.0 odd", 1, 15);
    expect_reply("250 2.1234.0 x\r\n", 250, "", "2.1234.0 x", 1, 16);
    expect_reply("250 2.1.0x\r\n", 250, "", "2.1.0x", 1, 12);
    expect_reply("250 2.1\r\n", 250, "", "2.1", 1, 9);
}

static void test_reply_bad_codes(void **state)
{
    (void)state;
    expect_reply_error("2500 OK\r\n", POSTIE_ERR_PROTOCOL);      /* 4 digits */
    expect_reply_error("25 OK\r\n", POSTIE_ERR_PROTOCOL);        /* 2 digits */
    expect_reply_error("25\r\n", POSTIE_ERR_PROTOCOL);
    expect_reply_error("\r\n", POSTIE_ERR_PROTOCOL);
    expect_reply_error("abc def\r\n", POSTIE_ERR_PROTOCOL);
    expect_reply_error("+OK pop3\r\n", POSTIE_ERR_PROTOCOL);
    expect_reply_error("250_OK\r\n", POSTIE_ERR_PROTOCOL);
    expect_reply_error("199 low\r\n", POSTIE_ERR_PROTOCOL);
    expect_reply_error("600 high\r\n", POSTIE_ERR_PROTOCOL);
    /* only CRLF ends a line: a bare LF is an error, not a line end */
    expect_reply_error("221 bye\n", POSTIE_ERR_PROTOCOL);
    expect_reply_error("250-a\n250 b\r\n", POSTIE_ERR_PROTOCOL);
    expect_reply_error("260 x\r\n", POSTIE_ERR_PROTOCOL);        /* second digit > 5 */
    expect_reply_error("250-a\r\n251 b\r\n", POSTIE_ERR_PROTOCOL); /* inconsistent */
    expect_reply_error("250-a\r\n2500 b\r\n", POSTIE_ERR_PROTOCOL);
}

static void test_reply_too_long(void **state)
{
    static char in[POSTIE_LINE_MAX + 16];
    parsed p;
    (void)state;
    memcpy(in, "250 ", 4);
    memset(in + 4, 'x', sizeof in - 7);
    memcpy(in + sizeof in - 3, "\r\n", 3);
    parse_reply(in, strlen(in), 7, &p);
    assert_int_equal(p.st, POSTIE_ERR_LINE_TOO_LONG);
}

static void test_reply_text_truncated(void **state)
{
    static char in[40 * 60];
    postie_smtp_reply r;
    static postie_conn c;
    postie_status st;
    size_t o = 0, used;
    int i;
    (void)state;
    for (i = 0; i < 39; i++) {
        o += (size_t)sprintf(in + o, "250-%050d\r\n", i);
    }
    o += (size_t)sprintf(in + o, "250 end\r\n");
    postie_smtp_reply_init(&r);
    postie_conn_init(&c);
    used = 0;
    do {
        used += give(&c, in + used, o - used);
        st = postie_smtp_reply_read(&r, &c, NULL);
    } while (st == POSTIE_AGAIN && used < o);
    assert_int_equal(st, POSTIE_DONE);
    assert_int_equal(used, o);
    assert_int_equal(r.lines, 40);
    assert_true(r.truncated);
    assert_int_equal(r.text_len, POSTIE_REPLY_TEXT_MAX - 1);
    assert_int_equal(strlen(r.text), r.text_len);
}

static void test_reply_nul_in_text(void **state)
{
    postie_smtp_reply r;
    (void)state;
    postie_smtp_reply_init(&r);
    assert_int_equal(postie_smtp_reply_line(&r, "421 a\0b", 7), POSTIE_DONE);
    assert_int_equal(r.text_len, 3);
    assert_string_equal(r.text, "a?b");
}

static void test_reply_line_direct(void **state)
{
    postie_smtp_reply r;
    (void)state;
    postie_smtp_reply_init(&r);
    assert_int_equal(postie_smtp_reply_line(&r, "250-first", 9), POSTIE_OK);
    assert_int_equal(r.lines, 1);
    assert_string_equal(r.text, "first");
    assert_int_equal(postie_smtp_reply_line(&r, "250 second", 10), POSTIE_DONE);
    assert_int_equal(r.lines, 2);
    assert_string_equal(r.text, "first\nsecond");
    /* a new reply starts after DONE */
    assert_int_equal(postie_smtp_reply_line(&r, "354 go", 6), POSTIE_DONE);
    assert_int_equal(r.code, 354);
    assert_string_equal(r.text, "go");
    assert_int_equal(postie_smtp_reply_line(NULL, "250", 3), POSTIE_ERR_PARAM);
    assert_int_equal(postie_smtp_reply_line(&r, NULL, 3), POSTIE_ERR_PARAM);
}

static void test_code_status(void **state)
{
    (void)state;
    assert_int_equal(postie_smtp_code_status(250), POSTIE_OK);
    assert_int_equal(postie_smtp_code_status(354), POSTIE_OK);
    assert_int_equal(postie_smtp_code_status(421), POSTIE_ERR_TRANSIENT);
    assert_int_equal(postie_smtp_code_status(452), POSTIE_ERR_TRANSIENT);
    assert_int_equal(postie_smtp_code_status(550), POSTIE_ERR_SERVER);
    assert_int_equal(postie_smtp_code_status(0), POSTIE_ERR_PROTOCOL);
    assert_int_equal(postie_smtp_code_status(600), POSTIE_ERR_PROTOCOL);
}

/* ---- EHLO ------------------------------------------------------------- */

static void ehlo(postie_smtp_ext *e, const char *line)
{
    (void)postie_smtp_ehlo_line(e, line, strlen(line));
}

static void test_ehlo_keywords(void **state)
{
    postie_smtp_ext e;
    (void)state;
    postie_smtp_ext_init(&e);
    assert_int_equal(postie_smtp_ehlo_line(&e, "PIPELINING", 10), POSTIE_SMTP_EXT_PIPELINING);
    assert_int_equal(postie_smtp_ehlo_line(&e, "size 10240000", 13), POSTIE_SMTP_EXT_SIZE);
    assert_int_equal(e.size_max, 10240000ul);
    ehlo(&e, "8BITMIME");
    ehlo(&e, "SMTPUTF8");
    ehlo(&e, "ENHANCEDSTATUSCODES");
    ehlo(&e, "STARTTLS");
    ehlo(&e, "CHUNKING");
    ehlo(&e, "DSN");
    ehlo(&e, "AUTH PLAIN LOGIN CRAM-MD5 GSSAPI");
    assert_int_equal(postie_smtp_ehlo_line(&e, "VRFY", 4), 0);
    assert_int_equal(postie_smtp_ehlo_line(&e, "X-EXPS GSSAPI", 13), 0);
    assert_int_equal(postie_smtp_ehlo_line(&e, "SIZEX 5", 7), 0);
    assert_int_equal(postie_smtp_ehlo_line(&e, "PIPE", 4), 0);
    assert_int_equal(e.flags, POSTIE_SMTP_EXT_SIZE | POSTIE_SMTP_EXT_PIPELINING |
                                  POSTIE_SMTP_EXT_8BITMIME | POSTIE_SMTP_EXT_SMTPUTF8 |
                                  POSTIE_SMTP_EXT_ENHANCEDSTATUSCODES | POSTIE_SMTP_EXT_STARTTLS |
                                  POSTIE_SMTP_EXT_CHUNKING | POSTIE_SMTP_EXT_DSN |
                                  POSTIE_SMTP_EXT_AUTH);
    assert_int_equal(e.auth, POSTIE_SASL_PLAIN | POSTIE_SASL_LOGIN | POSTIE_SASL_CRAM_MD5);
    assert_string_equal(e.auth_names, "PLAIN LOGIN CRAM-MD5 GSSAPI");
}

static void test_ehlo_auth_forms(void **state)
{
    postie_smtp_ext e;
    (void)state;
    postie_smtp_ext_init(&e);
    ehlo(&e, "AUTH=LOGIN PLAIN");   /* pre-RFC form */
    ehlo(&e, "auth xoauth2  oauthbearer");
    assert_int_equal(e.auth, POSTIE_SASL_PLAIN | POSTIE_SASL_LOGIN | POSTIE_SASL_XOAUTH2 |
                                 POSTIE_SASL_OAUTHBEARER);
    assert_string_equal(e.auth_names, "LOGIN PLAIN xoauth2 oauthbearer");
    postie_smtp_ext_init(&e);
    ehlo(&e, "AUTH");
    assert_int_equal(e.flags, POSTIE_SMTP_EXT_AUTH);
    assert_int_equal(e.auth, 0);
}

static void test_ehlo_size_forms(void **state)
{
    postie_smtp_ext e;
    (void)state;
    postie_smtp_ext_init(&e);
    ehlo(&e, "SIZE");
    assert_int_equal(e.flags, POSTIE_SMTP_EXT_SIZE);
    assert_int_equal(e.size_max, 0);
    ehlo(&e, "SIZE 0");
    assert_int_equal(e.size_max, 0);
    ehlo(&e, "SIZE 12x");
    assert_int_equal(e.size_max, 0);
    ehlo(&e, "SIZE 99999999999999999999999999");
    assert_int_equal(e.size_max, 0);
    ehlo(&e, "SIZE 52428800");
    assert_int_equal(e.size_max, 52428800ul);
}

/* ---- DATA encoder ----------------------------------------------------- */

/* Encodes in at every input chunk size and with output rooms 2..9 and
 * large; every way must give exactly `expect` (finish included). */
static void expect_stuffed(const char *in, size_t n, const char *expect)
{
    static char out[8192];
    size_t elen = strlen(expect), chunk, room;
    size_t rooms[] = {2, 3, 4, 5, 7, 9, sizeof out};

    for (room = 0; room < sizeof rooms / sizeof rooms[0]; room++) {
        for (chunk = 1; chunk <= (n ? n : 1); chunk++) {
            postie_smtp_dot d;
            size_t pos = 0, o = 0, made = 0;
            postie_smtp_dot_init(&d);
            while (pos < n) {
                size_t piece = n - pos < chunk ? n - pos : chunk, off = 0;
                while (off < piece) {
                    size_t used = 0, cap = rooms[room];
                    if (cap > sizeof out - o) {
                        cap = sizeof out - o;
                    }
                    assert_int_equal(postie_smtp_dot_feed(&d, in + pos + off, piece - off, &used,
                                                          out + o, cap, &made),
                                     POSTIE_OK);
                    assert_true(made <= cap);
                    assert_true(used > 0); /* cap >= 2 always makes progress */
                    off += used;
                    o += made;
                }
                pos += piece;
            }
            assert_int_equal(postie_smtp_dot_finish(&d, out + o, sizeof out - o, &made), POSTIE_OK);
            o += made;
            if (o != elen || memcmp(out, expect, elen) != 0) {
                print_error("chunk %zu room %zu: got [%.*s]\n", chunk, rooms[room], (int)o, out);
                fail();
            }
            assert_int_equal(d.out_bytes, o);
            assert_int_equal(d.in_bytes, n);
        }
    }
}

#define STUFF(in, expect) expect_stuffed(in, sizeof(in) - 1, expect)

static void test_dot_plain(void **state)
{
    (void)state;
    STUFF("", ".\r\n");
    STUFF("Subject: x\r\n\r\nhello\r\n", "Subject: x\r\n\r\nhello\r\n.\r\n");
    STUFF("no final line end", "no final line end\r\n.\r\n");
}

static void test_dot_stuffing(void **state)
{
    (void)state;
    STUFF(".", "..\r\n.\r\n");
    STUFF(".\r\n", "..\r\n.\r\n");
    STUFF("a\r\n.b\r\n..c\r\n", "a\r\n..b\r\n...c\r\n.\r\n");
    STUFF("a.b\r\n x.\r\n", "a.b\r\n x.\r\n.\r\n");
}

static void test_dot_line_ends(void **state)
{
    (void)state;
    STUFF("a\nb\n", "a\r\nb\r\n.\r\n");          /* bare LF */
    STUFF("a\rb\r", "a\r\nb\r\n.\r\n");          /* bare CR */
    STUFF("a\r\r\nb", "a\r\n\r\nb\r\n.\r\n");    /* CR then CRLF */
    STUFF("a\n\rb", "a\r\n\r\nb\r\n.\r\n");      /* LF then CR */
    STUFF("\r\n\r\n", "\r\n\r\n.\r\n");
    STUFF("a\r", "a\r\n.\r\n");                  /* final CR: no extra CRLF */
}

/* SMTP smuggling: no content may yield CRLF.CRLF before the real end. */
static void test_dot_smuggling(void **state)
{
    (void)state;
    STUFF("x\n.\ny", "x\r\n..\r\ny\r\n.\r\n");
    STUFF("x\r.\ry", "x\r\n..\r\ny\r\n.\r\n");
    STUFF("x\r\n.\r\ny", "x\r\n..\r\ny\r\n.\r\n");
    STUFF("x\r\n.\ny", "x\r\n..\r\ny\r\n.\r\n");
    STUFF("x\n.\r\ny", "x\r\n..\r\ny\r\n.\r\n");
    STUFF("x\r.\r\ny", "x\r\n..\r\ny\r\n.\r\n");
    STUFF(".\r\nMAIL FROM:<evil@x>\r\n", "..\r\nMAIL FROM:<evil@x>\r\n.\r\n");
}

/* Chunks that start exactly at a dangerous spot, fed one chunk at a time. */
static void test_dot_chunk_starts(void **state)
{
    static const char *chunks[] = {"line1\r", "\n", ".\r\n", "x\r\n", ".", "\r", "\n.",
                                   "\n", "\r", ".\r", "\n"};
    const char *expect = "line1\r\n..\r\nx\r\n..\r\n..\r\n\r\n..\r\n.\r\n";
    char out[256];
    postie_smtp_dot d;
    size_t i, o = 0, used, made;
    (void)state;
    postie_smtp_dot_init(&d);
    for (i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        size_t n = strlen(chunks[i]);
        assert_int_equal(postie_smtp_dot_feed(&d, chunks[i], n, &used, out + o, sizeof out - o,
                                              &made), POSTIE_OK);
        assert_int_equal(used, n);
        o += made;
    }
    assert_int_equal(postie_smtp_dot_finish(&d, out + o, sizeof out - o, &made), POSTIE_OK);
    o += made;
    assert_int_equal(o, strlen(expect));
    assert_memory_equal(out, expect, o);
}

/* Exhaustive: every string of length <= 7 over {'.', '\r', '\n', 'a'}
 * encodes to output whose only CRLF.CRLF is at the very end and in which
 * CR and LF appear only as CRLF; the dot-unstuffed lines are the input's. */
static void test_dot_exhaustive(void **state)
{
    static const char alpha[4] = {'.', '\r', '\n', 'a'};
    char in[8], out[64];
    unsigned len, code, total;
    (void)state;
    for (len = 0; len <= 7; len++) {
        total = 1;
        for (code = 0; code < len; code++) {
            total *= 4;
        }
        for (code = 0; code < total; code++) {
            postie_smtp_dot d;
            size_t used, made, o, i;
            unsigned c = code;
            for (i = 0; i < len; i++) {
                in[i] = alpha[c % 4];
                c /= 4;
            }
            postie_smtp_dot_init(&d);
            assert_int_equal(postie_smtp_dot_feed(&d, in, len, &used, out, sizeof out, &made),
                             POSTIE_OK);
            o = made;
            assert_int_equal(postie_smtp_dot_finish(&d, out + o, sizeof out - o, &made), POSTIE_OK);
            o += made;
            assert_true(o >= 3);
            for (i = 0; i < o; i++) {
                if (out[i] == '\r') {
                    assert_true(i + 1 < o && out[i + 1] == '\n');
                }
                if (out[i] == '\n') {
                    assert_true(i > 0 && out[i - 1] == '\r');
                }
            }
            /* "\r\n.\r\n" only as the final 5 bytes (or ".\r\n" at 0 when o == 3) */
            for (i = 0; i + 5 <= o; i++) {
                if (memcmp(out + i, "\r\n.\r\n", 5) == 0) {
                    assert_int_equal(i + 5, o);
                }
            }
            if (o > 3) {
                assert_memory_not_equal(out, ".\r\n", 3);
            }
        }
    }
}

static void test_content_eol(void **state)
{
    (void)state;
    assert_int_equal(postie_smtp_content_eol("\r\nx", 3), 2);
    assert_int_equal(postie_smtp_content_eol("\r\n", 2), 2);
    assert_int_equal(postie_smtp_content_eol("\r\n", 1), 1); /* the content ends at the CR */
    assert_int_equal(postie_smtp_content_eol("\rB", 2), 1);
    assert_int_equal(postie_smtp_content_eol("\r\r\n", 3), 1);
    assert_int_equal(postie_smtp_content_eol("\n\r", 2), 1);
    assert_int_equal(postie_smtp_content_eol("x\r\n", 3), 0);
    assert_int_equal(postie_smtp_content_eol("", 0), 0);
    assert_int_equal(postie_smtp_content_eol(NULL, 1), 0);
}

/* One definition of a line (issue 17, defect 4): splitting the content with
 * postie_smtp_content_eol() and stuffing each line gives exactly what the
 * encoder sends, for every string of length <= 7 over {'.', CR, LF, 'a'}, at
 * every chunk size and output room. A reader that splits with it (the
 * sendmail -t header reader) sees the lines the server receives. */
static void test_content_eol_is_the_encoders(void **state)
{
    static const char alpha[4] = {'.', '\r', '\n', 'a'};
    char in[8], ref[64];
    unsigned len, code, total;
    (void)state;
    for (len = 0; len <= 7; len++) {
        total = 1;
        for (code = 0; code < len; code++) {
            total *= 4;
        }
        for (code = 0; code < total; code++) {
            size_t i, r = 0;
            unsigned c = code;
            int bol = 1;
            for (i = 0; i < len; i++) {
                in[i] = alpha[c % 4];
                c /= 4;
            }
            for (i = 0; i < len;) {
                size_t e = postie_smtp_content_eol(in + i, len - i);
                if (e > 0) {
                    ref[r++] = '\r';
                    ref[r++] = '\n';
                    i += e;
                    bol = 1;
                    continue;
                }
                if (bol && in[i] == '.') {
                    ref[r++] = '.';
                }
                ref[r++] = in[i++];
                bol = 0;
            }
            if (!bol) {
                ref[r++] = '\r';
                ref[r++] = '\n';
            }
            memcpy(ref + r, ".\r\n", 4);
            expect_stuffed(in, len, ref);
        }
    }
}

static void test_dot_finish_and_8bit(void **state)
{
    postie_smtp_dot d;
    char out[8];
    size_t used, made;
    (void)state;
    postie_smtp_dot_init(&d);
    assert_int_equal(postie_smtp_dot_feed(&d, "caf\xc3\xa9", 5, &used, out, sizeof out, &made),
                     POSTIE_OK);
    assert_true(d.saw_8bit);
    assert_int_equal(postie_smtp_dot_finish(&d, out, 4, &made), POSTIE_ERR_BUFFER);
    assert_int_equal(made, 0);
    assert_int_equal(postie_smtp_dot_finish(&d, out, 5, &made), POSTIE_OK);
    assert_int_equal(made, 5);
    assert_memory_equal(out, "\r\n.\r\n", 5);
    /* fewer than 2 bytes of room: no progress, no write */
    postie_smtp_dot_init(&d);
    assert_int_equal(postie_smtp_dot_feed(&d, "ab", 2, &used, out, 1, &made), POSTIE_OK);
    assert_int_equal(used, 0);
    assert_int_equal(made, 0);
    assert_int_equal(postie_smtp_dot_feed(NULL, "a", 1, &used, out, 8, &made), POSTIE_ERR_PARAM);
    assert_int_equal(postie_smtp_dot_feed(&d, NULL, 1, &used, out, 8, &made), POSTIE_ERR_PARAM);
}

/* ---- checks ----------------------------------------------------------- */

static void test_arg_checks(void **state)
{
    char lit[64];
    (void)state;
    assert_true(postie_smtp_arg_ok("user@example.org"));
    assert_true(postie_smtp_arg_ok("\"a b\"@example.org"));
    assert_true(postie_smtp_arg_ok("j\xc3\xb6rg@example.org"));
    assert_true(postie_smtp_arg_ok(""));
    assert_false(postie_smtp_arg_ok(NULL));
    assert_false(postie_smtp_arg_ok("a@b\r\nRCPT TO:<c@d>"));
    assert_false(postie_smtp_arg_ok("a@b\n"));
    assert_false(postie_smtp_arg_ok("a@b\r"));
    assert_false(postie_smtp_arg_ok("a@b>"));
    assert_false(postie_smtp_arg_ok("<a@b"));
    assert_false(postie_smtp_arg_ok("a\x01@b"));
    assert_false(postie_smtp_arg_ok("a\x7f@b"));

    assert_true(postie_smtp_domain_ok("client.example.org"));
    assert_true(postie_smtp_domain_ok("[192.0.2.1]"));
    assert_true(postie_smtp_domain_ok("[IPv6:::1]"));
    assert_false(postie_smtp_domain_ok(""));
    assert_false(postie_smtp_domain_ok(NULL));
    assert_false(postie_smtp_domain_ok("a b"));
    assert_false(postie_smtp_domain_ok("a\r\nMAIL"));
    assert_false(postie_smtp_domain_ok("[1.2.3.4"));
    assert_false(postie_smtp_domain_ok("[]"));
    assert_false(postie_smtp_domain_ok("[1.2 .3]"));
    assert_false(postie_smtp_domain_ok("ex_ample.org"));

    assert_int_equal(postie_smtp_address_literal("127.0.0.1", lit, sizeof lit), POSTIE_OK);
    assert_string_equal(lit, "[127.0.0.1]");
    assert_int_equal(postie_smtp_address_literal("::1", lit, sizeof lit), POSTIE_OK);
    assert_string_equal(lit, "[IPv6:::1]");
    assert_int_equal(postie_smtp_address_literal("2001:db8::7", lit, sizeof lit), POSTIE_OK);
    assert_string_equal(lit, "[IPv6:2001:db8::7]");
    assert_int_equal(postie_smtp_address_literal("::ffff:192.0.2.1", lit, sizeof lit), POSTIE_OK);
    assert_string_equal(lit, "[IPv6:::ffff:192.0.2.1]");
    assert_int_equal(postie_smtp_address_literal("host.example", lit, sizeof lit), POSTIE_ERR_PARAM);
    assert_int_equal(postie_smtp_address_literal("1.2.3.a", lit, sizeof lit), POSTIE_ERR_PARAM);
    assert_int_equal(postie_smtp_address_literal("", lit, sizeof lit), POSTIE_ERR_PARAM);
    assert_int_equal(postie_smtp_address_literal("127.0.0.1", lit, 11), POSTIE_ERR_BUFFER);
    assert_int_equal(postie_smtp_address_literal("127.0.0.1", lit, 12), POSTIE_OK);

    assert_true(postie_smtp_has_8bit("ab\x80", 3));
    assert_false(postie_smtp_has_8bit("ab\x80", 2));
    assert_false(postie_smtp_has_8bit(NULL, 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_single),
        cmocka_unit_test(test_reply_multiline),
        cmocka_unit_test(test_reply_code_only),
        cmocka_unit_test(test_reply_enhanced),
        cmocka_unit_test(test_reply_bad_codes),
        cmocka_unit_test(test_reply_too_long),
        cmocka_unit_test(test_reply_text_truncated),
        cmocka_unit_test(test_reply_nul_in_text),
        cmocka_unit_test(test_reply_line_direct),
        cmocka_unit_test(test_code_status),
        cmocka_unit_test(test_ehlo_keywords),
        cmocka_unit_test(test_ehlo_auth_forms),
        cmocka_unit_test(test_ehlo_size_forms),
        cmocka_unit_test(test_dot_plain),
        cmocka_unit_test(test_dot_stuffing),
        cmocka_unit_test(test_dot_line_ends),
        cmocka_unit_test(test_dot_smuggling),
        cmocka_unit_test(test_dot_chunk_starts),
        cmocka_unit_test(test_dot_exhaustive),
        cmocka_unit_test(test_dot_finish_and_8bit),
        cmocka_unit_test(test_content_eol),
        cmocka_unit_test(test_content_eol_is_the_encoders),
        cmocka_unit_test(test_arg_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
