/* bench/apps/app_send.c - send only: EHLO, AUTH PLAIN, one plain-text mail
 * from a buffer, QUIT (bench/size-link.sh). */
#include "app_common.h"
#include "postie/sasl.h"
#include "postie/smtp.h"

static postie_smtp smtp;

int main(void)
{
    static const char msg[] = "From: <a@example.org>\r\nTo: <b@example.org>\r\n"
                              "Subject: status\r\n\r\nall well\r\n";
    postie_smtp_rcpt rcpt = {"b@example.org", NULL, 0, "", POSTIE_OK};
    postie_smtp_envelope env = {"a@example.org", NULL, &rcpt, 1, 0, 0,
                                POSTIE_SMTP_REFUSED_ABORT, 0};

    if (postie_smtp_init(&smtp, &app_transport) != POSTIE_OK || postie_smtp_open(&smtp) != POSTIE_OK ||
        postie_smtp_auth(&smtp, POSTIE_SASL_PLAIN, "user", "secret") != POSTIE_OK ||
        postie_smtp_send_buf(&smtp, &env, msg, sizeof msg - 1) != POSTIE_OK) {
        return 1;
    }
    return postie_smtp_quit(&smtp) == POSTIE_OK ? 0 : 1;
}
