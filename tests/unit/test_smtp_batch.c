/*
 * postie_smtp_send_batch(): the exact flights (what the client sends before
 * it needs which reply), with CHUNKING and PIPELINING, with PIPELINING
 * only and with neither; refusals mid-flight; the connection cut at every
 * byte of the replies, each message's reported outcome checked.
 *
 * The fake transport unlocks a step's reply only once the client has sent
 * everything the step expects: a client that waited for a reply inside a
 * flight would find nothing to read and fail.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "postie/smtp.h"
#include "fake_transport.h"

static fake_transport F;
static postie_transport T;
static postie_smtp S;

#define GREET "220 mx.example.org ESMTP\r\n"
#define EHLO "EHLO client.example\r\n"
#define EXT_CHUNK "250-mx.example.org\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 CHUNKING\r\n"
#define EXT_PIPE "250-mx.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
#define EXT_NONE "250-mx.example.org\r\n250 8BITMIME\r\n"

#define NMSG 10
static postie_smtp_envelope env[NMSG];
static postie_smtp_rcpt rc[NMSG][2];
static postie_smtp_msg msg[NMSG];
static char body[NMSG][64];
static char from[NMSG][32];

/* Message i: from s<i>@example.org to r<i>@example.net (and x<i>@... when
 * two), a body with LF line ends and a line starting with a dot. */
static void make(size_t n, int two_rcpts_at)
{
    size_t i;
    memset(env, 0, sizeof env);
    memset(rc, 0, sizeof rc);
    memset(msg, 0, sizeof msg);
    for (i = 0; i < n; i++) {
        static char to[NMSG][2][32];
        snprintf(from[i], sizeof from[i], "s%zu@example.org", i);
        snprintf(to[i][0], sizeof to[i][0], "r%zu@example.net", i);
        snprintf(to[i][1], sizeof to[i][1], "x%zu@example.net", i);
        snprintf(body[i], sizeof body[i], "Subject: m%zu\n\n.dot\nend", i);
        rc[i][0].addr = to[i][0];
        rc[i][1].addr = to[i][1];
        env[i].from = from[i];
        env[i].rcpts = rc[i];
        env[i].nrcpts = (int)i == two_rcpts_at ? 2 : 1;
        env[i].on_refused = POSTIE_SMTP_REFUSED_CONTINUE;
        msg[i].env = &env[i];
        msg[i].data = body[i];
        msg[i].len = strlen(body[i]);
    }
}

/* What the server receives for message i: the envelope (MAIL, RCPTs). */
static size_t envelope(size_t i, char *out)
{
    size_t o = (size_t)sprintf(out, "MAIL FROM:<%s>\r\n", from[i]);
    size_t r;
    for (r = 0; r < env[i].nrcpts; r++) {
        o += (size_t)sprintf(out + o, "RCPT TO:<%s>\r\n", rc[i][r].addr);
    }
    return o;
}

/* The body as sent: CRLF line ends and a final CRLF; stuffed for DATA. */
static size_t wire_body(size_t i, int stuffed, char *out)
{
    return (size_t)sprintf(out, "Subject: m%zu\r\n\r\n%s.dot\r\nend\r\n", i, stuffed ? "." : "");
}

static void start(size_t chunk, const char *ext)
{
    fake_free(&F);
    fake_init(&F, chunk);
    fake_step_add(&F, "", GREET);
    fake_step_add(&F, EHLO, ext);
    fake_bind(&F, &T);
    assert_int_equal(postie_smtp_init(&S, &T), POSTIE_OK);
    assert_int_equal(postie_smtp_set_tls(&S, POSTIE_TLS_OFF, NULL), POSTIE_OK);
    assert_int_equal(postie_smtp_set_domain(&S, "client.example"), POSTIE_OK);
}

static char flight[8][4096], answer[8][1024];

/* CHUNKING: three messages, one flight, BDAT with the exact length, no
 * dot doubled, no 354 wait. */
static void test_chunking_one_flight(void **state)
{
    size_t chunk, i;
    (void)state;
    for (chunk = 0; chunk <= 7; chunk++) {
        size_t o = 0, a = 0;
        make(3, -1);
        for (i = 0; i < 3; i++) {
            char b[128];
            size_t bl = wire_body(i, 0, b);
            o += envelope(i, flight[0] + o);
            o += (size_t)sprintf(flight[0] + o, "BDAT %zu LAST\r\n", bl);
            memcpy(flight[0] + o, b, bl);
            o += bl;
            a += (size_t)sprintf(answer[0] + a, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 queued %zu\r\n", i);
        }
        start(chunk, EXT_CHUNK);
        fake_step_addn(&F, flight[0], o, answer[0], a);
        assert_int_equal(postie_smtp_open(&S), POSTIE_OK);
        assert_int_equal(postie_smtp_send_batch(&S, msg, 3), POSTIE_OK);
        for (i = 0; i < 3; i++) {
            assert_int_equal(msg[i].status, POSTIE_OK);
            assert_int_equal(msg[i].code, 250);
            assert_int_equal(env[i].accepted, 1);
        }
        assert_int_equal(postie_smtp_messages_sent(&S), 3);
        assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_READY);
        fake_assert_script_sent(&F);
    }
}

/* CHUNKING with messages far larger than the output queue: the bytes keep
 * flowing while replies are outstanding: eight 4 KB messages in one flight,
 * no reply needed before all of it went out. */
static void test_chunking_keeps_flowing(void **state)
{
    static char big[8][4096];
    static char fl[8 * 4300], an[8 * 64];
    size_t i, o = 0, a = 0;
    (void)state;
    make(8, -1);
    for (i = 0; i < 8; i++) {
        memset(big[i], 'a' + (int)i, sizeof big[i] - 2);
        memcpy(big[i] + sizeof big[i] - 2, "\r\n", 2);
        msg[i].data = big[i];
        msg[i].len = sizeof big[i];
        o += envelope(i, fl + o);
        o += (size_t)sprintf(fl + o, "BDAT %zu LAST\r\n", sizeof big[i]);
        memcpy(fl + o, big[i], sizeof big[i]);
        o += sizeof big[i];
        a += (size_t)sprintf(an + a, "250 Ok\r\n250 Ok\r\n250 2.0.0 queued\r\n");
    }
    start(0, EXT_CHUNK);
    fake_step_addn(&F, fl, o, an, a);
    assert_int_equal(postie_smtp_open(&S), POSTIE_OK);
    assert_int_equal(postie_smtp_send_batch(&S, msg, 8), POSTIE_OK);
    for (i = 0; i < 8; i++) {
        assert_int_equal(msg[i].status, POSTIE_OK);
    }
    fake_assert_script_sent(&F);
}

/* BINARYMIME (RFC 3030): a message that text transfer would change (a NUL
 * byte, a 1,200-octet line) goes by BDAT as it is with BODY=BINARYMIME when
 * the server offers it; a text message beside it is normalised as ever. */
static void test_binarymime(void **state)
{
    static char bin[1300];
    static char fl[4096];
    size_t o = 0, a = 0, bl;
    char b[128];
    (void)state;
    make(2, -1);
    memcpy(bin, "Subject: b\n\nraw\0bytes\n", 23);
    memset(bin + 23, 'z', sizeof bin - 23);
    msg[0].data = bin;
    msg[0].len = sizeof bin;
    o += (size_t)sprintf(fl + o, "MAIL FROM:<%s> BODY=BINARYMIME\r\nRCPT TO:<%s>\r\n", from[0],
                         rc[0][0].addr);
    o += (size_t)sprintf(fl + o, "BDAT %zu LAST\r\n", sizeof bin);
    memcpy(fl + o, bin, sizeof bin); /* not a byte changed: LF and NUL as they are */
    o += sizeof bin;
    o += envelope(1, fl + o);
    bl = wire_body(1, 0, b);
    o += (size_t)sprintf(fl + o, "BDAT %zu LAST\r\n", bl);
    memcpy(fl + o, b, bl);
    o += bl;
    a = (size_t)sprintf(answer[0], "250 Ok\r\n250 Ok\r\n250 queued\r\n250 Ok\r\n250 Ok\r\n250 queued\r\n");
    start(0, "250-mx.example.org\r\n250-PIPELINING\r\n250-BINARYMIME\r\n250 CHUNKING\r\n");
    fake_step_addn(&F, fl, o, answer[0], a);
    assert_int_equal(postie_smtp_open(&S), POSTIE_OK);
    assert_true(postie_smtp_has(&S, POSTIE_SMTP_EXT_BINARYMIME));
    assert_int_equal(postie_smtp_send_batch(&S, msg, 2), POSTIE_OK);
    assert_int_equal(msg[0].status, POSTIE_OK);
    assert_int_equal(msg[1].status, POSTIE_OK);
    fake_assert_script_sent(&F);
    assert_int_equal(postie_smtp_needs_binary("a\nb", 3), 0);
    assert_int_equal(postie_smtp_needs_binary(bin, sizeof bin), 1);
}

/* PIPELINING only: the end of one message and the envelope and DATA of the
 * next go in one flight: n + 1 flights for n messages. */
static void test_pipelining_across_messages(void **state)
{
    size_t chunk, i;
    (void)state;
    for (chunk = 0; chunk <= 7; chunk++) {
        make(3, -1);
        start(chunk, EXT_PIPE);
        for (i = 0; i <= 3; i++) {
            size_t o = 0, a = 0;
            if (i > 0) {
                o += wire_body(i - 1, 1, flight[i] + o);
                o += (size_t)sprintf(flight[i] + o, ".\r\n");
                a += (size_t)sprintf(answer[i] + a, "250 2.0.0 queued %zu\r\n", i - 1);
            }
            if (i < 3) {
                o += envelope(i, flight[i] + o);
                o += (size_t)sprintf(flight[i] + o, "DATA\r\n");
                a += (size_t)sprintf(answer[i] + a, "250 Ok\r\n250 Ok\r\n354 go\r\n");
            }
            fake_step_addn(&F, flight[i], o, answer[i], a);
        }
        assert_int_equal(postie_smtp_open(&S), POSTIE_OK);
        assert_int_equal(postie_smtp_send_batch(&S, msg, 3), POSTIE_OK);
        for (i = 0; i < 3; i++) {
            assert_int_equal(msg[i].status, POSTIE_OK);
        }
        fake_assert_script_sent(&F);
    }
}

/* PIPELINING only: each DATA's reply belongs to its own message. Message
 * 0's MAIL is refused (its RCPT and DATA get 503), message 1 goes, message
 * 2's DATA is refused (RSET follows): each outcome is its own reply (the
 * DATA used to be queued as message 0's: message 1's 354 then read as a 354
 * without a transaction, and message 2's refusal was lost). */
static void test_data_reply_is_its_own(void **state)
{
    static const char a0[] = "451 4.3.0 later\r\n503 5.5.1 no MAIL\r\n503 5.5.1 no MAIL\r\n";
    static const char a1[] = "250 Ok\r\n250 Ok\r\n354 go\r\n";
    static const char a2[] = "250 2.0.0 queued\r\n250 Ok\r\n250 Ok\r\n554 5.7.1 no thanks\r\n";
    size_t chunk, o;
    (void)state;
    for (chunk = 0; chunk <= 7; chunk++) {
        make(3, -1);
        start(chunk, EXT_PIPE);
        o = envelope(0, flight[0]);
        o += (size_t)sprintf(flight[0] + o, "DATA\r\n");
        fake_step_addn(&F, flight[0], o, a0, sizeof a0 - 1);
        o = envelope(1, flight[1]);
        o += (size_t)sprintf(flight[1] + o, "DATA\r\n");
        fake_step_addn(&F, flight[1], o, a1, sizeof a1 - 1);
        o = wire_body(1, 1, flight[2]);
        o += (size_t)sprintf(flight[2] + o, ".\r\n");
        o += envelope(2, flight[2] + o);
        o += (size_t)sprintf(flight[2] + o, "DATA\r\n");
        fake_step_addn(&F, flight[2], o, a2, sizeof a2 - 1);
        fake_step_add(&F, "RSET\r\n", "250 2.0.0 Ok\r\n");
        assert_int_equal(postie_smtp_open(&S), POSTIE_OK);
        assert_int_equal(postie_smtp_send_batch(&S, msg, 3), POSTIE_OK);
        assert_int_equal(msg[0].status, POSTIE_ERR_TRANSIENT);
        assert_int_equal(msg[0].code, 451);
        assert_int_equal(msg[1].status, POSTIE_OK);
        assert_int_equal(msg[1].code, 250);
        assert_int_equal(msg[2].status, POSTIE_ERR_SERVER);
        assert_int_equal(msg[2].code, 554);
        assert_string_equal(msg[2].enhanced, "5.7.1");
        assert_int_equal(env[2].accepted, 1);
        assert_int_equal(postie_smtp_messages_sent(&S), 1);
        assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_READY);
        fake_assert_script_sent(&F);
    }
}

/* Neither: one command at a time, as a server without PIPELINING needs. */
static void test_lockstep(void **state)
{
    char b[128];
    size_t bl;
    (void)state;
    make(1, -1);
    start(0, EXT_NONE);
    fake_step_add(&F, "MAIL FROM:<s0@example.org>\r\n", "250 Ok\r\n");
    fake_step_add(&F, "RCPT TO:<r0@example.net>\r\n", "250 Ok\r\n");
    fake_step_add(&F, "DATA\r\n", "354 go\r\n");
    bl = wire_body(0, 1, b);
    memcpy(b + bl, ".\r\n", 3);
    fake_step_addn(&F, b, bl + 3, "250 queued\r\n", 12);
    assert_int_equal(postie_smtp_open(&S), POSTIE_OK);
    assert_int_equal(postie_smtp_send_batch(&S, msg, 1), POSTIE_OK);
    assert_int_equal(msg[0].status, POSTIE_OK);
    fake_assert_script_sent(&F);
}

/* Refusals inside one CHUNKING flight of ten: a 550 to one RCPT of message
 * 3 (its other recipient gets it), a 554 to message 5's BDAT, a 451 to
 * message 7's MAIL (its RCPT and BDAT then get 503): every other message
 * is accepted, and each outcome is the server's own reply. */
static void test_refusals_mid_flight(void **state)
{
    size_t o = 0, a = 0, i;
    (void)state;
    make(10, 3);
    for (i = 0; i < 10; i++) {
        char b[128];
        size_t bl = wire_body(i, 0, b);
        o += envelope(i, flight[0] + o);
        o += (size_t)sprintf(flight[0] + o, "BDAT %zu LAST\r\n", bl);
        memcpy(flight[0] + o, b, bl);
        o += bl;
        if (i == 7) {
            a += (size_t)sprintf(answer[0] + a, "451 4.3.0 try later\r\n503 5.5.1 no MAIL\r\n"
                                                "503 5.5.1 no MAIL\r\n");
        } else if (i == 3) {
            a += (size_t)sprintf(answer[0] + a, "250 Ok\r\n250 Ok\r\n550 5.1.1 unknown\r\n"
                                                "250 2.0.0 queued\r\n");
        } else if (i == 5) {
            a += (size_t)sprintf(answer[0] + a, "250 Ok\r\n250 Ok\r\n554 5.7.1 spam\r\n");
        } else {
            a += (size_t)sprintf(answer[0] + a, "250 Ok\r\n250 Ok\r\n250 2.0.0 queued\r\n");
        }
    }
    start(0, EXT_CHUNK);
    fake_step_addn(&F, flight[0], o, answer[0], a);
    assert_int_equal(postie_smtp_open(&S), POSTIE_OK);
    assert_int_equal(postie_smtp_send_batch(&S, msg, 10), POSTIE_OK);
    for (i = 0; i < 10; i++) {
        if (i == 5) {
            assert_int_equal(msg[i].status, POSTIE_ERR_SERVER);
            assert_int_equal(msg[i].code, 554);
            assert_string_equal(msg[i].enhanced, "5.7.1");
        } else if (i == 7) {
            assert_int_equal(msg[i].status, POSTIE_ERR_TRANSIENT);
            assert_int_equal(msg[i].code, 451);
        } else {
            assert_int_equal(msg[i].status, POSTIE_OK);
        }
    }
    assert_int_equal(env[3].accepted, 1);
    assert_int_equal(rc[3][0].code, 250);
    assert_int_equal(rc[3][1].code, 550);
    assert_int_equal(rc[3][1].status, POSTIE_ERR_SERVER);
    assert_int_equal(postie_smtp_messages_sent(&S), 8);
    fake_assert_script_sent(&F);
}

/* PIPELINING only, the replies cut after every byte: each message is
 * accepted (its 250 came), never sent whole (its 354 never came: not
 * delivered, ERR_CLOSED), or sent whole with the reply lost
 * (ERR_OUTCOME_UNKNOWN) - and exactly one message can be the last. */
static void test_cut_at_every_byte(void **state)
{
    size_t total = 0, cut, i, step;
    (void)state;
    make(3, -1);
    /* the full script once, to know its replies' length */
    for (step = 0; step <= 3; step++) {
        size_t a = 0;
        if (step > 0) {
            a += (size_t)sprintf(answer[step] + a, "250 2.0.0 queued\r\n");
        }
        if (step < 3) {
            a += (size_t)sprintf(answer[step] + a, "250 Ok\r\n250 Ok\r\n354 go\r\n");
        }
        total += a;
    }
    for (cut = 0; cut < total; cut++) {
        size_t left = cut, unknown = 0;
        make(3, -1);
        start(0, EXT_PIPE);
        for (step = 0; step <= 3; step++) {
            size_t o = 0, a = strlen(answer[step]);
            if (step > 0) {
                o += wire_body(step - 1, 1, flight[step] + o);
                o += (size_t)sprintf(flight[step] + o, ".\r\n");
            }
            if (step < 3) {
                o += envelope(step, flight[step] + o);
                o += (size_t)sprintf(flight[step] + o, "DATA\r\n");
            }
            if (a > left) {
                a = left;
            }
            left -= a;
            fake_step_addn(&F, flight[step], o, answer[step], a);
            if (left == 0) {
                break;
            }
        }
        F.at_end = 0; /* then the server hangs up */
        assert_int_equal(postie_smtp_open(&S), POSTIE_OK);
        assert_int_equal(postie_smtp_send_batch(&S, msg, 3), POSTIE_ERR_CLOSED);
        for (i = 0; i < 3; i++) {
            postie_status st = msg[i].status;
            assert_true(st == POSTIE_OK || st == POSTIE_ERR_CLOSED ||
                        st == POSTIE_ERR_OUTCOME_UNKNOWN);
            unknown += st == POSTIE_ERR_OUTCOME_UNKNOWN;
            if (i > 0 && msg[i - 1].status != POSTIE_OK) {
                assert_int_equal(st, POSTIE_ERR_CLOSED); /* nothing after a loss went out */
            }
        }
        assert_true(unknown <= 1);
        assert_int_equal(postie_smtp_get_state(&S), POSTIE_SMTP_STATE_CLOSED);
        postie_smtp_close(&S);
    }
}

static void test_params(void **state)
{
    (void)state;
    make(2, -1);
    start(0, EXT_CHUNK);
    env[1].on_refused = POSTIE_SMTP_REFUSED_ABORT;
    assert_int_equal(postie_smtp_send_batch(&S, msg, 2), POSTIE_ERR_PARAM);
    assert_int_equal(postie_smtp_send_batch(NULL, msg, 2), POSTIE_ERR_PARAM);
    env[1].on_refused = POSTIE_SMTP_REFUSED_CONTINUE;
    assert_int_equal(postie_smtp_send_batch(&S, msg, 2), POSTIE_ERR_STATE); /* not open */
    env[1].from = "bad\r\nRCPT TO:<evil@x>";
    fake_step_add(&F, "", "");
    assert_int_equal(postie_smtp_send_batch(&S, msg, 2), POSTIE_ERR_PARAM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunking_one_flight),
        cmocka_unit_test(test_chunking_keeps_flowing),
        cmocka_unit_test(test_binarymime),
        cmocka_unit_test(test_pipelining_across_messages),
        cmocka_unit_test(test_data_reply_is_its_own),
        cmocka_unit_test(test_lockstep),
        cmocka_unit_test(test_refusals_mid_flight),
        cmocka_unit_test(test_cut_at_every_byte),
        cmocka_unit_test(test_params),
    };
    int rc_ = cmocka_run_group_tests(tests, NULL, NULL);
    fake_free(&F);
    return rc_;
}
