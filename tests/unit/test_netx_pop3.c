/* NetX Duo POP3 client services (postie_netx) against the in-memory fake
 * server, every session replayed at every chunk size. Includes one regression
 * test for each defect of the original POP3 client named in the issue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fake_transport.h"
#include "nx_api.h"
#include "nxd_pop3_client.h"
#include "nx_postie_hooks.h"
#include "nx_postie_tls.h"

static ULONG pool_area[8192];
static NX_PACKET_POOL pool;
static NX_IP ip;

static void make_pool(ULONG payload, ULONG packets)
{
    memset(&pool, 0, sizeof pool);
    assert_int_equal(nx_packet_pool_create(&pool, "pop3", payload, pool_area,
                                           packets * (ULONG)(sizeof(NX_PACKET) + payload)), NX_SUCCESS);
}

static void check_pool_full(void)
{
    ULONG total, avail;
    assert_int_equal(nx_packet_pool_info_get(&pool, &total, &avail, NULL, NULL, NULL), NX_SUCCESS);
    assert_int_equal(avail, total);
}

static void drop_pool(void)
{
    check_pool_full();
    assert_int_equal(nx_packet_pool_delete(&pool), NX_SUCCESS);
}

/* Fetches the current message packet by packet, checking what the API
 * promises of each packet; returns its length. */
static size_t fetch(NX_POP3_CLIENT *c, char *out, size_t cap, ULONG payload)
{
    size_t total = 0;
    UINT final = NX_FALSE;
    int packets = 0;
    while (!final) {
        NX_PACKET *pkt = NULL;
        ULONG got = 12345;
        assert_int_equal(nx_pop3_client_mail_item_message_get(c, &pkt, &got, &final), NX_SUCCESS);
        assert_non_null(pkt);
        assert_int_equal(got, pkt->nx_packet_length);
        assert_int_equal(pkt->nx_packet_append_ptr - pkt->nx_packet_prepend_ptr, got);
        assert_true(got <= payload);
        if (!final) {
            assert_int_equal(got, payload); /* only the last may be short */
        }
        assert_true(total + got <= cap);
        memcpy(out + total, pkt->nx_packet_prepend_ptr, got);
        total += got;
        assert_int_equal(nx_packet_release(pkt), NX_SUCCESS);
        packets++;
        assert_true(packets < 100000);
    }
    return total;
}

static UINT create_on(NX_POP3_CLIENT *c, fake_transport *f, UINT apop, const char *user,
                      const char *pass)
{
    postie_transport tr;
    fake_bind(f, &tr);
    return nx_postie_pop3_client_create_on(c, apop, &ip, &pool, &tr, (CHAR *)user, (CHAR *)pass);
}

/* ---- RFC 1939 sample session 1 (USER/PASS, STAT, RETR, DELE) ------------- */

static const char MSG1_WIRE[] =
    "From: a@example.org\r\nSubject: one\r\n\r\nHello\r\n..dot line\r\n.\r\n";
static const char MSG1[] = "From: a@example.org\r\nSubject: one\r\n\r\nHello\r\n.dot line\r\n";
static const char MSG2_WIRE[] = "Subject: two\r\n\r\n...\r\nlast line\r\n.\r\n";
static const char MSG2[] = "Subject: two\r\n\r\n..\r\nlast line\r\n";

static void sample1_steps(fake_transport *f)
{
    static char retr1[256], retr2[256];
    snprintf(retr1, sizeof retr1, "+OK 120 octets\r\n%s", MSG1_WIRE);
    snprintf(retr2, sizeof retr2, "+OK 200 octets\r\n%s", MSG2_WIRE);
    fake_step_add(f, "", "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n");
    fake_step_add(f, "USER mrose\r\n", "+OK mrose is valid\r\n");
    fake_step_add(f, "PASS mvan99\r\n", "+OK mrose is logged in\r\n");
    fake_step_add(f, "STAT\r\n", "+OK 2 320\r\n");
    fake_step_add(f, "RETR 1\r\n", retr1);
    fake_step_add(f, "DELE 1\r\n", "+OK message 1 deleted\r\n");
    fake_step_add(f, "RETR 2\r\n", retr2);
    fake_step_add(f, "DELE 2\r\n", "+OK message 2 deleted\r\n");
    fake_step_add(f, "QUIT\r\n", "+OK POP3 server signing off (maildrop empty)\r\n");
}

static void test_sample_user_pass_every_chunk(void **state)
{
    static fake_transport f;
    size_t chunk;
    ULONG payload;
    (void)state;
    for (payload = 8; payload <= 72; payload += 16) {
        for (chunk = 1; chunk <= 90; chunk++) {
            NX_POP3_CLIENT c;
            UINT items = 0;
            ULONG total = 0, size = 0;
            char buf[512];
            size_t n;
            make_pool(payload, 4);
            fake_init(&f, chunk);
            sample1_steps(&f);
            assert_int_equal(create_on(&c, &f, NX_FALSE, "mrose", "mvan99"), NX_SUCCESS);
            assert_int_equal(nx_pop3_client_mail_items_get(&c, &items, &total), NX_SUCCESS);
            assert_int_equal(items, 2);
            assert_int_equal(total, 320);
            assert_int_equal(nx_pop3_client_mail_item_get(&c, 1, &size), NX_SUCCESS);
            assert_int_equal(size, 120);
            n = fetch(&c, buf, sizeof buf, payload);
            assert_int_equal(n, strlen(MSG1));
            assert_memory_equal(buf, MSG1, n);
            assert_int_equal(nx_pop3_client_mail_item_delete(&c, 1), NX_SUCCESS);
            assert_int_equal(nx_pop3_client_mail_item_get(&c, 2, &size), NX_SUCCESS);
            assert_int_equal(size, 200);
            n = fetch(&c, buf, sizeof buf, payload);
            assert_int_equal(n, strlen(MSG2));
            assert_memory_equal(buf, MSG2, n);
            assert_int_equal(nx_pop3_client_mail_item_delete(&c, 2), NX_SUCCESS);
            assert_int_equal(nx_pop3_client_quit(&c), NX_SUCCESS);
            assert_int_equal(nx_pop3_client_delete(&c), NX_SUCCESS);
            fake_assert_sent(&f, "USER mrose\r\nPASS mvan99\r\nSTAT\r\nRETR 1\r\nDELE 1\r\n"
                                 "RETR 2\r\nDELE 2\r\nQUIT\r\n");
            assert_int_equal(f.closed, 1);
            fake_free(&f);
            drop_pool();
        }
    }
}

/* ---- RFC 1939 sample session 2 (APOP, LIST, no STAT) -------------------- */

static void test_sample_apop_list_every_chunk(void **state)
{
    static fake_transport f;
    size_t chunk;
    (void)state;
    for (chunk = 1; chunk <= 80; chunk++) {
        NX_POP3_CLIENT c;
        ULONG size = 0;
        char buf[512];
        static char retr1[256], retr2[256];
        make_pool(32, 2);
        fake_init(&f, chunk);
        snprintf(retr1, sizeof retr1, "+OK 120 octets\r\n%s", MSG1_WIRE);
        snprintf(retr2, sizeof retr2, "+OK 200 octets\r\n%s", MSG2_WIRE);
        fake_step_add(&f, "", "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n");
        fake_step_add(&f, "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n",
                      "+OK mrose's maildrop has 2 messages (320 octets)\r\n");
        fake_step_add(&f, "LIST\r\n", "+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n");
        fake_step_add(&f, "RETR 1\r\n", retr1);
        fake_step_add(&f, "DELE 1\r\n", "+OK message 1 deleted\r\n");
        fake_step_add(&f, "RETR 2\r\n", retr2);
        fake_step_add(&f, "DELE 2\r\n", "+OK message 2 deleted\r\n");
        fake_step_add(&f, "QUIT\r\n", "+OK dewey POP3 server signing off (maildrop empty)\r\n");
        assert_int_equal(create_on(&c, &f, NX_TRUE, "mrose", "tanstaaf"), NX_SUCCESS);
        assert_int_equal(nx_pop3_client_mail_item_get(&c, 1, &size), NX_SUCCESS);
        assert_int_equal(size, 120);
        assert_int_equal(fetch(&c, buf, sizeof buf, 32), strlen(MSG1));
        assert_memory_equal(buf, MSG1, strlen(MSG1));
        assert_int_equal(nx_pop3_client_mail_item_delete(&c, 1), NX_SUCCESS);
        assert_int_equal(nx_pop3_client_mail_item_get(&c, 2, &size), NX_SUCCESS);
        assert_int_equal(fetch(&c, buf, sizeof buf, 32), strlen(MSG2));
        assert_memory_equal(buf, MSG2, strlen(MSG2));
        assert_int_equal(nx_pop3_client_mail_item_delete(&c, 2), NX_SUCCESS);
        assert_int_equal(nx_pop3_client_quit(&c), NX_SUCCESS);
        assert_int_equal(nx_pop3_client_delete(&c), NX_SUCCESS);
        fake_assert_sent(&f, "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\nLIST\r\nRETR 1\r\n"
                             "DELE 1\r\nRETR 2\r\nDELE 2\r\nQUIT\r\n");
        fake_free(&f);
        drop_pool();
    }
}

static void test_apop_refused_falls_back_to_user_pass(void **state)
{
    static fake_transport f;
    NX_POP3_CLIENT c;
    (void)state;
    make_pool(64, 2);
    fake_init(&f, 0);
    fake_step_add(&f, "", "+OK ready <1.2@host>\r\n");
    fake_step_add(&f, "APOP", "");
    fake_step_addn(&f, " u 0123456789abcdef0123456789abcdef\r\n", 36, "-ERR no\r\n", 9);
    fake_step_add(&f, "USER u\r\n", "+OK\r\n");
    fake_step_add(&f, "PASS p\r\n", "+OK\r\n");
    assert_int_equal(create_on(&c, &f, NX_TRUE, "u", "p"), NX_SUCCESS);
    assert_int_equal(strncmp(f.sent, "APOP u ", 7), 0);
    assert_string_equal(f.sent + 7 + 32, "\r\nUSER u\r\nPASS p\r\n");
    assert_int_equal(nx_pop3_client_delete(&c), NX_SUCCESS);
    assert_int_equal(f.closed, 1);
    fake_free(&f);
    drop_pool();
}

/* Defect: a -ERR to PASS was reported as success. */
static void test_defect_err_to_pass_is_failure(void **state)
{
    static fake_transport f;
    NX_POP3_CLIENT c;
    UINT items;
    size_t chunk;
    (void)state;
    for (chunk = 1; chunk <= 24; chunk++) {
        make_pool(64, 2);
        fake_init(&f, chunk);
        fake_step_add(&f, "", "+OK POP3 ready\r\n");
        fake_step_add(&f, "USER mrose\r\n", "+OK\r\n");
        fake_step_add(&f, "PASS wrong\r\n", "-ERR [AUTH] invalid password\r\n");
        fake_step_add(&f, "QUIT\r\n", "+OK bye\r\n");
        assert_int_equal(create_on(&c, &f, NX_FALSE, "mrose", "wrong"), NX_POP3_SERVER_ERROR_STATUS);
        fake_assert_sent(&f, "USER mrose\r\nPASS wrong\r\nQUIT\r\n");
        assert_int_equal(f.closed, 1);
        /* the client was not created: nothing can be used */
        assert_int_equal(nx_pop3_client_mail_items_get(&c, &items, NULL), NX_PTR_ERROR);
        fake_free(&f);
        drop_pool();
    }
}

/* Defect: the terminator split across two TCP segments was never detected;
 * here the end of the message is cut at every possible place. */
static void test_defect_terminator_split_anywhere(void **state)
{
    static fake_transport f;
    static const char body[] = "abc\r\ndef\r\n";
    static const char tail[] = "abc\r\ndef\r\n.\r\n";
    size_t cut;
    (void)state;
    for (cut = 1; cut < strlen(tail); cut++) {
        NX_POP3_CLIENT c;
        char buf[64], first[32], second[32];
        make_pool(16, 3);
        fake_init(&f, 0);
        memcpy(first, tail, cut);
        first[cut] = '\0';
        strcpy(second, tail + cut);
        fake_step_add(&f, "", "+OK hi\r\n");
        fake_step_add(&f, "USER u\r\n", "+OK\r\n");
        fake_step_add(&f, "PASS p\r\n", "+OK\r\n");
        fake_step_add(&f, "STAT\r\n", "+OK 1 12\r\n");
        fake_step_add(&f, "RETR 1\r\n", "+OK\r\n");
        fake_step_add(&f, "", first);   /* one segment ... */
        fake_step_add(&f, "", second);  /* ... and the next */
        fake_step_add(&f, "NOOP\r\n", "+OK\r\n");
        assert_int_equal(create_on(&c, &f, NX_FALSE, "u", "p"), NX_SUCCESS);
        assert_int_equal(nx_pop3_client_mail_items_get(&c, NULL, NULL), NX_SUCCESS);
        assert_int_equal(nx_pop3_client_mail_item_get(&c, 1, NULL), NX_SUCCESS);
        assert_int_equal(fetch(&c, buf, sizeof buf, 16), strlen(body));
        assert_memory_equal(buf, body, strlen(body));
        /* the session is in step: the next command works */
        assert_int_equal(nx_pop3_client_noop(&c), NX_SUCCESS);
        nx_pop3_client_delete(&c);
        fake_free(&f);
        drop_pool();
    }
}

/* Defect: a segment holding only ".\r\n" after one that did not end in CRLF
 * was taken as the end of the message. */
static void test_defect_dot_segment_mid_line(void **state)
{
    static fake_transport f;
    static const char expect[] = "line1\r\nabc.\r\ndef\r\n";
    NX_POP3_CLIENT c;
    char buf[64];
    (void)state;
    make_pool(64, 2);
    fake_init(&f, 0);
    fake_step_add(&f, "", "+OK hi\r\n");
    fake_step_add(&f, "USER u\r\n", "+OK\r\n");
    fake_step_add(&f, "PASS p\r\n", "+OK\r\n");
    fake_step_add(&f, "LIST\r\n", "+OK\r\n1 18\r\n.\r\n");
    fake_step_add(&f, "RETR 1\r\n", "+OK 18 octets\r\nline1\r\nabc");
    fake_step_add(&f, "", ".\r\n");
    fake_step_add(&f, "", "def\r\n.\r\n");
    fake_step_add(&f, "DELE 1\r\n", "+OK\r\n");
    assert_int_equal(create_on(&c, &f, NX_FALSE, "u", "p"), NX_SUCCESS);
    assert_int_equal(nx_pop3_client_mail_item_get(&c, 1, NULL), NX_SUCCESS);
    assert_int_equal(fetch(&c, buf, sizeof buf, 64), strlen(expect));
    assert_memory_equal(buf, expect, strlen(expect));
    assert_int_equal(nx_pop3_client_mail_item_delete(&c, 1), NX_SUCCESS);
    nx_pop3_client_delete(&c);
    fake_free(&f);
    drop_pool();
}

static void test_index_checks_keep_session(void **state)
{
    static fake_transport f;
    NX_POP3_CLIENT c;
    ULONG size = 7;
    UINT items;
    (void)state;
    make_pool(64, 2);
    fake_init(&f, 0);
    fake_step_add(&f, "", "+OK hi\r\n");
    fake_step_add(&f, "USER u\r\n", "+OK\r\n");
    fake_step_add(&f, "PASS p\r\n", "+OK\r\n");
    fake_step_add(&f, "STAT\r\n", "+OK 2 300\r\n");
    fake_step_add(&f, "LIST 2\r\n", "+OK 2 200\r\n");
    fake_step_add(&f, "DELE 1\r\n", "+OK\r\n");
    fake_step_add(&f, "DELE 1\r\n", "-ERR message 1 already deleted\r\n");
    fake_step_add(&f, "RSET\r\n", "+OK\r\n");
    fake_step_add(&f, "QUIT\r\n", "+OK\r\n");
    assert_int_equal(create_on(&c, &f, NX_FALSE, "u", "p"), NX_SUCCESS);
    assert_int_equal(nx_pop3_client_mail_items_get(&c, &items, NULL), NX_SUCCESS);
    assert_int_equal(nx_pop3_client_mail_item_get(&c, 0, &size), NX_POP3_CLIENT_INVALID_INDEX);
    assert_int_equal(nx_pop3_client_mail_item_get(&c, 3, &size), NX_POP3_INVALID_MAIL_ITEM);
    assert_int_equal(nx_pop3_client_mail_item_size_get(&c, 0, &size), NX_POP3_CLIENT_INVALID_INDEX);
    assert_int_equal(nx_pop3_client_mail_item_size_get(&c, 3, &size), NX_POP3_INVALID_MAIL_ITEM);
    assert_int_equal(nx_pop3_client_mail_item_delete(&c, 0), NX_POP3_CLIENT_INVALID_INDEX);
    assert_int_equal(nx_pop3_client_mail_item_delete(&c, 9), NX_POP3_INVALID_MAIL_ITEM);
    fake_assert_sent(&f, "USER u\r\nPASS p\r\nSTAT\r\n"); /* nothing sent for those */
    assert_int_equal(nx_pop3_client_mail_item_size_get(&c, 2, &size), NX_SUCCESS);
    assert_int_equal(size, 200);
    assert_int_equal(nx_pop3_client_mail_item_delete(&c, 1), NX_SUCCESS);
    assert_int_equal(nx_pop3_client_mail_item_delete(&c, 1), NX_POP3_SERVER_ERROR_STATUS);
    assert_int_equal(nx_pop3_client_reset(&c), NX_SUCCESS);
    assert_int_equal(nx_pop3_client_quit(&c), NX_SUCCESS);
    /* after QUIT the session is over */
    assert_int_equal(nx_pop3_client_mail_items_get(&c, &items, NULL), NX_POP3_CLIENT_INVALID_STATE);
    assert_int_equal(nx_pop3_client_mail_item_get(&c, 1, &size), NX_POP3_CLIENT_INVALID_STATE);
    assert_int_equal(nx_pop3_client_noop(&c), NX_POP3_CLIENT_INVALID_STATE);
    assert_int_equal(nx_pop3_client_delete(&c), NX_SUCCESS);
    assert_int_equal(nx_pop3_client_delete(&c), NX_PTR_ERROR);
    fake_free(&f);
    drop_pool();
}

static void test_wrong_state_during_download(void **state)
{
    static fake_transport f;
    NX_POP3_CLIENT c;
    NX_PACKET *pkt;
    ULONG got;
    UINT final, items;
    char buf[64];
    (void)state;
    make_pool(8, 2);
    fake_init(&f, 0);
    fake_step_add(&f, "", "+OK hi\r\n");
    fake_step_add(&f, "USER u\r\n", "+OK\r\n");
    fake_step_add(&f, "PASS p\r\n", "+OK\r\n");
    fake_step_add(&f, "STAT\r\n", "+OK 1 10\r\n");
    fake_step_add(&f, "RETR 1\r\n", "+OK\r\n0123456789abcdef\r\n.\r\n");
    fake_step_add(&f, "QUIT\r\n", "+OK\r\n");
    assert_int_equal(create_on(&c, &f, NX_FALSE, "u", "p"), NX_SUCCESS);
    assert_int_equal(nx_pop3_client_mail_item_message_get(&c, &pkt, &got, &final),
                     NX_POP3_CLIENT_INVALID_STATE);
    assert_null(pkt);
    assert_int_equal(nx_pop3_client_mail_items_get(&c, &items, NULL), NX_SUCCESS);
    assert_int_equal(nx_pop3_client_mail_item_get(&c, 1, NULL), NX_SUCCESS);
    assert_int_equal(nx_pop3_client_mail_item_message_get(&c, &pkt, &got, &final), NX_SUCCESS);
    assert_int_equal(got, 8);
    assert_false(final);
    assert_memory_equal(pkt->nx_packet_prepend_ptr, "01234567", 8);
    /* commands while the message is still coming */
    assert_int_equal(nx_pop3_client_mail_item_delete(&c, 1), NX_POP3_CLIENT_INVALID_STATE);
    assert_int_equal(nx_pop3_client_mail_items_get(&c, &items, NULL), NX_POP3_CLIENT_INVALID_STATE);
    assert_int_equal(nx_pop3_client_noop(&c), NX_POP3_CLIENT_INVALID_STATE);
    {
        /* the pool's other packet is free; hold it too: the next call finds
         * the pool empty, waits its timeout, and loses nothing */
        NX_PACKET *hold, *p2;
        assert_int_equal(nx_packet_allocate(&pool, &hold, 0, NX_NO_WAIT), NX_SUCCESS);
        assert_int_equal(nx_pop3_client_mail_item_message_get(&c, &p2, &got, &final), NX_NO_PACKET);
        nx_packet_release(hold);
    }
    nx_packet_release(pkt);
    assert_int_equal(fetch(&c, buf, sizeof buf, 8), 10);
    assert_memory_equal(buf, "89abcdef\r\n", 10);
    assert_int_equal(nx_pop3_client_quit(&c), NX_SUCCESS);
    nx_pop3_client_delete(&c);
    fake_free(&f);
    drop_pool();
}

static void test_quit_mid_message_drains(void **state)
{
    static fake_transport f;
    NX_POP3_CLIENT c;
    NX_PACKET *pkt;
    ULONG got;
    UINT final;
    (void)state;
    make_pool(4, 2);
    fake_init(&f, 3);
    fake_step_add(&f, "", "+OK hi\r\n");
    fake_step_add(&f, "USER u\r\n", "+OK\r\n");
    fake_step_add(&f, "PASS p\r\n", "+OK\r\n");
    fake_step_add(&f, "LIST\r\n", "+OK\r\n1 10\r\n.\r\n");
    fake_step_add(&f, "RETR 1\r\n", "+OK\r\n0123456789\r\n.\r\n");
    fake_step_add(&f, "QUIT\r\n", "+OK\r\n");
    assert_int_equal(create_on(&c, &f, NX_FALSE, "u", "p"), NX_SUCCESS);
    assert_int_equal(nx_pop3_client_mail_item_get(&c, 1, NULL), NX_SUCCESS);
    assert_int_equal(nx_pop3_client_mail_item_message_get(&c, &pkt, &got, &final), NX_SUCCESS);
    nx_packet_release(pkt);
    assert_int_equal(nx_pop3_client_quit(&c), NX_SUCCESS);
    fake_assert_sent(&f, "USER u\r\nPASS p\r\nLIST\r\nRETR 1\r\nQUIT\r\n");
    nx_pop3_client_delete(&c);
    fake_free(&f);
    drop_pool();
}

static void test_empty_message_and_refusals(void **state)
{
    static fake_transport f;
    NX_POP3_CLIENT c;
    NX_PACKET *pkt;
    ULONG got;
    UINT final;
    (void)state;
    make_pool(16, 1);
    fake_init(&f, 1);
    fake_step_add(&f, "", "+OK hi\r\n");
    fake_step_add(&f, "USER u\r\n", "+OK\r\n");
    fake_step_add(&f, "PASS p\r\n", "+OK\r\n");
    fake_step_add(&f, "STAT\r\n", "+OK 1 0\r\n");
    fake_step_add(&f, "RETR 1\r\n", "+OK 0 octets\r\n.\r\n");
    assert_int_equal(create_on(&c, &f, NX_FALSE, "u", "p"), NX_SUCCESS);
    assert_int_equal(nx_pop3_client_mail_items_get(&c, NULL, NULL), NX_SUCCESS);
    assert_int_equal(nx_pop3_client_mail_item_get(&c, 1, NULL), NX_SUCCESS);
    assert_int_equal(nx_pop3_client_mail_item_message_get(&c, &pkt, &got, &final), NX_SUCCESS);
    assert_int_equal(got, 0);
    assert_int_equal(final, NX_TRUE);
    nx_packet_release(pkt);
    nx_pop3_client_delete(&c);
    fake_free(&f);

    /* greeting -ERR; CR/LF in a credential; empty name */
    fake_init(&f, 0);
    fake_step_add(&f, "", "-ERR go away\r\n");
    assert_int_equal(create_on(&c, &f, NX_FALSE, "u", "p"), NX_POP3_SERVER_ERROR_STATUS);
    assert_int_equal(f.sent_len, 0);
    assert_int_equal(f.closed, 1);
    fake_free(&f);
    fake_init(&f, 0);
    fake_step_add(&f, "", "+OK hi\r\n");
    assert_int_equal(create_on(&c, &f, NX_FALSE, "u", "p\r\nDELE 1"), NX_POP3_PARAM_ERROR);
    assert_int_equal(f.sent_len, 0);
    assert_int_equal(create_on(&c, &f, NX_FALSE, "", "p"), NX_POP3_PARAM_ERROR);
    assert_int_equal(f.sent_len, 0);
    fake_free(&f);
    /* the server goes away mid-session */
    fake_init(&f, 0);
    fake_step_add(&f, "", "+OK hi\r\n");
    fake_step_add(&f, "USER u\r\n", "+OK\r\n");
    fake_step_add(&f, "PASS p\r\n", "+OK\r\n");
    assert_int_equal(create_on(&c, &f, NX_FALSE, "u", "p"), NX_SUCCESS);
    assert_int_equal(nx_pop3_client_mail_items_get(&c, NULL, NULL), NX_NOT_CONNECTED);
    assert_int_equal(nx_pop3_client_mail_items_get(&c, NULL, NULL), NX_POP3_CLIENT_INVALID_STATE);
    nx_pop3_client_delete(&c);
    fake_free(&f);
    drop_pool();
}


static void test_size_without_stat_uses_list(void **state)
{
    static fake_transport f;
    NX_POP3_CLIENT c;
    ULONG size = 0;
    size_t chunk;
    (void)state;
    for (chunk = 1; chunk <= 20; chunk++) {
        make_pool(64, 1);
        fake_init(&f, chunk);
        fake_step_add(&f, "", "+OK hi\r\n");
        fake_step_add(&f, "USER u\r\n", "+OK\r\n");
        fake_step_add(&f, "PASS p\r\n", "+OK\r\n");
        fake_step_add(&f, "LIST\r\n", "+OK 2 messages\r\n1 120\r\n3 77\r\n.\r\n");
        fake_step_add(&f, "LIST 1\r\n", "+OK 1 120\r\n");
        fake_step_add(&f, "LIST 2\r\n", "-ERR no such message\r\n");
        assert_int_equal(create_on(&c, &f, NX_FALSE, "u", "p"), NX_SUCCESS);
        /* the count is not known: one LIST learns it, and the size of item 3 */
        assert_int_equal(nx_pop3_client_mail_item_size_get(&c, 3, &size), NX_SUCCESS);
        assert_int_equal(size, 77);
        assert_int_equal(c.nx_pop3_client_maildrop_items, 3);
        assert_int_equal(nx_pop3_client_mail_item_size_get(&c, 4, &size), NX_POP3_INVALID_MAIL_ITEM);
        assert_int_equal(nx_pop3_client_mail_item_size_get(&c, 1, &size), NX_SUCCESS);
        assert_int_equal(size, 120);
        /* item 2 is not in the listing (deleted by another session): -ERR */
        assert_int_equal(nx_pop3_client_mail_item_size_get(&c, 2, &size), NX_POP3_SERVER_ERROR_STATUS);
        fake_assert_sent(&f, "USER u\r\nPASS p\r\nLIST\r\nLIST 1\r\nLIST 2\r\n");
        nx_pop3_client_delete(&c);
        fake_free(&f);
        drop_pool();
    }
}

/* ---- TLS (nx_postie_tls.h) ------------------------------------------------ */

static NX_POSTIE_TLS_CONFIG tls_cfg(UINT mode, const char *name)
{
    NX_POSTIE_TLS_CONFIG cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.nx_postie_tls_mode = mode;
    cfg.nx_postie_tls_server_name = (CHAR *)name;
    return cfg;
}

static UINT tls_create_on(NX_POP3_CLIENT *c, fake_transport *f, UINT apop, const char *user,
                          const char *pass, const NX_POSTIE_TLS_CONFIG *cfg)
{
    postie_transport tr;
    fake_bind(f, &tr);
    return nx_postie_pop3_client_tls_create_on(c, apop, &ip, &pool, &tr, (CHAR *)user,
                                               (CHAR *)pass, cfg);
}

/* Without the TLS calls nothing changes, even over a transport that could
 * upgrade and a server that offers STLS: no CAPA, no STLS, USER/PASS. */
static void test_tls_off_by_default(void **state)
{
    static fake_transport f;
    NX_POP3_CLIENT c;
    (void)state;
    make_pool(64, 2);
    fake_init(&f, 0);
    f.tls_supported = 1;
    fake_step_add(&f, "", "+OK ready\r\n");
    fake_step_add(&f, "USER u\r\n", "+OK\r\n");
    fake_step_add(&f, "PASS p\r\n", "+OK\r\n");
    fake_step_add(&f, "QUIT\r\n", "+OK bye\r\n");
    assert_int_equal(create_on(&c, &f, NX_FALSE, "u", "p"), NX_SUCCESS);
    assert_int_equal(nx_pop3_client_quit(&c), NX_SUCCESS);
    assert_int_equal(nx_pop3_client_delete(&c), NX_SUCCESS);
    fake_assert_sent(&f, "USER u\r\nPASS p\r\nQUIT\r\n");
    assert_int_equal(f.tls_calls, 0);
    fake_free(&f);
    drop_pool();
}

#ifdef POSTIE_HAVE_OPENSSL

static void stls_steps(fake_transport *f)
{
    fake_step_add(f, "", "+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>\r\n");
    fake_step_add(f, "CAPA\r\n", "+OK\r\nUSER\r\nSTLS\r\n.\r\n");
    fake_step_add(f, "STLS\r\n", "+OK begin TLS\r\n");
    fake_step_add(f, "CAPA\r\n", "+OK\r\nUSER\r\nUIDL\r\n.\r\n");
}

/* STLS, required: CAPA, STLS, start_tls with the configured name, CAPA
 * again, then USER/PASS (only now: over TLS), at every chunk size. */
static void test_tls_stls_every_chunk(void **state)
{
    static fake_transport f;
    static char retr[256];
    size_t chunk;
    (void)state;
    snprintf(retr, sizeof retr, "+OK 120 octets\r\n%s", MSG1_WIRE);
    for (chunk = 1; chunk <= 64; chunk++) {
        NX_POP3_CLIENT c;
        NX_POSTIE_TLS_CONFIG cfg = tls_cfg(NX_POSTIE_TLS_STARTTLS, "pop.example.org");
        UINT items = 0;
        ULONG total = 0, size = 0;
        char buf[512];
        size_t n;
        make_pool(32, 4);
        fake_init(&f, chunk);
        f.tls_supported = 1;
        stls_steps(&f);
        fake_step_add(&f, "USER mrose\r\n", "+OK\r\n");
        fake_step_add(&f, "PASS mvan99\r\n", "+OK logged in\r\n");
        fake_step_add(&f, "STAT\r\n", "+OK 1 120\r\n");
        fake_step_add(&f, "RETR 1\r\n", retr);
        fake_step_add(&f, "QUIT\r\n", "+OK bye\r\n");
        assert_int_equal(tls_create_on(&c, &f, NX_FALSE, "mrose", "mvan99", &cfg), NX_SUCCESS);
        assert_int_equal(f.tls_calls, 1);
        assert_string_equal(f.tls_name, "pop.example.org");
        assert_int_equal(f.tls_sent_len, strlen("CAPA\r\nSTLS\r\n")); /* nothing else in clear */
        assert_int_equal(nx_pop3_client_mail_items_get(&c, &items, &total), NX_SUCCESS);
        assert_int_equal(items, 1);
        assert_int_equal(nx_pop3_client_mail_item_get(&c, 1, &size), NX_SUCCESS);
        n = fetch(&c, buf, sizeof buf, 32);
        assert_int_equal(n, strlen(MSG1));
        assert_memory_equal(buf, MSG1, n);
        assert_int_equal(nx_pop3_client_quit(&c), NX_SUCCESS);
        assert_int_equal(nx_pop3_client_delete(&c), NX_SUCCESS);
        fake_assert_sent(&f, "CAPA\r\nSTLS\r\nCAPA\r\nUSER mrose\r\nPASS mvan99\r\nSTAT\r\nRETR 1\r\n"
                             "QUIT\r\n");
        assert_int_equal(f.closed, 1);
        fake_free(&f);
        drop_pool();
    }
}

/* APOP over STLS: the greeting's timestamp is used after the upgrade. */
static void test_tls_stls_apop(void **state)
{
    static fake_transport f;
    NX_POP3_CLIENT c;
    NX_POSTIE_TLS_CONFIG cfg = tls_cfg(NX_POSTIE_TLS_STARTTLS, "pop.example.org");
    (void)state;
    make_pool(64, 2);
    fake_init(&f, 0);
    f.tls_supported = 1;
    stls_steps(&f);
    fake_step_add(&f, "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n", "+OK\r\n");
    assert_int_equal(tls_create_on(&c, &f, NX_TRUE, "mrose", "tanstaaf", &cfg), NX_SUCCESS);
    fake_assert_sent(&f, "CAPA\r\nSTLS\r\nCAPA\r\nAPOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n");
    assert_int_equal(f.tls_calls, 1);
    nx_pop3_client_delete(&c);
    fake_free(&f);
    drop_pool();
}

/* Required STLS and a server (or transport) that cannot: refused after QUIT,
 * before USER/PASS; nothing is left open. */
static void test_tls_required_refusals(void **state)
{
    static fake_transport f;
    NX_POP3_CLIENT c;
    NX_POSTIE_TLS_CONFIG cfg = tls_cfg(NX_POSTIE_TLS_STARTTLS, "pop.example.org");
    (void)state;
    make_pool(64, 2);

    /* STLS not offered */
    fake_init(&f, 0);
    f.tls_supported = 1;
    fake_step_add(&f, "", "+OK ready <1.2@x>\r\n");
    fake_step_add(&f, "CAPA\r\n", "+OK\r\nUSER\r\n.\r\n");
    fake_step_add(&f, "QUIT\r\n", "+OK bye\r\n");
    assert_int_equal(tls_create_on(&c, &f, NX_TRUE, "u", "p", &cfg), NX_POSTIE_TLS_NOT_OFFERED);
    fake_assert_sent(&f, "CAPA\r\nQUIT\r\n");
    assert_int_equal(f.tls_calls, 0);
    assert_int_equal(f.closed, 1);
    assert_int_equal(nx_pop3_client_noop(&c), NX_PTR_ERROR); /* not created */
    fake_free(&f);

    /* no CAPA at all (an RFC 1939-only server) */
    fake_init(&f, 0);
    f.tls_supported = 1;
    fake_step_add(&f, "", "+OK ready\r\n");
    fake_step_add(&f, "CAPA\r\n", "-ERR unknown command\r\n");
    fake_step_add(&f, "QUIT\r\n", "+OK bye\r\n");
    assert_int_equal(tls_create_on(&c, &f, NX_FALSE, "u", "p", &cfg), NX_POSTIE_TLS_NOT_OFFERED);
    fake_assert_sent(&f, "CAPA\r\nQUIT\r\n");
    assert_int_equal(f.closed, 1);
    fake_free(&f);

    /* offered, then refused with -ERR */
    fake_init(&f, 0);
    f.tls_supported = 1;
    fake_step_add(&f, "", "+OK ready\r\n");
    fake_step_add(&f, "CAPA\r\n", "+OK\r\nSTLS\r\n.\r\n");
    fake_step_add(&f, "STLS\r\n", "-ERR not now\r\n");
    fake_step_add(&f, "QUIT\r\n", "+OK bye\r\n");
    assert_int_equal(tls_create_on(&c, &f, NX_FALSE, "u", "p", &cfg), NX_POSTIE_TLS_NOT_OFFERED);
    fake_assert_sent(&f, "CAPA\r\nSTLS\r\nQUIT\r\n");
    assert_int_equal(f.tls_calls, 0);
    assert_int_equal(f.closed, 1);
    fake_free(&f);

    /* offered, but the transport cannot upgrade */
    fake_init(&f, 0);
    fake_step_add(&f, "", "+OK ready\r\n");
    fake_step_add(&f, "CAPA\r\n", "+OK\r\nSTLS\r\n.\r\n");
    fake_step_add(&f, "QUIT\r\n", "+OK bye\r\n");
    assert_int_equal(tls_create_on(&c, &f, NX_FALSE, "u", "p", &cfg), NX_POSTIE_TLS_NOT_OFFERED);
    fake_assert_sent(&f, "CAPA\r\nQUIT\r\n");
    assert_int_equal(f.closed, 1);
    fake_free(&f);
    drop_pool();
}

/* The handshake fails: the status says why, nothing follows STLS. */
static void test_tls_handshake_failures(void **state)
{
    static fake_transport f;
    NX_POP3_CLIENT c;
    NX_POSTIE_TLS_CONFIG cfg = tls_cfg(NX_POSTIE_TLS_STARTTLS, "pop.example.org");
    static const long results[2] = {POSTIE_ERR_TLS_VERIFY, POSTIE_ERR_TLS};
    static const UINT want[2] = {NX_POSTIE_TLS_VERIFY_FAILED, NX_POSTIE_TLS_FAILED};
    int i;
    (void)state;
    make_pool(64, 2);
    for (i = 0; i < 2; i++) {
        fake_init(&f, 0);
        f.tls_supported = 1;
        f.tls_result = results[i];
        stls_steps(&f);
        assert_int_equal(tls_create_on(&c, &f, NX_FALSE, "u", "p", &cfg), want[i]);
        fake_assert_sent(&f, "CAPA\r\nSTLS\r\n");
        assert_int_equal(f.tls_calls, 1);
        assert_int_equal(f.closed, 1);
        fake_free(&f);
    }
    drop_pool();
}

/* Opportunistic: upgrades when offered; without STLS the session stays plain
 * and only APOP may log in (USER/PASS would show the password). */
static void test_tls_opportunistic(void **state)
{
    static fake_transport f;
    NX_POP3_CLIENT c;
    NX_POSTIE_TLS_CONFIG cfg = tls_cfg(NX_POSTIE_TLS_STARTTLS_OPPORTUNISTIC, "pop.example.org");
    (void)state;
    make_pool(64, 2);

    fake_init(&f, 0);
    f.tls_supported = 1;
    stls_steps(&f);
    fake_step_add(&f, "USER u\r\n", "+OK\r\n");
    fake_step_add(&f, "PASS p\r\n", "+OK\r\n");
    assert_int_equal(tls_create_on(&c, &f, NX_FALSE, "u", "p", &cfg), NX_SUCCESS);
    fake_assert_sent(&f, "CAPA\r\nSTLS\r\nCAPA\r\nUSER u\r\nPASS p\r\n");
    assert_int_equal(f.tls_calls, 1);
    nx_pop3_client_delete(&c);
    fake_free(&f);

    /* no STLS, USER/PASS: refused before USER */
    fake_init(&f, 0);
    f.tls_supported = 1;
    fake_step_add(&f, "", "+OK ready\r\n");
    fake_step_add(&f, "CAPA\r\n", "+OK\r\nUSER\r\n.\r\n");
    fake_step_add(&f, "QUIT\r\n", "+OK bye\r\n");
    assert_int_equal(tls_create_on(&c, &f, NX_FALSE, "u", "p", &cfg), NX_POSTIE_TLS_NOT_OFFERED);
    fake_assert_sent(&f, "CAPA\r\nQUIT\r\n");
    assert_int_equal(f.closed, 1);
    fake_free(&f);

    /* no STLS, APOP: the digest does not show the password, so it goes on */
    fake_init(&f, 0);
    f.tls_supported = 1;
    fake_step_add(&f, "", "+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>\r\n");
    fake_step_add(&f, "CAPA\r\n", "+OK\r\nUSER\r\n.\r\n");
    fake_step_add(&f, "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n", "+OK\r\n");
    assert_int_equal(tls_create_on(&c, &f, NX_TRUE, "mrose", "tanstaaf", &cfg), NX_SUCCESS);
    fake_assert_sent(&f, "CAPA\r\nAPOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n");
    assert_int_equal(f.tls_calls, 0);
    nx_pop3_client_delete(&c);
    fake_free(&f);
    drop_pool();
}

/* Implicit TLS (POP3S): the transport is TLS already; the session is the
 * original's (no CAPA, no STLS) and USER/PASS may go. */
static void test_tls_implicit(void **state)
{
    static fake_transport f;
    NX_POP3_CLIENT c;
    NX_POSTIE_TLS_CONFIG cfg = tls_cfg(NX_POSTIE_TLS_IMPLICIT, "pop.example.org");
    (void)state;
    make_pool(64, 2);
    fake_init(&f, 0);
    f.tls_supported = 1;
    fake_step_add(&f, "", "+OK ready\r\n");
    fake_step_add(&f, "USER u\r\n", "+OK\r\n");
    fake_step_add(&f, "PASS p\r\n", "+OK\r\n");
    fake_step_add(&f, "QUIT\r\n", "+OK bye\r\n");
    assert_int_equal(tls_create_on(&c, &f, NX_FALSE, "u", "p", &cfg), NX_SUCCESS);
    assert_int_equal(nx_pop3_client_quit(&c), NX_SUCCESS);
    fake_assert_sent(&f, "USER u\r\nPASS p\r\nQUIT\r\n");
    assert_int_equal(f.tls_calls, 0);
    nx_pop3_client_delete(&c);
    fake_free(&f);
    drop_pool();
}

/* Configurations that cannot be used: refused before anything is sent. */
static void test_tls_config_checks(void **state)
{
    static fake_transport f;
    NX_POP3_CLIENT c;
    NX_POSTIE_TLS_CONFIG cfg;
    (void)state;
    make_pool(64, 2);
    fake_init(&f, 0);
    f.tls_supported = 1;
    fake_step_add(&f, "", "+OK ready\r\n");

    assert_int_equal(tls_create_on(&c, &f, NX_FALSE, "u", "p", NULL), NX_PTR_ERROR);
    cfg = tls_cfg(0, "pop.example.org"); /* a zeroed mode is not a mode */
    assert_int_equal(tls_create_on(&c, &f, NX_FALSE, "u", "p", &cfg), NX_POP3_PARAM_ERROR);
    cfg = tls_cfg(4, "pop.example.org");
    assert_int_equal(tls_create_on(&c, &f, NX_FALSE, "u", "p", &cfg), NX_POP3_PARAM_ERROR);
    cfg = tls_cfg(NX_POSTIE_TLS_STARTTLS, "pop example");
    assert_int_equal(tls_create_on(&c, &f, NX_FALSE, "u", "p", &cfg), NX_POP3_PARAM_ERROR);
    cfg = tls_cfg(NX_POSTIE_TLS_STARTTLS, NULL); /* over a transport: no address to check */
    assert_int_equal(tls_create_on(&c, &f, NX_FALSE, "u", "p", &cfg), NX_POP3_PARAM_ERROR);
    cfg = tls_cfg(NX_POSTIE_TLS_STARTTLS, "pop.example.org");
    cfg.nx_postie_tls_pin_type = NX_POSTIE_TLS_PIN_SPKI;
    cfg.nx_postie_tls_pin_sha256 = "00112233";
    assert_int_equal(tls_create_on(&c, &f, NX_FALSE, "u", "p", &cfg), NX_POP3_PARAM_ERROR);
    cfg.nx_postie_tls_pin_type = 7;
    assert_int_equal(tls_create_on(&c, &f, NX_FALSE, "u", "p", &cfg), NX_POP3_PARAM_ERROR);
    cfg = tls_cfg(NX_POSTIE_TLS_STARTTLS, "pop.example.org");
    assert_int_equal(tls_create_on(&c, &f, NX_FALSE, "u\r\nDELE 1", "p", &cfg), NX_POP3_PARAM_ERROR);
    assert_int_equal(f.sent_len, 0);
    assert_int_equal(f.tls_calls, 0);
    assert_int_equal(f.closed, 8); /* the transport is closed on every refusal */
    fake_free(&f);

    /* the TCP create: checked before connecting (port 9 would refuse anyway) */
    cfg = tls_cfg(0, "localhost");
    assert_int_equal(nx_postie_pop3_client_tls_create(&c, NX_FALSE, &ip, &pool, IP_ADDRESS(127, 0, 0, 1),
                                                      9, "u", "p", &cfg),
                     NX_POP3_PARAM_ERROR);
    assert_int_equal(nx_postie_pop3_client_tls_create(&c, NX_FALSE, &ip, &pool, IP_ADDRESS(127, 0, 0, 1),
                                                      9, "u", "p", NULL),
                     NX_PTR_ERROR);
    drop_pool();
}

#else /* built without OpenSSL */

/* Every TLS call says NX_POSTIE_TLS_NOT_AVAILABLE and sends nothing. */
static void test_tls_not_available(void **state)
{
    static fake_transport f;
    NX_POP3_CLIENT c;
    NX_POSTIE_TLS_CONFIG cfg = tls_cfg(NX_POSTIE_TLS_STARTTLS, "pop.example.org");
    (void)state;
    assert_int_equal(NX_POSTIE_TLS_NOT_AVAILABLE, NX_NOT_SUPPORTED);
    make_pool(64, 2);
    fake_init(&f, 0);
    f.tls_supported = 1;
    fake_step_add(&f, "", "+OK ready\r\n");
    assert_int_equal(tls_create_on(&c, &f, NX_FALSE, "u", "p", &cfg), NX_POSTIE_TLS_NOT_AVAILABLE);
    assert_int_equal(f.sent_len, 0);
    assert_int_equal(f.recv_calls, 0);
    assert_int_equal(f.closed, 1);
    fake_free(&f);
    cfg.nx_postie_tls_mode = NX_POSTIE_TLS_IMPLICIT;
    assert_int_equal(nx_postie_pop3_client_tls_create(&c, NX_FALSE, &ip, &pool, IP_ADDRESS(127, 0, 0, 1),
                                                      9, "u", "p", &cfg),
                     NX_POSTIE_TLS_NOT_AVAILABLE);
    drop_pool();
}

#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_user_pass_every_chunk),
        cmocka_unit_test(test_sample_apop_list_every_chunk),
        cmocka_unit_test(test_apop_refused_falls_back_to_user_pass),
        cmocka_unit_test(test_defect_err_to_pass_is_failure),
        cmocka_unit_test(test_defect_terminator_split_anywhere),
        cmocka_unit_test(test_defect_dot_segment_mid_line),
        cmocka_unit_test(test_index_checks_keep_session),
        cmocka_unit_test(test_wrong_state_during_download),
        cmocka_unit_test(test_quit_mid_message_drains),
        cmocka_unit_test(test_empty_message_and_refusals),
        cmocka_unit_test(test_size_without_stat_uses_list),
        cmocka_unit_test(test_tls_off_by_default),
#ifdef POSTIE_HAVE_OPENSSL
        cmocka_unit_test(test_tls_stls_every_chunk),
        cmocka_unit_test(test_tls_stls_apop),
        cmocka_unit_test(test_tls_required_refusals),
        cmocka_unit_test(test_tls_handshake_failures),
        cmocka_unit_test(test_tls_opportunistic),
        cmocka_unit_test(test_tls_implicit),
        cmocka_unit_test(test_tls_config_checks),
#else
        cmocka_unit_test(test_tls_not_available),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
