/*
 * pop3_fetch - list the messages of a POP3 mailbox and print each one.
 *
 *     POP3_PASSWORD=secret pop3_fetch HOST PORT USER
 *
 * The password comes from the environment so that it never shows up in the
 * process list. Messages are left on the server.
 */
#include <stdio.h>
#include <stdlib.h>

#include "postie/pop3.h"
#include "postie/posix_tcp.h"

/* Says what went wrong (and, for a refusal, what the server said), then
 * drops the connection. Returns the exit status. */
static int fail(postie_pop3 *pop, const char *what, postie_status st)
{
    fprintf(stderr, "pop3_fetch: %s: %s\n", what, postie_strerror(st));
    if (st == POSTIE_ERR_SERVER || st == POSTIE_ERR_AUTH || st == POSTIE_ERR_TRANSIENT) {
        fprintf(stderr, "pop3_fetch: the server said: %s\n", postie_pop3_reply_text(pop));
    }
    postie_pop3_close(pop); /* safe in any state */
    return 1;
}

int main(int argc, char **argv)
{
    static postie_pop3 pop; /* every byte the client needs lives in here */
    postie_tcp tcp;
    postie_transport tr;
    postie_status st;
    unsigned long count, octets, msg, size;
    const char *password = getenv("POP3_PASSWORD");

    if (argc != 4 || password == NULL) {
        fprintf(stderr, "usage: POP3_PASSWORD=... %s HOST PORT USER\n", argv[0]);
        return 2;
    }

    st = postie_tcp_connect(&tcp, argv[1], argv[2], 10000);
    if (st != POSTIE_OK) {
        fprintf(stderr, "pop3_fetch: connect to %s port %s: %s\n", argv[1], argv[2],
                postie_strerror(st));
        return 1;
    }
    postie_tcp_transport(&tcp, &tr);
    if ((st = postie_pop3_init(&pop, &tr)) != POSTIE_OK ||
        (st = postie_pop3_open(&pop)) != POSTIE_OK) {
        return fail(&pop, "greeting", st);
    }
    /* AUTO: APOP when the server offers it, else USER/PASS. */
    if ((st = postie_pop3_login(&pop, argv[3], password, POSTIE_POP3_LOGIN_AUTO)) != POSTIE_OK) {
        return fail(&pop, "login", st);
    }
    if ((st = postie_pop3_stat(&pop, &count, &octets)) != POSTIE_OK) {
        return fail(&pop, "STAT", st);
    }
    printf("%s has %lu message(s), %lu octets:\n", argv[3], count, octets);

    /* LIST: one line per message. */
    if ((st = postie_pop3_list_begin(&pop)) != POSTIE_OK) {
        return fail(&pop, "LIST", st);
    }
    while ((st = postie_pop3_list_next(&pop, &msg, &size)) == POSTIE_OK) {
        printf("  #%lu  %lu octets\n", msg, size);
    }
    if (st != POSTIE_DONE) {
        return fail(&pop, "LIST", st);
    }

    /* RETR: the message arrives in pieces, already dot-unstuffed. */
    for (msg = 1; msg <= count; msg++) {
        char buf[512];
        size_t n;

        printf("\n----- message %lu -----\n", msg);
        if ((st = postie_pop3_retr_begin(&pop, msg, NULL)) != POSTIE_OK) {
            return fail(&pop, "RETR", st);
        }
        while ((st = postie_pop3_read(&pop, buf, sizeof buf, &n)) == POSTIE_OK) {
            fwrite(buf, 1, n, stdout);
        }
        if (st != POSTIE_DONE) {
            return fail(&pop, "RETR", st);
        }
    }

    /* QUIT also closes the connection. */
    if ((st = postie_pop3_quit(&pop, NULL)) != POSTIE_OK) {
        return fail(&pop, "QUIT", st);
    }
    return 0;
}
