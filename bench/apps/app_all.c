/* bench/apps/app_all.c - everything: every call of pop3.h, smtp.h and
 * compose.h, every SASL mechanism, attachments, UTF-8 subjects, pipelining
 * (bench/size-link.sh). */
#include "app_common.h"
#include "postie/compose.h"
#include "postie/pop3.h"
#include "postie/sasl.h"
#include "postie/smtp.h"

static postie_pop3 pop;
static postie_smtp smtp;
static postie_compose comp;

static postie_status rnd(void *ctx, void *buf, size_t len)
{
    (void)ctx;
    app_sink(buf, len);
    return POSTIE_OK;
}

static int on_list(void *user, unsigned long msg, unsigned long octets)
{
    (void)user;
    return msg == octets;
}

static int on_uidl(void *user, unsigned long msg, const char *uid)
{
    (void)user;
    return uid[0] == (char)msg;
}

static int fetch(void)
{
    unsigned long count = 0, octets = 0, msg = 0;
    static char buf[256];
    char uid[POSTIE_POP3_UID_MAX];
    size_t n;
    int committed = 0, r = 0;
    postie_pop3_cmd_kind kind;

    r |= postie_pop3_init(&pop, &app_transport);
    postie_pop3_set_timeout(&pop, 1000);
    postie_pop3_set_random(&pop, rnd, NULL);
    r |= postie_pop3_set_tls(&pop, POSTIE_TLS_OPPORTUNISTIC, "pop.example.org");
    postie_pop3_allow_plaintext_credentials(&pop, 1);
    r |= postie_pop3_open_ex(&pop, 0);
    r |= postie_pop3_stls(&pop, "pop.example.org");
    r |= postie_pop3_capa(&pop);
    r |= postie_pop3_auth(&pop, POSTIE_SASL_ALL_MECHS, "user", "secret");
    r |= postie_pop3_login(&pop, "user", "secret", POSTIE_POP3_LOGIN_AUTO);
    r |= postie_pop3_stat(&pop, &count, &octets);
    r |= postie_pop3_list(&pop, 1, &octets);
    r |= postie_pop3_list_all(&pop, on_list, NULL);
    r |= postie_pop3_uidl(&pop, 1, uid, sizeof uid);
    r |= postie_pop3_uidl_all(&pop, on_uidl, NULL);
    r |= postie_pop3_top_begin(&pop, 1, 5);
    r |= postie_pop3_drain(&pop);
    postie_pop3_set_pipelining(&pop, 1);
    r |= postie_pop3_queue_retr(&pop, 1);
    r |= postie_pop3_queue_top(&pop, 2, 0);
    r |= postie_pop3_queue_dele(&pop, 1);
    r |= postie_pop3_queue_noop(&pop);
    r |= postie_pop3_flush(&pop);
    while (postie_pop3_next(&pop, &kind, &msg, &octets) == POSTIE_OK) {
        while (postie_pop3_read(&pop, buf, sizeof buf, &n) == POSTIE_OK) {
            app_sink(buf, n);
        }
    }
    r |= postie_pop3_rset(&pop);
    r |= postie_pop3_noop(&pop);
    r |= postie_pop3_quit(&pop, &committed);
    postie_pop3_close(&pop);
    return r;
}

static postie_status att_read(void *user, char *buf, size_t cap, size_t *n)
{
    (void)user;
    *n = cap > 0 ? 1 : 0;
    buf[0] = 'x';
    return POSTIE_DONE;
}

static int send(void)
{
    static const unsigned char random[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    static const char body[] = "gr\xc3\xbc\xc3\x9f" "e\r\n";
    postie_compose_address from = {"J\xc3\xb6rg", "a@example.org"}, to = {"B", "b@example.org"};
    postie_compose_header h = {"X-Tag", "v"};
    postie_compose_attachment att = {"r\xc3\xa9sum\xc3\xa9.txt", "text/plain", NULL, 0, att_read, NULL};
    postie_smtp_rcpt rcpt = {"b@example.org", NULL, 0, "", POSTIE_OK};
    postie_smtp_envelope env = {"a@example.org", NULL, &rcpt, 1, 0, POSTIE_SMTP_MSG_UTF8,
                                POSTIE_SMTP_REFUSED_CONTINUE, 0};
    postie_compose_message m;
    unsigned long long size = 0;
    int r = 0;

    postie_compose_message_init(&m);
    m.time = 1700000000;
    m.random = random;
    m.random_len = sizeof random;
    m.from = from;
    m.to = &to;
    m.to_count = 1;
    m.subject = "gr\xc3\xbc\xc3\x9f" "e";
    m.headers = &h;
    m.header_count = 1;
    m.body = body;
    m.body_len = sizeof body - 1;
    m.attachments = &att;
    m.attachment_count = 1;
    r |= postie_smtp_init(&smtp, &app_transport);
    postie_smtp_set_timeout(&smtp, 1000);
    postie_smtp_set_random(&smtp, rnd, NULL);
    r |= postie_smtp_set_domain(&smtp, "client.example.org");
    r |= postie_smtp_set_tls(&smtp, POSTIE_TLS_OPPORTUNISTIC, "smtp.example.org");
    r |= postie_smtp_open(&smtp);
    r |= postie_smtp_starttls(&smtp, "smtp.example.org");
    r |= postie_smtp_ehlo(&smtp);
    r |= postie_smtp_auth(&smtp, POSTIE_SASL_ALL_MECHS, "user", "secret");
    r |= postie_compose_size(&m, &comp, &size);
    env.size = size;
    r |= postie_compose_begin(&comp, &m);
    r |= postie_smtp_send(&smtp, &env, postie_compose_reader, &comp);
    r |= postie_smtp_mail(&smtp, &env);
    r |= postie_smtp_data_begin(&smtp);
    r |= postie_smtp_data_write(&smtp, body, sizeof body - 1);
    r |= postie_smtp_data_end(&smtp);
    r |= postie_smtp_rset(&smtp);
    r |= postie_smtp_noop(&smtp);
    r |= postie_smtp_quit(&smtp);
    postie_smtp_close(&smtp);
    app_sink(postie_strerror((postie_status)r), 1);
    return r;
}

int main(void)
{
    return fetch() | send();
}
