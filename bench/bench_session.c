/*
 * bench/bench_session.c - end-to-end figures of the blocking clients against
 * real servers on loopback (bench/run-session.sh starts them).
 *
 *   bench_session pop3 HOST PORT USER PASS [--runs N] [--buf BYTES]
 *       Each run: connect, USER/PASS login, STAT, RETR every message and read
 *       it with postie_pop3_read() into a BYTES buffer (default 4096), QUIT
 *       (nothing is deleted). Checks that every message gives exactly the
 *       octets its "+OK n octets" announced.
 *   bench_session smtp HOST PORT FROM RCPT COUNT [--runs N] [--size BYTES]
 *       Each run: connect, EHLO, COUNT messages of about BYTES octets
 *       (default 1024) with postie_smtp_send_buf() on that one connection,
 *       QUIT. Every message must get 250.
 *   bench_session smtp-batch HOST PORT FROM RCPT COUNT [--runs N] [--size BYTES]
 *       The same COUNT messages in one postie_smtp_send_batch() call (BDAT
 *       with messages in flight when the server offers CHUNKING, PIPELINING
 *       across messages otherwise). Also prints batch_s: the time of the
 *       send_batch() call alone (without connect, greeting, EHLO and QUIT),
 *       and which extensions the server offered (chunking=0/1,
 *       pipelining=0/1), so run-latency.sh can report round trips a message.
 *
 * Prints one line per run, then the median, and the peak RSS of the process
 * (getrusage ru_maxrss) in KiB: the clients hold every byte they use in
 * their context structs, so it does not grow with the message size.
 * Wall-clock time includes the servers' work (on the same machine).
 * Only ever connects where it is told; run-session.sh gives it 127.0.0.1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "postie/pop3.h"
#include "postie/posix_tcp.h"
#include "postie/smtp.h"

#define MAX_RUNS 50

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
    return ru.ru_maxrss; /* KiB on Linux */
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int fail(const char *what, postie_status st)
{
    fprintf(stderr, "bench_session: %s: %s\n", what, postie_strerror(st));
    return 1;
}

/* Contexts are static: they are large with the default configuration, and a
 * firmware build would place them the same way. */
static postie_pop3 pop3;
static postie_smtp smtp;
static char rbuf[1 << 16];

static int bench_pop3(const char *host, const char *port, const char *user, const char *pass,
                      int runs, size_t bufsize)
{
    double secs[MAX_RUNS], rate_msg[MAX_RUNS], rate_mb[MAX_RUNS];
    unsigned long long bytes = 0;
    unsigned long count = 0;
    int r;
    for (r = 0; r < runs; r++) {
        postie_tcp tcp;
        postie_transport tr;
        postie_status st;
        unsigned long i, octets, total;
        double t0 = now_s(), t;
        bytes = 0;
        if ((st = postie_tcp_connect(&tcp, host, port, 10000)) != POSTIE_OK) return fail("connect", st);
        postie_tcp_transport(&tcp, &tr);
        if ((st = postie_pop3_init(&pop3, &tr)) != POSTIE_OK) return fail("init", st);
        postie_pop3_set_timeout(&pop3, 30000);
        /* loopback test servers in plain text: opt out of the TLS default */
        (void)postie_pop3_set_tls(&pop3, POSTIE_TLS_OFF, NULL);
        postie_pop3_allow_plaintext_credentials(&pop3, 1);
        if ((st = postie_pop3_open(&pop3)) != POSTIE_OK) return fail("open", st);
        if ((st = postie_pop3_login(&pop3, user, pass, POSTIE_POP3_LOGIN_USER)) != POSTIE_OK)
            return fail("login", st);
        if ((st = postie_pop3_stat(&pop3, &count, &octets)) != POSTIE_OK) return fail("stat", st);
        if (count == 0) return fail("stat: empty mailbox", POSTIE_ERR_PROTOCOL);
        for (i = 1; i <= count; i++) {
            size_t n;
            if ((st = postie_pop3_retr_begin(&pop3, i, &octets)) != POSTIE_OK) return fail("retr", st);
            total = 0;
            while ((st = postie_pop3_read(&pop3, rbuf, bufsize, &n)) == POSTIE_OK) total += n;
            if (st != POSTIE_DONE) return fail("read", st);
            if (octets != 0 && total != octets) {
                fprintf(stderr, "bench_session: message %lu: %lu octets read, %lu announced\n", i,
                        total, octets);
                return 1;
            }
            bytes += total;
        }
        if ((st = postie_pop3_quit(&pop3, NULL)) != POSTIE_OK) return fail("quit", st);
        t = now_s() - t0;
        secs[r] = t;
        rate_msg[r] = (double)count / t;
        rate_mb[r] = (double)bytes / 1e6 / t;
        printf("run %d: %lu messages, %llu bytes in %.3f s: %.1f messages/s, %.1f MB/s\n", r + 1,
               count, bytes, t, rate_msg[r], rate_mb[r]);
    }
    printf("pop3 messages=%lu bytes=%llu buf=%zu runs=%d median_s=%.3f messages_per_s=%.1f "
           "MB_per_s=%.1f peak_rss_kib=%ld\n",
           count, bytes, bufsize, runs, median(secs, runs), median(rate_msg, runs),
           median(rate_mb, runs), peak_rss_kib());
    return 0;
}

static int bench_smtp(const char *host, const char *port, const char *from, const char *rcpt,
                      unsigned long count, int runs, size_t size)
{
    double secs[MAX_RUNS], rate[MAX_RUNS];
    char *msg;
    size_t len = 0;
    int r;

    /* one message: a few headers and lines of text up to about size octets */
    msg = malloc(size + 512);
    if (!msg) return fail("malloc", POSTIE_ERR_PARAM);
    len += (size_t)sprintf(msg, "From: <%s>\r\nTo: <%s>\r\nSubject: postie bench\r\n"
                                "Date: Sun, 22 Nov 2026 02:00:00 +0000\r\n"
                                "Message-ID: <bench.1@postie.test>\r\n\r\n",
                           from, rcpt);
    while (len + 72 < size) {
        memcpy(msg + len, "The quick brown fox jumps over the lazy dog, again and again and again.\r\n",
               72);
        len += 72;
    }

    for (r = 0; r < runs; r++) {
        postie_tcp tcp;
        postie_transport tr;
        postie_status st;
        unsigned long i;
        double t0 = now_s(), t;
        if ((st = postie_tcp_connect(&tcp, host, port, 10000)) != POSTIE_OK) return fail("connect", st);
        postie_tcp_transport(&tcp, &tr);
        if ((st = postie_smtp_init(&smtp, &tr)) != POSTIE_OK) return fail("init", st);
        postie_smtp_set_timeout(&smtp, 30000);
        (void)postie_smtp_set_tls(&smtp, POSTIE_TLS_OFF, NULL);
        postie_smtp_allow_plaintext_credentials(&smtp, 1);
        if ((st = postie_smtp_set_domain(&smtp, "bench.postie.test")) != POSTIE_OK)
            return fail("set_domain", st);
        if ((st = postie_smtp_open(&smtp)) != POSTIE_OK) return fail("open", st);
        for (i = 0; i < count; i++) {
            postie_smtp_rcpt to;
            postie_smtp_envelope env;
            memset(&to, 0, sizeof to);
            memset(&env, 0, sizeof env);
            to.addr = rcpt;
            env.from = from;
            env.rcpts = &to;
            env.nrcpts = 1;
            if ((st = postie_smtp_send_buf(&smtp, &env, msg, len)) != POSTIE_OK) {
                fprintf(stderr, "bench_session: message %lu: %d %s\n", i + 1,
                        postie_smtp_reply_code(&smtp), postie_smtp_reply_text(&smtp));
                return fail("send", st);
            }
        }
        if ((st = postie_smtp_quit(&smtp)) != POSTIE_OK) return fail("quit", st);
        if (postie_smtp_messages_sent(&smtp) != count) return fail("messages_sent", POSTIE_ERR_PROTOCOL);
        t = now_s() - t0;
        secs[r] = t;
        rate[r] = (double)count / t;
        printf("run %d: %lu messages of %zu octets in %.3f s: %.1f messages/s\n", r + 1, count, len, t,
               rate[r]);
    }
    free(msg);
    printf("smtp messages=%lu size=%zu runs=%d median_s=%.3f messages_per_s=%.1f peak_rss_kib=%ld\n",
           count, len, runs, median(secs, runs), median(rate, runs), peak_rss_kib());
    return 0;
}

/* COUNT messages in one send_batch() on one connection */
static int bench_smtp_batch(const char *host, const char *port, const char *from, const char *rcpt,
                            unsigned long count, int runs, size_t size)
{
    double secs[MAX_RUNS], bsecs[MAX_RUNS];
    postie_smtp_msg *msgs;
    postie_smtp_envelope *envs;
    postie_smtp_rcpt *tos;
    char *msg;
    size_t len = 0;
    int r, chunking = 0, pipelining = 0;

    msg = malloc(size + 512);
    msgs = calloc(count, sizeof *msgs);
    envs = calloc(count, sizeof *envs);
    tos = calloc(count, sizeof *tos);
    if (!msg || !msgs || !envs || !tos) return fail("malloc", POSTIE_ERR_PARAM);
    len += (size_t)sprintf(msg, "From: <%s>\r\nTo: <%s>\r\nSubject: postie bench\r\n"
                                "Date: Sun, 22 Nov 2026 02:00:00 +0000\r\n"
                                "Message-ID: <bench.1@postie.test>\r\n\r\n",
                           from, rcpt);
    while (len + 72 < size) {
        memcpy(msg + len, "The quick brown fox jumps over the lazy dog, again and again and again.\r\n",
               72);
        len += 72;
    }

    for (r = 0; r < runs; r++) {
        postie_tcp tcp;
        postie_transport tr;
        postie_status st;
        unsigned long i;
        double t0 = now_s(), tb, t;
        if ((st = postie_tcp_connect(&tcp, host, port, 10000)) != POSTIE_OK) return fail("connect", st);
        postie_tcp_transport(&tcp, &tr);
        if ((st = postie_smtp_init(&smtp, &tr)) != POSTIE_OK) return fail("init", st);
        postie_smtp_set_timeout(&smtp, 30000);
        (void)postie_smtp_set_tls(&smtp, POSTIE_TLS_OFF, NULL);
        postie_smtp_allow_plaintext_credentials(&smtp, 1);
        if ((st = postie_smtp_set_domain(&smtp, "bench.postie.test")) != POSTIE_OK)
            return fail("set_domain", st);
        if ((st = postie_smtp_open(&smtp)) != POSTIE_OK) return fail("open", st);
        chunking = postie_smtp_has(&smtp, POSTIE_SMTP_EXT_CHUNKING);
        pipelining = postie_smtp_has(&smtp, POSTIE_SMTP_EXT_PIPELINING);
        for (i = 0; i < count; i++) {
            memset(&tos[i], 0, sizeof tos[i]);
            memset(&envs[i], 0, sizeof envs[i]);
            memset(&msgs[i], 0, sizeof msgs[i]);
            tos[i].addr = rcpt;
            envs[i].from = from;
            envs[i].rcpts = &tos[i];
            envs[i].nrcpts = 1;
            envs[i].on_refused = POSTIE_SMTP_REFUSED_CONTINUE;
            msgs[i].env = &envs[i];
            msgs[i].data = msg;
            msgs[i].len = len;
        }
        tb = now_s();
        if ((st = postie_smtp_send_batch(&smtp, msgs, count)) != POSTIE_OK) return fail("send_batch", st);
        tb = now_s() - tb;
        for (i = 0; i < count; i++)
            if (msgs[i].status != POSTIE_OK) {
                fprintf(stderr, "bench_session: message %lu: %d\n", i + 1, msgs[i].code);
                return fail("send_batch message", msgs[i].status);
            }
        if ((st = postie_smtp_quit(&smtp)) != POSTIE_OK) return fail("quit", st);
        t = now_s() - t0;
        secs[r] = t;
        bsecs[r] = tb;
        printf("run %d: %lu messages of %zu octets in %.3f s (send_batch %.3f s)\n", r + 1, count,
               len, t, tb);
    }
    free(msg);
    free(msgs);
    free(envs);
    free(tos);
    printf("smtp-batch messages=%lu size=%zu runs=%d chunking=%d pipelining=%d median_s=%.3f "
           "batch_s=%.3f peak_rss_kib=%ld\n",
           count, len, runs, chunking, pipelining, median(secs, runs), median(bsecs, runs),
           peak_rss_kib());
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_session pop3 HOST PORT USER PASS [--runs N] [--buf BYTES]\n"
                    "       bench_session smtp HOST PORT FROM RCPT COUNT [--runs N] [--size BYTES]\n"
                    "       bench_session smtp-batch HOST PORT FROM RCPT COUNT [--runs N] [--size BYTES]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int runs = 5, i, first_opt;
    size_t buf = 4096, size = 1024;
    if (argc < 2) usage();
    first_opt = strcmp(argv[1], "pop3") == 0 ? 6 : strcmp(argv[1], "smtp") == 0 ? 7
                : strcmp(argv[1], "smtp-batch") == 0 ? 7 : 0;
    if (first_opt == 0 || argc < first_opt) usage();
    for (i = first_opt; i < argc; i++) {
        if (i + 1 >= argc) usage();
        if (strcmp(argv[i], "--runs") == 0) runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--buf") == 0) buf = (size_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--size") == 0) size = (size_t)strtoul(argv[++i], NULL, 10);
        else usage();
    }
    if (runs < 1 || runs > MAX_RUNS || buf < 1 || buf > sizeof rbuf || size < 256 || size > 1 << 24)
        usage();
    if (argv[1][0] == 'p') return bench_pop3(argv[2], argv[3], argv[4], argv[5], runs, buf);
    if (strcmp(argv[1], "smtp-batch") == 0) {
        unsigned long n = strtoul(argv[6], NULL, 10);
        if (n < 1 || n > 100000) usage();
        return bench_smtp_batch(argv[2], argv[3], argv[4], argv[5], n, runs, size);
    }
    return bench_smtp(argv[2], argv[3], argv[4], argv[5], strtoul(argv[6], NULL, 10), runs, size);
}
