/*
 * pop3_script_client - drives the POP3 client (pop3.h) over the POSIX TCP
 * transport through a list of steps, printing one line per step, so a
 * scripted-server case can check the client's view (# stdout:) while its
 * transcript checks the bytes on the wire.
 *
 *   pop3_script_client HOST PORT STEP...
 *
 * Every step prints one line:  STEP STATUS [FIELD=VALUE...] state=S reply="..."
 * STEP is the argument as given, STATUS the postie_status_name() of what the
 * call returned, state the session state after it, reply
 * postie_pop3_reply_text(). String values are quoted with \r \n \t \\ \xNN
 * escapes (a double quote is \x22). The local steps readbuf, timeout and
 * sleep print "STEP OK" alone. Steps (vocabulary in README.md):
 *
 *   open                 postie_pop3_open: caps=NAMES ts="<...>"
 *   open-nocapa          postie_pop3_open_ex(POSTIE_POP3_OPEN_NO_CAPA)
 *   capa                 caps=NAMES sasl="..."
 *   login-user:U:P       postie_pop3_login, USER mode (U, P take escapes;
 *   login-apop:U:P         P is everything after the second colon)
 *   login-auto:U:P
 *   stat                 count=N octets=N
 *   list                 list_begin + list_next until not OK: entries=M:O,...
 *   list:N               octets=N
 *   uidl                 uidl_begin + uidl_next: entries=M:UID,...
 *   uidl:N               uid="..."
 *   retr:N  top:N:L      *_begin, then postie_pop3_read (readbuf bytes at a
 *                        time) until it returns something else than OK; the
 *                        status printed is begin's when it failed, else the
 *                        read's last (DONE at the end of the message):
 *                        octets=N len=N fnv1a=HEX data="..." (data
 *                        only when len <= 512)
 *   retr-begin:N         postie_pop3_retr_begin alone: octets=N
 *   read                 one postie_pop3_read: n=N data="..."
 *   drain                postie_pop3_drain
 *   dele:N  rset  noop   plain commands
 *   quit                 committed=0|1
 *   close                postie_pop3_close
 *   readbuf:N            buffer size of later reads (default 4096, 1..65536)
 *   timeout:MS           postie_pop3_set_timeout (default here 5000)
 *   sleep:MS             pause
 *
 * A read that breaks the API contract (OK with n == 0 or n > cap, DONE with
 * n != 0) is printed as BAD-READ in the line and makes the exit status 1.
 * Exit status: 0 every step run (whatever the statuses: stdout tells);
 * 1 contract broken; 2 usage; 3 connect failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "postie/pop3.h"
#include "postie/posix_tcp.h"
#include "script_util.h"

#define DATA_SHOW_MAX 512
#define MSG_MAX (1u << 20)

static postie_tcp tcp;
static postie_transport tr;
static postie_pop3 P;
static size_t readbuf = 4096;
static char rbuf[65536];
static char *msg;
static int contract_broken;

static void print_caps(unsigned caps)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {
        {POSTIE_POP3_CAP_CAPA, "CAPA"},
        {POSTIE_POP3_CAP_TOP, "TOP"},
        {POSTIE_POP3_CAP_UIDL, "UIDL"},
        {POSTIE_POP3_CAP_USER, "USER"},
        {POSTIE_POP3_CAP_SASL, "SASL"},
        {POSTIE_POP3_CAP_STLS, "STLS"},
        {POSTIE_POP3_CAP_PIPELINING, "PIPELINING"},
        {POSTIE_POP3_CAP_RESP_CODES, "RESP-CODES"},
        {POSTIE_POP3_CAP_AUTH_RESP_CODE, "AUTH-RESP-CODE"},
        {POSTIE_POP3_CAP_UTF8, "UTF8"},
        {POSTIE_POP3_CAP_EXPIRE, "EXPIRE"},
        {POSTIE_POP3_CAP_LOGIN_DELAY, "LOGIN-DELAY"},
        {POSTIE_POP3_CAP_APOP, "APOP"},
    };
    size_t i;
    int first = 1;
    fputs(" caps=", stdout);
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (caps & names[i].bit) {
            printf("%s%s", first ? "" : ",", names[i].name);
            first = 0;
            caps &= ~names[i].bit;
        }
    }
    if (caps != 0) {
        printf("%s0x%x", first ? "" : ",", caps);
    } else if (first) {
        fputs("-", stdout);
    }
}

static const char *state_name(postie_pop3_state s)
{
    switch (s) {
    case POSTIE_POP3_STATE_CLOSED: return "CLOSED";
    case POSTIE_POP3_STATE_AUTHORIZATION: return "AUTHORIZATION";
    case POSTIE_POP3_STATE_TRANSACTION: return "TRANSACTION";
    }
    return "?";
}

static void begin_line(const char *step, postie_status st)
{
    printf("%s %s", step, postie_status_name(st));
}

static void end_line(void)
{
    printf(" state=%s", state_name(postie_pop3_get_state(&P)));
    script_print_str("reply", postie_pop3_reply_text(&P));
    putchar('\n');
    fflush(stdout);
}

/* "U:P" -> user and password (escapes allowed). */
static void split_creds(const char *arg, const char *step, char **user, char **pass)
{
    const char *colon = strchr(arg, ':');
    char *u;
    if (colon == NULL) {
        script_usage_error("login wants USER:PASS in", step);
    }
    u = malloc((size_t)(colon - arg) + 1);
    if (u == NULL) {
        exit(2);
    }
    memcpy(u, arg, (size_t)(colon - arg));
    u[colon - arg] = '\0';
    *user = script_unescape(u, NULL);
    free(u);
    *pass = script_unescape(colon + 1, NULL);
}

/* Reads the message after a successful *_begin and prints its fields. */
static void read_message(const char *step, unsigned long octets)
{
    size_t len = 0, n = 0;
    postie_status st;
    int bad = 0;

    for (;;) {
        n = 12345;
        st = postie_pop3_read(&P, rbuf, readbuf, &n);
        if (st != POSTIE_OK) {
            if (st == POSTIE_DONE && n != 0) {
                bad = 1;
            }
            break;
        }
        if (n == 0 || n > readbuf || len + n > MSG_MAX) {
            bad = 1;
            break;
        }
        memcpy(msg + len, rbuf, n);
        len += n;
    }
    begin_line(step, st);
    printf(" octets=%lu len=%zu fnv1a=%08lx", octets, len,
           script_fnv1a(msg, len));
    if (len <= DATA_SHOW_MAX) {
        fputs(" data=", stdout);
        script_print_quoted(msg, len);
    }
    if (bad) {
        fputs(" BAD-READ", stdout);
        contract_broken = 1;
    }
    end_line();
}

static void run_step(const char *step)
{
    const char *a;
    postie_status st;

    if (strcmp(step, "open") == 0 || strcmp(step, "open-nocapa") == 0) {
        st = step[4] == '\0' ? postie_pop3_open(&P)
                             : postie_pop3_open_ex(&P, POSTIE_POP3_OPEN_NO_CAPA);
        begin_line(step, st);
        print_caps(postie_pop3_caps(&P));
        script_print_str("ts", postie_pop3_timestamp(&P));
        end_line();
    } else if (strcmp(step, "capa") == 0) {
        st = postie_pop3_capa(&P);
        begin_line(step, st);
        print_caps(postie_pop3_caps(&P));
        script_print_str("sasl", postie_pop3_sasl_mechs(&P));
        end_line();
    } else if ((a = script_arg(step, "login-user")) != NULL ||
               (a = script_arg(step, "login-apop")) != NULL ||
               (a = script_arg(step, "login-auto")) != NULL) {
        char *user, *pass;
        postie_pop3_login_mode mode = step[6] == 'u' ? POSTIE_POP3_LOGIN_USER
                                      : step[6] == 'a' && step[7] == 'p' ? POSTIE_POP3_LOGIN_APOP
                                                                         : POSTIE_POP3_LOGIN_AUTO;
        split_creds(a, step, &user, &pass);
        st = postie_pop3_login(&P, user, pass, mode);
        free(user);
        free(pass);
        begin_line(step, st);
        end_line();
    } else if (strcmp(step, "stat") == 0) {
        unsigned long count = 0, octets = 0;
        st = postie_pop3_stat(&P, &count, &octets);
        begin_line(step, st);
        if (st == POSTIE_OK) {
            printf(" count=%lu octets=%lu", count, octets);
        }
        end_line();
    } else if (strcmp(step, "list") == 0) {
        unsigned long m, o;
        int first = 1;
        st = postie_pop3_list_begin(&P);
        if (st == POSTIE_OK) {
            /* entries are collected into msg as text, printed after the status */
            size_t off = 0;
            while ((st = postie_pop3_list_next(&P, &m, &o)) == POSTIE_OK) {
                if (off < MSG_MAX) {
                    off += (size_t)snprintf(msg + off, MSG_MAX - off, "%s%lu:%lu", first ? "" : ",", m, o);
                }
                first = 0;
            }
            begin_line(step, st);
            printf(" entries=%s", first ? "-" : msg);
        } else {
            begin_line(step, st);
        }
        end_line();
    } else if ((a = script_arg(step, "list")) != NULL) {
        unsigned long o = 0;
        st = postie_pop3_list(&P, script_number(a, step), &o);
        begin_line(step, st);
        if (st == POSTIE_OK) {
            printf(" octets=%lu", o);
        }
        end_line();
    } else if (strcmp(step, "uidl") == 0) {
        unsigned long m;
        char uid[POSTIE_POP3_UID_MAX];
        int first = 1;
        st = postie_pop3_uidl_begin(&P);
        if (st == POSTIE_OK) {
            size_t off = 0;
            while ((st = postie_pop3_uidl_next(&P, &m, uid, sizeof uid)) == POSTIE_OK) {
                if (off < MSG_MAX) {
                    off += (size_t)snprintf(msg + off, MSG_MAX - off, "%s%lu:%s", first ? "" : ",", m, uid);
                }
                first = 0;
            }
            begin_line(step, st);
            printf(" entries=%s", first ? "-" : msg);
        } else {
            begin_line(step, st);
        }
        end_line();
    } else if ((a = script_arg(step, "uidl")) != NULL) {
        char uid[POSTIE_POP3_UID_MAX];
        uid[0] = '\0';
        st = postie_pop3_uidl(&P, script_number(a, step), uid, sizeof uid);
        begin_line(step, st);
        if (st == POSTIE_OK) {
            script_print_str("uid", uid);
        }
        end_line();
    } else if ((a = script_arg(step, "retr")) != NULL) {
        unsigned long octets = 0;
        st = postie_pop3_retr_begin(&P, script_number(a, step), &octets);
        if (st == POSTIE_OK) {
            read_message(step, octets);
        } else {
            begin_line(step, st);
            end_line();
        }
    } else if ((a = script_arg(step, "top")) != NULL) {
        const char *colon = strchr(a, ':');
        char num[32];
        if (colon == NULL || (size_t)(colon - a) >= sizeof num) {
            script_usage_error("top wants MSG:LINES in", step);
        }
        memcpy(num, a, (size_t)(colon - a));
        num[colon - a] = '\0';
        st = postie_pop3_top_begin(&P, script_number(num, step), script_number(colon + 1, step));
        if (st == POSTIE_OK) {
            read_message(step, 0);
        } else {
            begin_line(step, st);
            end_line();
        }
    } else if ((a = script_arg(step, "retr-begin")) != NULL) {
        unsigned long octets = 0;
        st = postie_pop3_retr_begin(&P, script_number(a, step), &octets);
        begin_line(step, st);
        if (st == POSTIE_OK) {
            printf(" octets=%lu", octets);
        }
        end_line();
    } else if (strcmp(step, "read") == 0) {
        size_t n = 12345;
        st = postie_pop3_read(&P, rbuf, readbuf, &n);
        begin_line(step, st);
        if (st == POSTIE_OK || st == POSTIE_DONE) {
            printf(" n=%zu", n);
            if ((st == POSTIE_OK && (n == 0 || n > readbuf)) || (st == POSTIE_DONE && n != 0)) {
                fputs(" BAD-READ", stdout);
                contract_broken = 1;
            } else {
                fputs(" data=", stdout);
                script_print_quoted(rbuf, n);
            }
        }
        end_line();
    } else if (strcmp(step, "drain") == 0) {
        st = postie_pop3_drain(&P);
        begin_line(step, st);
        end_line();
    } else if (strcmp(step, "queue-uidl") == 0 || strcmp(step, "queue-list") == 0) {
        st = step[6] == 'u' ? postie_pop3_queue_uidl(&P) : postie_pop3_queue_list(&P);
        begin_line(step, st);
        printf(" queued=%u", postie_pop3_queued(&P));
        end_line();
    } else if ((a = script_arg(step, "queue-retr")) != NULL ||
               (a = script_arg(step, "queue-dele")) != NULL) {
        st = step[6] == 'r' ? postie_pop3_queue_retr(&P, script_number(a, step))
                            : postie_pop3_queue_dele(&P, script_number(a, step));
        begin_line(step, st);
        printf(" queued=%u", postie_pop3_queued(&P));
        end_line();
    } else if (strcmp(step, "flush") == 0) {
        st = postie_pop3_flush(&P);
        begin_line(step, st);
        end_line();
    } else if (strcmp(step, "next") == 0) {
        /* the oldest queued reply; a listing's entries or a message's
         * bytes are read to their end (as the list, uidl and retr steps) */
        static const char *const kinds[] = {"NONE", "RETR", "TOP", "DELE", "NOOP", "LIST", "UIDL"};
        postie_pop3_cmd_kind kind = POSTIE_POP3_CMD_NONE;
        unsigned long m = 0, o = 0;
        char uid[POSTIE_POP3_UID_MAX];
        size_t off = 0;
        int first = 1;
        st = postie_pop3_next(&P, &kind, &m, &o);
        if (st == POSTIE_OK && (kind == POSTIE_POP3_CMD_RETR || kind == POSTIE_POP3_CMD_TOP)) {
            char label[64]; /* one line: "next(RETR 3) DONE octets=... len=..." */
            snprintf(label, sizeof label, "%s(%s %lu)", step, kinds[kind], m);
            read_message(label, o);
            return;
        }
        if (st == POSTIE_OK && (kind == POSTIE_POP3_CMD_LIST || kind == POSTIE_POP3_CMD_UIDL)) {
            unsigned long n;
            for (;;) {
                st = kind == POSTIE_POP3_CMD_LIST ? postie_pop3_list_next(&P, &n, &o)
                                                  : postie_pop3_uidl_next(&P, &n, uid, sizeof uid);
                if (st != POSTIE_OK) {
                    break;
                }
                if (off < MSG_MAX) {
                    if (kind == POSTIE_POP3_CMD_LIST) {
                        off += (size_t)snprintf(msg + off, MSG_MAX - off, "%s%lu:%lu",
                                                first ? "" : ",", n, o);
                    } else {
                        off += (size_t)snprintf(msg + off, MSG_MAX - off, "%s%lu:%s",
                                                first ? "" : ",", n, uid);
                    }
                }
                first = 0;
            }
        }
        begin_line(step, st);
        printf(" kind=%s msg=%lu", (unsigned)kind < sizeof kinds / sizeof kinds[0] ? kinds[kind] : "?", m);
        if (kind == POSTIE_POP3_CMD_LIST || kind == POSTIE_POP3_CMD_UIDL) {
            printf(" entries=%s", first ? "-" : msg);
        }
        end_line();
    } else if ((a = script_arg(step, "dele")) != NULL) {
        st = postie_pop3_dele(&P, script_number(a, step));
        begin_line(step, st);
        end_line();
    } else if (strcmp(step, "rset") == 0) {
        st = postie_pop3_rset(&P);
        begin_line(step, st);
        end_line();
    } else if (strcmp(step, "noop") == 0) {
        st = postie_pop3_noop(&P);
        begin_line(step, st);
        end_line();
    } else if (strcmp(step, "quit") == 0) {
        int committed = 7;
        st = postie_pop3_quit(&P, &committed);
        begin_line(step, st);
        printf(" committed=%d", committed);
        end_line();
    } else if (strcmp(step, "close") == 0) {
        postie_pop3_close(&P);
        begin_line(step, POSTIE_OK);
        end_line();
    } else if ((a = script_arg(step, "readbuf")) != NULL) {
        unsigned long v = script_number(a, step);
        if (v < 1 || v > sizeof rbuf) {
            script_usage_error("readbuf out of range", step);
        }
        readbuf = (size_t)v;
        printf("%s OK\n", step);
        fflush(stdout);
    } else if ((a = script_arg(step, "timeout")) != NULL) {
        postie_pop3_set_timeout(&P, (unsigned)script_number(a, step));
        printf("%s OK\n", step);
        fflush(stdout);
    } else if ((a = script_arg(step, "sleep")) != NULL) {
        script_sleep_ms(script_number(a, step));
        printf("%s OK\n", step);
        fflush(stdout);
    } else {
        script_usage_error("unknown step", step);
    }
}

int main(int argc, char **argv)
{
    postie_status st;
    int i;

    script_prog = "pop3_script_client";
    if (argc < 3) {
        fputs("usage: pop3_script_client HOST PORT STEP...\n", stderr);
        return 2;
    }
    msg = malloc(MSG_MAX + 1);
    if (msg == NULL) {
        return 2;
    }
    st = postie_tcp_connect(&tcp, argv[1], argv[2], 5000);
    if (st != POSTIE_OK) {
        printf("connect %s errno=%d\n", postie_status_name(st), tcp.last_errno);
        return 3;
    }
    postie_tcp_transport(&tcp, &tr);
    if (postie_pop3_init(&P, &tr) != POSTIE_OK) {
        fputs("pop3_script_client: init failed\n", stderr);
        return 2;
    }
    postie_pop3_set_timeout(&P, 5000);
    /* the transcripts are plain-text sessions: opt out of the TLS default */
    (void)postie_pop3_set_tls(&P, POSTIE_TLS_OFF, NULL);
    postie_pop3_allow_plaintext_credentials(&P, 1);
    for (i = 3; i < argc; i++) {
        run_step(argv[i]);
    }
    /* whatever the steps left open is dropped (no QUIT): a case that wants
     * QUIT says so */
    postie_pop3_close(&P);
    free(msg);
    return contract_broken ? 1 : 0;
}
