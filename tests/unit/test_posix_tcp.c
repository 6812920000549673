/* POSIX TCP transport (ports/posix/tcp.c) against real loopback sockets.
 *
 * The "server" side of most tests is a listening socket in this same process:
 * a connect completes in the kernel's accept queue, so the test can connect,
 * then accept, then play both ends without threads. The two tests that need
 * both ends running at once (a bulk transfer, SIGPIPE) fork. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "postie/posix_tcp.h"
#include "../../ports/posix/tcp_internal.h"

/* ---- helpers ----------------------------------------------------------- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000LL + ts.tv_nsec / 1000000L;
}

static void sleep_ms(long ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Fills ss with addr (numeric literal) and port; returns its length. */
static socklen_t make_addr(struct sockaddr_storage *ss, int family, const char *addr,
                           unsigned short port)
{
    memset(ss, 0, sizeof *ss);
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        assert_int_equal(inet_pton(AF_INET, addr, &a->sin_addr), 1);
        return (socklen_t)sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        assert_int_equal(inet_pton(AF_INET6, addr, &a->sin6_addr), 1);
        return (socklen_t)sizeof *a;
    }
}

static unsigned short port_of(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = (socklen_t)sizeof ss;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
    if (ss.ss_family == AF_INET) {
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* A socket bound to addr on an ephemeral port (or `port` if non-zero),
 * listening with `backlog` if backlog >= 0, or bound but not listening (a
 * port that refuses connections) if backlog < 0. -1 if the address family or
 * address is not available on this host. */
static int bind_socket(int family, const char *addr, unsigned short port, int backlog,
                       unsigned short *port_out)
{
    struct sockaddr_storage ss;
    socklen_t len = make_addr(&ss, family, addr, port);
    int fd = socket(family, SOCK_STREAM, 0);
    int one = 1;

    if (fd < 0) {
        return -1;
    }
    if (family == AF_INET6) {
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, (socklen_t)sizeof one);
    }
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 ||
        (backlog >= 0 && listen(fd, backlog) != 0)) {
        close(fd);
        return -1;
    }
    if (port_out != NULL) {
        *port_out = port_of(fd);
    }
    return fd;
}

static int listen_on(int family, const char *addr, unsigned short *port)
{
    return bind_socket(family, addr, 0, 16, port);
}

/* Accepts one connection, waiting at most 2 s. */
static int accept_one(int lfd)
{
    struct pollfd p;
    int fd;
    p.fd = lfd;
    p.events = POLLIN;
    p.revents = 0;
    assert_int_equal(poll(&p, 1, 2000), 1);
    fd = accept(lfd, NULL, NULL);
    assert_true(fd >= 0);
    return fd;
}

/* Reads exactly n bytes from a plain blocking fd (the server side). */
static void read_exact(int fd, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        assert_true(r > 0);
        got += (size_t)r;
    }
}

static void write_all_fd(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t r = write(fd, buf, n);
        assert_true(r > 0);
        buf += r;
        n -= (size_t)r;
    }
}

/* Receives through the transport until exactly n bytes arrived. */
static void recv_exact(const postie_transport *tr, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        long r = tr->recv(tr->ctx, buf + got, n - got, 2000);
        if (r <= 0) {
            print_error("recv returned %ld after %zu of %zu bytes\n", r, got, n);
            fail();
        }
        got += (size_t)r;
    }
}

static void port_str(unsigned short port, char *buf, size_t cap)
{
    snprintf(buf, cap, "%u", (unsigned)port);
}

static int ipv6_loopback_available(void)
{
    unsigned short p;
    int fd = listen_on(AF_INET6, "::1", &p);
    if (fd < 0) {
        return 0;
    }
    close(fd);
    return 1;
}

/* ---- connect + round trip ---------------------------------------------- */

static void roundtrip(int family, const char *listen_addr, const char *host)
{
    unsigned short port;
    char ps[8], buf[64];
    postie_tcp t;
    postie_transport tr;
    int lfd, sfd, flags;

    lfd = listen_on(family, listen_addr, &port);
    assert_true(lfd >= 0);
    port_str(port, ps, sizeof ps);

    memset(&t, 0x5a, sizeof t); /* connect must not rely on t being initialised */
    assert_int_equal(postie_tcp_connect(&t, host, ps, 2000), POSTIE_OK);
    assert_true(t.fd >= 0);
    assert_int_equal(t.last_errno, 0);
    flags = fcntl(t.fd, F_GETFD);
    assert_true(flags >= 0 && (flags & FD_CLOEXEC));
    flags = fcntl(t.fd, F_GETFL);
    assert_true(flags >= 0 && (flags & O_NONBLOCK));

    postie_tcp_transport(&t, &tr);
    assert_ptr_equal(tr.ctx, &t);
    assert_null(tr.start_tls);
    assert_non_null(tr.send);
    assert_non_null(tr.recv);
    assert_non_null(tr.close);

    sfd = accept_one(lfd);
    assert_int_equal(postie_transport_send_all(&tr, "USER bob\r\n", 10, 2000), POSTIE_OK);
    read_exact(sfd, buf, 10);
    assert_memory_equal(buf, "USER bob\r\n", 10);

    write_all_fd(sfd, "+OK hello\r\n", 11);
    recv_exact(&tr, buf, 11);
    assert_memory_equal(buf, "+OK hello\r\n", 11);

    tr.close(tr.ctx);
    assert_int_equal(t.fd, -1);
    tr.close(tr.ctx); /* second close is harmless */
    assert_int_equal(read(sfd, buf, sizeof buf), 0); /* server sees our close */

    close(sfd);
    close(lfd);
}

static void test_roundtrip_ipv4(void **state)
{
    (void)state;
    roundtrip(AF_INET, "127.0.0.1", "127.0.0.1");
}

static void test_roundtrip_ipv6(void **state)
{
    (void)state;
    if (!ipv6_loopback_available()) {
        print_message("::1 not available on this host: IPv6 round trip not tested\n");
        skip();
    }
    roundtrip(AF_INET6, "::1", "::1");
}

/* "localhost" against a listener on one family only, for each family the
 * resolver returns for it. When it returns both, the other family's address
 * on the same port refuses (nothing listens there), so whichever comes first,
 * the connection only succeeds if every address is tried in turn. */
static void test_localhost_each_family(void **state)
{
    struct addrinfo hints, *res = NULL, *ai;
    int have4 = 0, have6 = 0, tested = 0;

    (void)state;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    assert_int_equal(getaddrinfo("localhost", "1", &hints, &res), 0);
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        have4 |= ai->ai_family == AF_INET;
        have6 |= ai->ai_family == AF_INET6;
    }
    freeaddrinfo(res);

    if (have4) {
        roundtrip(AF_INET, "127.0.0.1", "localhost");
        tested++;
    }
    if (have6 && ipv6_loopback_available()) {
        roundtrip(AF_INET6, "::1", "localhost");
        tested++;
    }
    if (!(have4 && have6)) {
        print_message("localhost resolves to IPv%s only here: connected with that "
                      "family's listener; the both-families case is covered by "
                      "test_address_list_refused_then_open\n", have4 ? "4" : "6");
    }
    assert_true(tested > 0);
}

/* ---- the address loop, with address lists built by the test ------------ */

typedef struct addr_list {
    struct addrinfo ai[4];
    struct sockaddr_storage ss[4];
    size_t n;
} addr_list;

static void list_add(addr_list *l, int family, const char *addr, unsigned short port)
{
    struct addrinfo *a;
    assert_true(l->n < 4);
    a = &l->ai[l->n];
    memset(a, 0, sizeof *a);
    a->ai_family = family;
    a->ai_socktype = SOCK_STREAM;
    a->ai_protocol = IPPROTO_TCP;
    a->ai_addrlen = make_addr(&l->ss[l->n], family, addr, port);
    a->ai_addr = (struct sockaddr *)&l->ss[l->n];
    if (l->n > 0) {
        l->ai[l->n - 1].ai_next = a;
    }
    l->n++;
}

static void test_address_list_refused_then_open(void **state)
{
    unsigned short open_port, closed_port, closed6_port = 0;
    int lfd, cfd, c6fd = -1, sfd;
    addr_list l;
    postie_tcp t;

    (void)state;
    lfd = listen_on(AF_INET, "127.0.0.1", &open_port);
    cfd = bind_socket(AF_INET, "127.0.0.1", 0, -1, &closed_port);
    assert_true(lfd >= 0 && cfd >= 0);
    memset(&l, 0, sizeof l);
    if (ipv6_loopback_available()) {
        c6fd = bind_socket(AF_INET6, "::1", 0, -1, &closed6_port);
        assert_true(c6fd >= 0);
        list_add(&l, AF_INET6, "::1", closed6_port);   /* refused, other family */
    }
    list_add(&l, AF_INET, "127.0.0.1", closed_port);    /* refused */
    list_add(&l, AF_INET, "127.0.0.1", open_port);      /* listening */

    assert_int_equal(postie_tcp_connect_addrs(&t, l.ai, 2000), POSTIE_OK);
    assert_true(t.fd >= 0);
    assert_int_equal(t.last_errno, 0);
    sfd = accept_one(lfd); /* the connection really is to the listener */
    close(sfd);
    postie_tcp_close(&t);

    close(lfd);
    close(cfd);
    if (c6fd >= 0) {
        close(c6fd);
    }
}

/* ---- failures ---------------------------------------------------------- */

static void test_connect_refused(void **state)
{
    unsigned short port;
    char ps[8];
    postie_tcp t;
    int cfd = bind_socket(AF_INET, "127.0.0.1", 0, -1, &port);

    (void)state;
    assert_true(cfd >= 0);
    port_str(port, ps, sizeof ps);
    assert_int_equal(postie_tcp_connect(&t, "127.0.0.1", ps, 2000), POSTIE_ERR_CONNECT);
    assert_int_equal(t.fd, -1);
    assert_int_equal(t.last_errno, ECONNREFUSED);
    close(cfd);
}

static void test_resolve_fails(void **state)
{
    postie_tcp t;
    (void)state;
    /* .invalid is reserved never to resolve (RFC 6761 section 6.4) */
    assert_int_equal(postie_tcp_connect(&t, "nonexistent.invalid", "110", 2000),
                     POSTIE_ERR_RESOLVE);
    assert_int_equal(t.fd, -1);
    assert_int_equal(postie_tcp_connect(&t, "127.0.0.1", "no-such-service-name", 2000),
                     POSTIE_ERR_RESOLVE);
    assert_int_equal(t.fd, -1);
}

static void test_params(void **state)
{
    postie_tcp t;
    postie_transport tr;
    char c;

    (void)state;
    assert_int_equal(postie_tcp_connect(NULL, "127.0.0.1", "110", 100), POSTIE_ERR_PARAM);
    assert_int_equal(postie_tcp_connect(&t, NULL, "110", 100), POSTIE_ERR_PARAM);
    assert_int_equal(t.fd, -1);
    assert_int_equal(postie_tcp_connect(&t, "127.0.0.1", NULL, 100), POSTIE_ERR_PARAM);
    assert_int_equal(postie_tcp_connect(&t, "", "110", 100), POSTIE_ERR_PARAM);
    assert_int_equal(postie_tcp_connect(&t, "127.0.0.1", "", 100), POSTIE_ERR_PARAM);
    assert_int_equal(postie_tcp_connect_addrs(&t, NULL, 100), POSTIE_ERR_PARAM);

    /* a transport over a closed postie_tcp fails cleanly */
    t.fd = -1;
    t.last_errno = 0;
    postie_tcp_transport(&t, &tr);
    assert_int_equal(tr.send(tr.ctx, "x", 1, 100), POSTIE_ERR_IO);
    assert_int_equal(t.last_errno, ENOTCONN);
    assert_int_equal(tr.recv(tr.ctx, &c, 1, 100), POSTIE_ERR_IO);
    assert_int_equal(tr.send(NULL, "x", 1, 100), POSTIE_ERR_PARAM);
    assert_int_equal(tr.recv(tr.ctx, NULL, 1, 100), POSTIE_ERR_PARAM);
    assert_int_equal(tr.recv(tr.ctx, &c, 0, 100), POSTIE_ERR_PARAM);
    postie_tcp_close(&t);
    postie_tcp_close(NULL);
    postie_tcp_transport(&t, NULL); /* no crash */
}

/* Connects t to a fresh IPv4 listener and accepts; returns the server fd. */
static int connect_pair(postie_tcp *t, postie_transport *tr, int *lfd_out)
{
    unsigned short port;
    char ps[8];
    int lfd = listen_on(AF_INET, "127.0.0.1", &port);
    assert_true(lfd >= 0);
    port_str(port, ps, sizeof ps);
    assert_int_equal(postie_tcp_connect(t, "127.0.0.1", ps, 2000), POSTIE_OK);
    postie_tcp_transport(t, tr);
    *lfd_out = lfd;
    return accept_one(lfd);
}

static void test_recv_zero_on_close(void **state)
{
    postie_tcp t;
    postie_transport tr;
    char buf[16];
    int lfd, sfd;

    (void)state;
    sfd = connect_pair(&t, &tr, &lfd);
    write_all_fd(sfd, "+OK bye\r\n", 9);
    close(sfd);
    recv_exact(&tr, buf, 9);
    assert_memory_equal(buf, "+OK bye\r\n", 9);
    assert_int_equal(tr.recv(tr.ctx, buf, sizeof buf, 2000), 0);
    assert_int_equal(tr.recv(tr.ctx, buf, sizeof buf, 2000), 0); /* and stays 0 */
    postie_tcp_close(&t);
    close(lfd);
}

static void test_recv_timeout(void **state)
{
    postie_tcp t;
    postie_transport tr;
    char buf[16];
    long long t0, elapsed;
    long r;
    int lfd, sfd;

    (void)state;
    sfd = connect_pair(&t, &tr, &lfd); /* the server says nothing */
    t0 = now_ms();
    r = tr.recv(tr.ctx, buf, sizeof buf, 200);
    elapsed = now_ms() - t0;
    assert_int_equal(r, POSTIE_ERR_TIMEOUT);
    assert_int_equal(t.last_errno, ETIMEDOUT);
    print_message("recv timeout 200 ms took %lld ms\n", elapsed);
    assert_true(elapsed >= 199);   /* 1 ms of slack for the clock's resolution */
    assert_true(elapsed < 200 + 400);

    /* timeout 0: does not wait at all */
    t0 = now_ms();
    assert_int_equal(tr.recv(tr.ctx, buf, sizeof buf, 0), POSTIE_ERR_TIMEOUT);
    assert_true(now_ms() - t0 < 100);

    /* the connection is still usable after a timeout */
    write_all_fd(sfd, "late\r\n", 6);
    recv_exact(&tr, buf, 6);
    assert_memory_equal(buf, "late\r\n", 6);

    postie_tcp_close(&t);
    close(sfd);
    close(lfd);
}

static void test_recv_reset_is_closed(void **state)
{
    postie_tcp t;
    postie_transport tr;
    struct linger lg;
    char buf[16];
    int lfd, sfd;

    (void)state;
    sfd = connect_pair(&t, &tr, &lfd);
    lg.l_onoff = 1;
    lg.l_linger = 0; /* close() sends RST instead of FIN */
    assert_int_equal(setsockopt(sfd, SOL_SOCKET, SO_LINGER, &lg, (socklen_t)sizeof lg), 0);
    close(sfd);
    assert_int_equal(tr.recv(tr.ctx, buf, sizeof buf, 2000), POSTIE_ERR_CLOSED);
    assert_int_equal(t.last_errno, ECONNRESET);
    postie_tcp_close(&t);
    close(lfd);
}

/* Writing to a peer that closed: the first write may still be accepted
 * locally; the peer answers it with RST, and a later one fails. With SIGPIPE
 * at its default action the process would die there; the work runs in a
 * child so that a signal death is reported as such. */
static void test_send_to_closed_peer_no_sigpipe(void **state)
{
    pid_t pid;
    int status;

    (void)state;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        postie_tcp t;
        postie_transport tr;
        long r = 0;
        int lfd, sfd, i;

        signal(SIGPIPE, SIG_DFL);
        sfd = connect_pair(&t, &tr, &lfd);
        close(sfd); /* FIN: peer closed its side and will reset on our data */
        for (i = 0; i < 400; i++) {
            r = tr.send(tr.ctx, "NOOP\r\n", 6, 1000);
            if (r < 0) {
                break;
            }
            sleep_ms(5);
        }
        if (r != POSTIE_ERR_CLOSED) {
            fprintf(stderr, "send returned %ld after %d calls (errno %d), expected %d\n",
                    r, i, t.last_errno, (int)POSTIE_ERR_CLOSED);
            _exit(1);
        }
        if (t.last_errno != EPIPE && t.last_errno != ECONNRESET) {
            fprintf(stderr, "last_errno %d, expected EPIPE or ECONNRESET\n", t.last_errno);
            _exit(2);
        }
        postie_tcp_close(&t);
        close(lfd);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status)) {
        print_error("child killed by signal %d (SIGPIPE is %d)\n", WTERMSIG(status), SIGPIPE);
        fail();
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* A peer that never reads: send fills the socket buffers, then times out. */
static void test_send_timeout(void **state)
{
    static char chunk[65536];
    postie_tcp t;
    postie_transport tr;
    long long t0 = 0, elapsed;
    size_t total = 0;
    long r = 0;
    int lfd, sfd;

    (void)state;
    memset(chunk, 'x', sizeof chunk);
    sfd = connect_pair(&t, &tr, &lfd);
    while (total < (size_t)256 << 20) {
        t0 = now_ms();
        r = tr.send(tr.ctx, chunk, sizeof chunk, 100);
        if (r < 0) {
            break;
        }
        assert_true(r > 0 && (size_t)r <= sizeof chunk);
        total += (size_t)r;
    }
    elapsed = now_ms() - t0;
    print_message("send timed out after %zu bytes buffered; last call %lld ms\n", total, elapsed);
    assert_int_equal(r, POSTIE_ERR_TIMEOUT);
    assert_int_equal(t.last_errno, ETIMEDOUT);
    assert_true(total > 0);
    assert_true(elapsed >= 99 && elapsed < 100 + 400);
    postie_tcp_close(&t);
    close(sfd);
    close(lfd);
}

static uint32_t fnv1a(uint32_t h, const unsigned char *p, size_t n)
{
    while (n-- > 0) {
        h = (h ^ *p++) * 16777619u;
    }
    return h;
}

/* 4 MiB through send_all while a child reads them: partial sends and waits
 * for buffer space are exercised; the child answers with count and hash. */
static void test_bulk_transfer(void **state)
{
    enum { TOTAL = 4 << 20 };
    unsigned short port;
    char ps[8], reply[64];
    unsigned char *data;
    postie_tcp t;
    postie_transport tr;
    size_t got = 0, i;
    uint32_t hash;
    pid_t pid;
    int lfd, status;

    (void)state;
    lfd = listen_on(AF_INET, "127.0.0.1", &port);
    assert_true(lfd >= 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        unsigned char buf[8192];
        unsigned long count = 0;
        uint32_t h = 2166136261u;
        ssize_t n;
        int sfd = accept(lfd, NULL, NULL);
        if (sfd < 0) {
            _exit(1);
        }
        while ((n = read(sfd, buf, sizeof buf)) > 0) {
            sleep_ms(count % (512 * 1024) < 8192 ? 20 : 0); /* let the sender block */
            h = fnv1a(h, buf, (size_t)n);
            count += (unsigned long)n;
        }
        n = snprintf((char *)buf, sizeof buf, "%lu %08x\n", count, (unsigned)h);
        if (write(sfd, buf, (size_t)n) != n) {
            _exit(2);
        }
        close(sfd);
        _exit(0);
    }
    data = malloc(TOTAL);
    assert_non_null(data);
    for (i = 0; i < TOTAL; i++) {
        data[i] = (unsigned char)(i * 7u + (i >> 13));
    }
    hash = fnv1a(2166136261u, data, TOTAL);
    port_str(port, ps, sizeof ps);
    assert_int_equal(postie_tcp_connect(&t, "127.0.0.1", ps, 2000), POSTIE_OK);
    postie_tcp_transport(&t, &tr);
    assert_int_equal(postie_transport_send_all(&tr, data, TOTAL, 5000), POSTIE_OK);
    assert_int_equal(shutdown(t.fd, SHUT_WR), 0);
    for (;;) {
        long r = tr.recv(tr.ctx, reply + got, sizeof reply - 1 - got, 5000);
        assert_true(r >= 0);
        if (r == 0) {
            break;
        }
        got += (size_t)r;
    }
    reply[got] = '\0';
    {
        char want[64];
        snprintf(want, sizeof want, "%lu %08x\n", (unsigned long)TOTAL, (unsigned)hash);
        assert_string_equal(reply, want);
    }
    postie_tcp_close(&t);
    free(data);
    close(lfd);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- connect timeout --------------------------------------------------- */

/* A listener whose accept queue is full: the kernel drops further SYNs, so a
 * connect to it neither succeeds nor fails until the client gives up.
 * Returns the listener, its port in *port, and the sockets that filled it in
 * fill[] (*nfill); -1 if the queue could not be seen to fill. */
static int silent_listener(unsigned short *port, int *fill, int *nfill, int max)
{
    int lfd = bind_socket(AF_INET, "127.0.0.1", 0, 0, port);
    struct sockaddr_storage ss;
    socklen_t len = make_addr(&ss, AF_INET, "127.0.0.1", *port);

    assert_true(lfd >= 0);
    *nfill = 0;
    while (*nfill < max) {
        struct pollfd p;
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
        fill[(*nfill)++] = fd;
        if (connect(fd, (struct sockaddr *)&ss, len) == 0) {
            continue;
        }
        assert_int_equal(errno, EINPROGRESS);
        p.fd = fd;
        p.events = POLLOUT;
        p.revents = 0;
        if (poll(&p, 1, 150) == 0) {
            return lfd; /* this one hangs: the queue is full */
        }
    }
    close(lfd);
    return -1;
}

static void close_all(int *fds, int n)
{
    while (n-- > 0) {
        close(fds[n]);
    }
}

static void test_connect_timeout(void **state)
{
    int fill[64], nfill, lfd, cfd, ofd, sfd;
    unsigned short port, closed_port, open_port;
    long long t0, elapsed;
    char ps[8];
    postie_tcp t;
    addr_list l;
    postie_status st;

    (void)state;
    lfd = silent_listener(&port, fill, &nfill, 64);
    if (lfd < 0) {
        close_all(fill, nfill);
        print_message("could not fill a listener's accept queue here: connect timeout not tested\n");
        skip();
    }
    port_str(port, ps, sizeof ps);

    /* postie_tcp_connect: the only address times out */
    t0 = now_ms();
    st = postie_tcp_connect(&t, "127.0.0.1", ps, 300);
    elapsed = now_ms() - t0;
    print_message("connect timeout 300 ms took %lld ms\n", elapsed);
    assert_int_equal(st, POSTIE_ERR_TIMEOUT);
    assert_int_equal(t.fd, -1);
    assert_int_equal(t.last_errno, ETIMEDOUT);
    assert_true(elapsed >= 299 && elapsed < 300 + 400);

    cfd = bind_socket(AF_INET, "127.0.0.1", 0, -1, &closed_port);
    ofd = listen_on(AF_INET, "127.0.0.1", &open_port);
    assert_true(cfd >= 0 && ofd >= 0);

    /* every address timed out: ERR_TIMEOUT, having tried both */
    memset(&l, 0, sizeof l);
    list_add(&l, AF_INET, "127.0.0.1", port);
    list_add(&l, AF_INET, "127.0.0.1", port);
    t0 = now_ms();
    assert_int_equal(postie_tcp_connect_addrs(&t, l.ai, 150), POSTIE_ERR_TIMEOUT);
    assert_true(now_ms() - t0 >= 299);

    /* one timed out, one refused: ERR_CONNECT with the refusal's errno */
    memset(&l, 0, sizeof l);
    list_add(&l, AF_INET, "127.0.0.1", port);
    list_add(&l, AF_INET, "127.0.0.1", closed_port);
    assert_int_equal(postie_tcp_connect_addrs(&t, l.ai, 150), POSTIE_ERR_CONNECT);
    assert_int_equal(t.last_errno, ECONNREFUSED);
    assert_int_equal(t.fd, -1);

    /* a silent address, then a listening one: connects to the second */
    memset(&l, 0, sizeof l);
    list_add(&l, AF_INET, "127.0.0.1", port);
    list_add(&l, AF_INET, "127.0.0.1", open_port);
    assert_int_equal(postie_tcp_connect_addrs(&t, l.ai, 150), POSTIE_OK);
    sfd = accept_one(ofd);
    close(sfd);
    postie_tcp_close(&t);

    close(ofd);
    close(cfd);
    close_all(fill, nfill);
    close(lfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_ipv4),
        cmocka_unit_test(test_roundtrip_ipv6),
        cmocka_unit_test(test_localhost_each_family),
        cmocka_unit_test(test_address_list_refused_then_open),
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_resolve_fails),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_recv_zero_on_close),
        cmocka_unit_test(test_recv_timeout),
        cmocka_unit_test(test_recv_reset_is_closed),
        cmocka_unit_test(test_send_to_closed_peer_no_sigpipe),
        cmocka_unit_test(test_send_timeout),
        cmocka_unit_test(test_bulk_transfer),
        cmocka_unit_test(test_connect_timeout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
