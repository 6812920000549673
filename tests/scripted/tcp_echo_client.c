/*
 * tcp_echo_client - the scripted server's self-test client.
 *
 * Uses nothing of Postie but the POSIX TCP transport and
 * postie_transport_send_all, so the server and its runner can be proven
 * before any protocol client exists.
 *
 *   tcp_echo_client [-t MS] HOST PORT ACTION...
 *
 * Actions, run in order:
 *   send=TEXT  send TEXT followed by CRLF
 *   raw=TEXT   send TEXT as is (no CRLF added)
 *   line       receive one line (through LF) and print it
 *   lines=N    receive and print N lines
 *   eof        receive until the server closes, printing each line, then
 *              print "<closed>"
 *   sleep=MS   pause
 *   close      close the connection now
 * TEXT takes the escapes \r \n \t \\ and \xNN. Received bytes are printed
 * one line per LF with CR, LF, tab, backslash and non-printable bytes
 * escaped the same way, so "+OK\r\n" prints as the 7 characters +OK\r\n.
 * A line the server closed before finishing prints what came, then
 * "<closed>"; a transport error prints "<ERR_NAME>" (postie_status_name).
 *
 * Exit status: 0 every action done; 1 transport error or unexpected close;
 * 2 usage; 3 connect failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "postie/posix_tcp.h"

static postie_tcp tcp;
static postie_transport tr;
static unsigned timeout_ms = 5000;
static int connected;

static char inbuf[65536];
static size_t inlen;

static void usage(void)
{
    fputs("usage: tcp_echo_client [-t MS] HOST PORT ACTION...\n"
          "actions: send=TEXT raw=TEXT line lines=N eof sleep=MS close\n", stderr);
    exit(2);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Unescapes text into out (at least strlen(text) bytes); returns the length. */
static size_t unescape(const char *text, char *out)
{
    size_t n = 0;
    while (*text != '\0') {
        if (*text != '\\') {
            out[n++] = *text++;
            continue;
        }
        switch (text[1]) {
        case 'r': out[n++] = '\r'; text += 2; break;
        case 'n': out[n++] = '\n'; text += 2; break;
        case 't': out[n++] = '\t'; text += 2; break;
        case '\\': out[n++] = '\\'; text += 2; break;
        case 'x': {
            int hi = text[2] ? hexval(text[2]) : -1;
            int lo = (hi >= 0 && text[3]) ? hexval(text[3]) : -1;
            if (lo < 0) {
                fprintf(stderr, "tcp_echo_client: bad \\x escape\n");
                exit(2);
            }
            out[n++] = (char)(hi * 16 + lo);
            text += 4;
            break;
        }
        default:
            fprintf(stderr, "tcp_echo_client: unknown escape in argument\n");
            exit(2);
        }
    }
    return n;
}

static void print_escaped(const char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        switch (c) {
        case '\r': fputs("\\r", stdout); break;
        case '\n': fputs("\\n", stdout); break;
        case '\t': fputs("\\t", stdout); break;
        case '\\': fputs("\\\\", stdout); break;
        default:
            if (c >= 0x20 && c < 0x7f) {
                putchar(c);
            } else {
                printf("\\x%02x", c);
            }
        }
    }
}

static void fail_status(long st)
{
    printf("<%s>\n", postie_status_name((postie_status)st));
    fflush(stdout);
    postie_tcp_close(&tcp);
    exit(1);
}

static void do_send(const char *text, int crlf)
{
    size_t cap = strlen(text) + 3;
    char *buf = malloc(cap);
    size_t n;
    postie_status st;

    if (buf == NULL) {
        exit(1);
    }
    n = unescape(text, buf);
    if (crlf) {
        buf[n++] = '\r';
        buf[n++] = '\n';
    }
    st = postie_transport_send_all(&tr, buf, n, timeout_ms);
    free(buf);
    if (st != POSTIE_OK) {
        fail_status(st);
    }
}

/* Receives one line into the output. Returns 1 when a line was printed,
 * 0 when the server closed first (anything partial printed, then <closed>). */
static int do_line(void)
{
    for (;;) {
        char *lf = memchr(inbuf, '\n', inlen);
        long r;

        if (lf != NULL || inlen == sizeof inbuf) {
            size_t n = lf != NULL ? (size_t)(lf - inbuf) + 1 : inlen;
            print_escaped(inbuf, n);
            putchar('\n');
            memmove(inbuf, inbuf + n, inlen - n);
            inlen -= n;
            return 1;
        }
        r = tr.recv(tr.ctx, inbuf + inlen, sizeof inbuf - inlen, timeout_ms);
        if (r < 0) {
            if (inlen > 0) {
                print_escaped(inbuf, inlen);
                putchar('\n');
            }
            fail_status(r);
        }
        if (r == 0) {
            if (inlen > 0) {
                print_escaped(inbuf, inlen);
                putchar('\n');
                inlen = 0;
            }
            puts("<closed>");
            return 0;
        }
        inlen += (size_t)r;
    }
}

static void do_sleep(long ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    const char *host, *port;
    postie_status st;
    int i = 1;

    if (argc > 2 && strcmp(argv[1], "-t") == 0) {
        timeout_ms = (unsigned)strtoul(argv[2], NULL, 10);
        i = 3;
    }
    if (argc - i < 2) {
        usage();
    }
    host = argv[i];
    port = argv[i + 1];
    i += 2;

    st = postie_tcp_connect(&tcp, host, port, timeout_ms);
    if (st != POSTIE_OK) {
        printf("<connect %s errno %d>\n", postie_status_name(st), tcp.last_errno);
        return 3;
    }
    postie_tcp_transport(&tcp, &tr);
    connected = 1;

    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "send=", 5) == 0) {
            do_send(a + 5, 1);
        } else if (strncmp(a, "raw=", 4) == 0) {
            do_send(a + 4, 0);
        } else if (strcmp(a, "line") == 0) {
            if (!do_line()) {
                return 1;
            }
        } else if (strncmp(a, "lines=", 6) == 0) {
            long n = strtol(a + 6, NULL, 10);
            while (n-- > 0) {
                if (!do_line()) {
                    return 1;
                }
            }
        } else if (strcmp(a, "eof") == 0) {
            while (do_line()) {
            }
        } else if (strncmp(a, "sleep=", 6) == 0) {
            do_sleep(strtol(a + 6, NULL, 10));
        } else if (strcmp(a, "close") == 0) {
            tr.close(tr.ctx);
            connected = 0;
        } else {
            fprintf(stderr, "tcp_echo_client: unknown action %s\n", a);
            usage();
        }
        fflush(stdout);
    }
    if (connected) {
        tr.close(tr.ctx);
    }
    return 0;
}
