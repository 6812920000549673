/* bench/apps/app_netx.c - the NetX Duo clients' feature set
 * (bench/size-link.sh, built with bench/postie_config_netx.h): POP3 with
 * APOP or USER/PASS, STAT, LIST, RETR, DELE, QUIT; SMTP with EHLO, AUTH
 * PLAIN/LOGIN/CRAM-MD5 and one composed mail with a subject, a body and a
 * priority. */
#include "app_common.h"
#include "postie/compose.h"
#include "postie/pop3.h"
#include "postie/sasl.h"
#include "postie/smtp.h"

static postie_pop3 pop;
static postie_smtp smtp;
static postie_compose comp;

static int fetch(void)
{
    unsigned long count = 0, octets = 0, i;
    static char buf[256];
    size_t n;
    int committed = 0;

    if (postie_pop3_init(&pop, &app_transport) != POSTIE_OK || postie_pop3_open(&pop) != POSTIE_OK ||
        postie_pop3_login(&pop, "user", "secret", POSTIE_POP3_LOGIN_AUTO) != POSTIE_OK ||
        postie_pop3_stat(&pop, &count, &octets) != POSTIE_OK) {
        return 1;
    }
    for (i = 1; i <= count; i++) {
        if (postie_pop3_list(&pop, i, &octets) != POSTIE_OK ||
            postie_pop3_retr_begin(&pop, i, &octets) != POSTIE_OK) {
            return 1;
        }
        while (postie_pop3_read(&pop, buf, sizeof buf, &n) == POSTIE_OK) {
            app_sink(buf, n);
        }
        if (postie_pop3_dele(&pop, i) != POSTIE_OK) {
            return 1;
        }
    }
    return postie_pop3_quit(&pop, &committed) == POSTIE_OK ? 0 : 1;
}

static int send(void)
{
    static const unsigned char rnd[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    static const char body[] = "all well\r\n";
    postie_compose_address from = {NULL, "a@example.org"}, to = {NULL, "b@example.org"};
    postie_smtp_rcpt rcpt = {"b@example.org", NULL, 0, "", POSTIE_OK};
    postie_smtp_envelope env = {"a@example.org", NULL, &rcpt, 1, 0, 0,
                                POSTIE_SMTP_REFUSED_ABORT, 0};
    postie_compose_message m;

    postie_compose_message_init(&m);
    m.time = 1700000000;
    m.random = rnd;
    m.random_len = sizeof rnd;
    m.from = from;
    m.to = &to;
    m.to_count = 1;
    m.subject = "status";
    m.priority = POSTIE_COMPOSE_PRIORITY_HIGH;
    m.body = body;
    m.body_len = sizeof body - 1;
    if (postie_smtp_init(&smtp, &app_transport) != POSTIE_OK || postie_smtp_open(&smtp) != POSTIE_OK ||
        postie_smtp_auth(&smtp, POSTIE_SASL_PLAIN | POSTIE_SASL_LOGIN | POSTIE_SASL_CRAM_MD5,
                         "user", "secret") != POSTIE_OK ||
        postie_compose_begin(&comp, &m) != POSTIE_OK ||
        postie_smtp_send(&smtp, &env, postie_compose_reader, &comp) != POSTIE_OK) {
        return 1;
    }
    return postie_smtp_quit(&smtp) == POSTIE_OK ? 0 : 1;
}

int main(void)
{
    int r = fetch() | send();
    /* a log line with the status's name (or message) */
    app_sink(postie_strerror((postie_status)r), 1);
    return r;
}
