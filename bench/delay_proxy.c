/*
 * bench/delay_proxy.c - a TCP proxy on loopback that holds every chunk it
 * reads for a fixed delay before passing it on, in each direction
 * independently, so a loopback server looks DELAY_MS*2 of round trip away
 * (no netem needed). Used by bench/run-latency.sh.
 *
 *   delay_proxy LISTEN_PORT TARGET_PORT DELAY_MS LIFETIME_S
 *
 * Listens on 127.0.0.1:LISTEN_PORT; each accepted connection gets its own
 * connection to 127.0.0.1:TARGET_PORT. Bytes read from one side at time t
 * are written to the other side at t + DELAY_MS (order kept: the queue of a
 * direction is FIFO and its release times only grow). An end of stream is
 * delayed the same way and passed on as a half close (shutdown SHUT_WR).
 * Each direction holds at most QUEUE_MAX bytes: past that it stops reading
 * that side until the queue drains (the bound of its memory).
 *
 * Only ever binds and connects to 127.0.0.1. Exits by itself after
 * LIFETIME_S seconds (at most 3600), or on SIGTERM/SIGINT; connections
 * still open then are dropped. Prints "listening" on stdout once ready, and
 * at exit a line of counts on stderr.
 *
 * Single-threaded: one ppoll() loop with a nanosecond timeout, so the delay
 * is kept to within the scheduler's wake-up latency (tens of microseconds
 * when the machine is idle; run-latency.sh measures the real round trip).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PAIRS 64
#define READ_MAX 65536
#define QUEUE_MAX (4u << 20)

struct chunk {
    struct chunk *next;
    long long due_ns; /* monotonic time it may be written */
    size_t len, off;  /* len 0: end of stream */
    char data[];
};

struct dir {
    int from, to;             /* fds (shared with the other direction) */
    struct chunk *head, *tail;
    size_t queued;            /* bytes in the queue */
    int eof_read;             /* end of stream read from `from` */
    int done;                 /* end of stream passed on (or failed) */
};

struct pair {
    int used;
    int fd[2];                /* 0: client, 1: server */
    struct dir d[2];          /* 0: client -> server, 1: server -> client */
};

static struct pair pairs[MAX_PAIRS];
static int target_port;
static volatile sig_atomic_t stop;
static unsigned long long n_conns, n_bytes[2];

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int set_common(int fd)
{
    int one = 1;
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) return -1;
    /* no Nagle: a chunk goes out when it is due, as the endpoints sent it */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return 0;
}

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static void free_queue(struct dir *d)
{
    while (d->head) {
        struct chunk *c = d->head;
        d->head = c->next;
        free(c);
    }
    d->tail = NULL;
    d->queued = 0;
}

static void close_pair(struct pair *p)
{
    free_queue(&p->d[0]);
    free_queue(&p->d[1]);
    close(p->fd[0]);
    close(p->fd[1]);
    p->used = 0;
}

static int parse_int(const char *s, int lo, int hi, const char *what)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *s == '\0' || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "delay_proxy: %s must be a number from %d to %d\n", what, lo, hi);
        exit(2);
    }
    return (int)v;
}

static void accept_one(int lfd)
{
    struct sockaddr_in to;
    struct pair *p = NULL;
    int c, s, i;
    c = accept(lfd, NULL, NULL);
    if (c < 0) return;
    for (i = 0; i < MAX_PAIRS; i++)
        if (!pairs[i].used) { p = &pairs[i]; break; }
    if (!p) { close(c); return; }
    s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) { close(c); return; }
    to = loopback(target_port);
    /* a blocking connect on loopback: immediate (or refused) */
    if (connect(s, (struct sockaddr *)&to, sizeof to) != 0) {
        close(c);
        close(s);
        return;
    }
    if (set_common(c) != 0 || set_common(s) != 0) {
        close(c);
        close(s);
        return;
    }
    memset(p, 0, sizeof *p);
    p->used = 1;
    p->fd[0] = c;
    p->fd[1] = s;
    p->d[0].from = c;
    p->d[0].to = s;
    p->d[1].from = s;
    p->d[1].to = c;
    n_conns++;
}

/* Reads what is there from d->from into a new chunk due at now + delay. */
static int dir_read(struct dir *d, long long delay_ns, int idx)
{
    static char buf[READ_MAX];
    struct chunk *c;
    ssize_t n = read(d->from, buf, sizeof buf);
    if (n < 0) return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
    c = malloc(sizeof *c + (size_t)n);
    if (!c) return -1;
    c->next = NULL;
    c->due_ns = now_ns() + delay_ns;
    c->len = (size_t)n;
    c->off = 0;
    if (n > 0) memcpy(c->data, buf, (size_t)n);
    else d->eof_read = 1;
    if (d->tail) d->tail->next = c;
    else d->head = c;
    d->tail = c;
    d->queued += (size_t)n;
    n_bytes[idx] += (unsigned long long)n;
    return 0;
}

/* Writes the chunks that are due; returns -1 when the pair must close. */
static int dir_write(struct dir *d, long long now)
{
    while (d->head && d->head->due_ns <= now) {
        struct chunk *c = d->head;
        if (c->len == 0) {
            (void)shutdown(d->to, SHUT_WR);
            d->done = 1;
        } else {
            ssize_t n = write(d->to, c->data + c->off, c->len - c->off);
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR) return 0;
                return -1;
            }
            c->off += (size_t)n;
            d->queued -= (size_t)n;
            if (c->off < c->len) return 0;
        }
        d->head = c->next;
        if (!d->head) d->tail = NULL;
        free(c);
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct sockaddr_in la;
    struct sigaction sa;
    int lfd, one = 1, delay_ms, lifetime_s, listen_port;
    long long delay_ns, end_ns;

    if (argc != 5) {
        fprintf(stderr, "usage: delay_proxy LISTEN_PORT TARGET_PORT DELAY_MS LIFETIME_S\n");
        return 2;
    }
    listen_port = parse_int(argv[1], 1, 65535, "LISTEN_PORT");
    target_port = parse_int(argv[2], 1, 65535, "TARGET_PORT");
    delay_ms = parse_int(argv[3], 0, 10000, "DELAY_MS");
    lifetime_s = parse_int(argv[4], 1, 3600, "LIFETIME_S");
    delay_ns = (long long)delay_ms * 1000000LL;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0) { perror("delay_proxy: socket"); return 1; }
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    la = loopback(listen_port);
    if (bind(lfd, (struct sockaddr *)&la, sizeof la) != 0 || listen(lfd, 64) != 0) {
        perror("delay_proxy: bind/listen 127.0.0.1");
        return 1;
    }
    fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK);
    printf("listening 127.0.0.1:%d -> 127.0.0.1:%d, %d ms each way\n", listen_port, target_port,
           delay_ms);
    fflush(stdout);
    end_ns = now_ns() + (long long)lifetime_s * 1000000000LL;

    while (!stop) {
        struct pollfd pf[1 + 2 * MAX_PAIRS];
        int map[1 + 2 * MAX_PAIRS];
        long long now = now_ns(), wake = end_ns;
        struct timespec ts;
        int n = 0, i, k;
        if (now >= end_ns) break;

        pf[n].fd = lfd;
        pf[n].events = POLLIN;
        map[n++] = -1;
        for (i = 0; i < MAX_PAIRS; i++) {
            struct pair *p = &pairs[i];
            if (!p->used) continue;
            for (k = 0; k < 2; k++) {
                struct dir *in = &p->d[k], *out = &p->d[1 - k];
                short ev = 0;
                /* fd[k] is read for direction k, written for direction 1-k */
                if (!in->eof_read && in->queued < QUEUE_MAX) ev |= POLLIN;
                if (out->head && out->head->due_ns <= now) ev |= POLLOUT;
                else if (out->head && out->head->due_ns < wake) wake = out->head->due_ns;
                /* nothing wanted: not polled (a hung-up socket would
                 * otherwise wake the loop until its end of stream is due) */
                pf[n].fd = ev ? p->fd[k] : -1;
                pf[n].events = ev;
                map[n++] = i * 2 + k;
            }
        }
        if (wake < now) wake = now;
        ts.tv_sec = (time_t)((wake - now) / 1000000000LL);
        ts.tv_nsec = (long)((wake - now) % 1000000000LL);
        if (ppoll(pf, (nfds_t)n, &ts, NULL) < 0) {
            if (errno == EINTR) continue;
            perror("delay_proxy: ppoll");
            break;
        }
        if (pf[0].revents & POLLIN) accept_one(lfd);
        for (i = 1; i < n; i++) {
            struct pair *p = &pairs[map[i] / 2];
            k = map[i] % 2;
            if (!p->used) continue;
            if ((pf[i].revents & (POLLIN | POLLHUP | POLLERR)) && !p->d[k].eof_read &&
                p->d[k].queued < QUEUE_MAX) {
                if (dir_read(&p->d[k], delay_ns, k) != 0) { close_pair(p); continue; }
            }
        }
        now = now_ns();
        for (i = 0; i < MAX_PAIRS; i++) {
            struct pair *p = &pairs[i];
            if (!p->used) continue;
            if (dir_write(&p->d[0], now) != 0 || dir_write(&p->d[1], now) != 0) {
                close_pair(p);
                continue;
            }
            if (p->d[0].done && p->d[1].done) close_pair(p);
        }
    }
    for (int i = 0; i < MAX_PAIRS; i++)
        if (pairs[i].used) close_pair(&pairs[i]);
    close(lfd);
    fprintf(stderr, "delay_proxy: %llu connections, %llu bytes to the server, %llu back\n", n_conns,
            n_bytes[0], n_bytes[1]);
    return 0;
}
