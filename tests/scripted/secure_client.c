/*
 * secure_client - drives the POP3 or SMTP client's TLS policy against the
 * scripted server (the tests/scripted/cases/pop3_tls_ and smtp_tls_... cases).
 *
 *   secure_client pop3|smtp HOST PORT required|opportunistic|off [USER PASS]
 *
 * Connects over TCP and wraps the socket in the OpenSSL transport (plain
 * text until STLS/STARTTLS; verification against the system store for the
 * name "localhost", never reached by the cases), or, in a build without
 * OpenSSL, uses the bare TCP transport (no start_tls). Runs open() and, when
 * it succeeds and USER is given, login (POP3 AUTO) / AUTH (SMTP, password
 * mechanisms), then QUIT. Prints one line per step: "open STATUS",
 * "login STATUS", "quit STATUS" (STATUS as postie_status_name() gives it).
 * Exit status: 0 when it ran (whatever the statuses), 2 usage, 3 connect.
 */
#include <stdio.h>
#include <string.h>

#include "postie/pop3.h"
#include "postie/posix_tcp.h"
#include "postie/smtp.h"
#ifdef POSTIE_HAVE_OPENSSL
#include "postie/posix_tls.h"
#endif

static postie_pop3 pop;
static postie_smtp smtp;

static int policy_of(const char *s, postie_tls_policy *p)
{
    if (strcmp(s, "required") == 0) {
        *p = POSTIE_TLS_REQUIRED;
    } else if (strcmp(s, "opportunistic") == 0) {
        *p = POSTIE_TLS_OPPORTUNISTIC;
    } else if (strcmp(s, "off") == 0) {
        *p = POSTIE_TLS_OFF;
    } else {
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    postie_tcp tcp;
    postie_transport tr;
    postie_tls_policy policy;
    postie_status st;
    const char *user = argc > 6 ? argv[5] : NULL, *pass = argc > 6 ? argv[6] : NULL;
    int is_pop3;
#ifdef POSTIE_HAVE_OPENSSL
    static postie_openssl tls;
    postie_openssl_options o;
#endif

    if ((argc != 5 && argc != 7) || !policy_of(argv[4], &policy) ||
        (strcmp(argv[1], "pop3") != 0 && strcmp(argv[1], "smtp") != 0)) {
        fprintf(stderr, "usage: %s pop3|smtp HOST PORT required|opportunistic|off [USER PASS]\n",
                argv[0]);
        return 2;
    }
    is_pop3 = strcmp(argv[1], "pop3") == 0;
    if (postie_tcp_connect(&tcp, argv[2], argv[3], 10000) != POSTIE_OK) {
        return 3;
    }
#ifdef POSTIE_HAVE_OPENSSL
    postie_openssl_options_init(&o);
    if (postie_openssl_init(&tls, tcp.fd, &o) != POSTIE_OK) {
        return 3;
    }
    tcp.fd = -1;
    postie_openssl_transport(&tls, &tr);
#else
    postie_tcp_transport(&tcp, &tr);
#endif
    if (is_pop3) {
        postie_pop3_init(&pop, &tr);
        postie_pop3_set_timeout(&pop, 10000);
        if (postie_pop3_set_tls(&pop, policy, policy == POSTIE_TLS_OFF ? NULL : "localhost") !=
            POSTIE_OK) {
            return 2;
        }
        st = postie_pop3_open(&pop);
        printf("open %s\n", postie_status_name(st));
        if (st == POSTIE_OK && user != NULL) {
            printf("login %s\n",
                   postie_status_name(postie_pop3_login(&pop, user, pass, POSTIE_POP3_LOGIN_AUTO)));
        }
        if (st == POSTIE_OK) {
            printf("quit %s\n", postie_status_name(postie_pop3_quit(&pop, NULL)));
        }
        postie_pop3_close(&pop);
    } else {
        postie_smtp_init(&smtp, &tr);
        postie_smtp_set_timeout(&smtp, 10000);
        (void)postie_smtp_set_domain(&smtp, "client.test");
        if (postie_smtp_set_tls(&smtp, policy, policy == POSTIE_TLS_OFF ? NULL : "localhost") !=
            POSTIE_OK) {
            return 2;
        }
        st = postie_smtp_open(&smtp);
        printf("open %s\n", postie_status_name(st));
        if (st == POSTIE_OK && user != NULL) {
            printf("login %s\n", postie_status_name(postie_smtp_auth(
                                     &smtp, POSTIE_SASL_PASSWORD_MECHS, user, pass)));
        }
        if (st == POSTIE_OK) {
            printf("quit %s\n", postie_status_name(postie_smtp_quit(&smtp)));
        }
        postie_smtp_close(&smtp);
    }
#ifdef POSTIE_HAVE_OPENSSL
    postie_openssl_close(&tls);
#else
    postie_tcp_close(&tcp);
#endif
    return 0;
}
