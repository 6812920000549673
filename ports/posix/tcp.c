/*
 * ports/posix/tcp.c - TCP transport for POSIX hosts (Linux, BSD, macOS).
 *
 * Every socket is non-blocking and close-on-exec. Each call first tries the
 * system call and, when it would block, waits with poll() until a deadline
 * computed on CLOCK_MONOTONIC from the caller's timeout, so a call never
 * blocks past its timeout, however often poll() is interrupted (EINTR is
 * retried with the time that is left).
 *
 * SIGPIPE: a write on a connection the peer has reset would raise it and kill
 * the process. MSG_NOSIGNAL on each send() suppresses it on Linux and the
 * BSDs; SO_NOSIGPIPE on the socket does on macOS (and is set wherever it
 * exists). The build fails on a system that has neither, rather than
 * silently risk the signal.
 */
#if defined(__APPLE__) && !defined(_DARWIN_C_SOURCE)
#define _DARWIN_C_SOURCE 1 /* SO_NOSIGPIPE is hidden under plain _POSIX_C_SOURCE */
#endif

#include "postie/posix_tcp.h"
#include "tcp_internal.h"
#include "posix_wait.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#if !defined(MSG_NOSIGNAL) && !defined(SO_NOSIGPIPE)
#error "neither MSG_NOSIGNAL nor SO_NOSIGPIPE: cannot keep send() from raising SIGPIPE"
#endif
#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

/* ---- sockets ----------------------------------------------------------- */

/* A non-blocking, close-on-exec stream socket that never raises SIGPIPE;
 * -1 with errno set on failure. */
static int open_socket(int family, int socktype, int protocol)
{
    int fd, flags;

#ifdef SOCK_CLOEXEC
    fd = socket(family, socktype | SOCK_CLOEXEC, protocol);
#else
    fd = socket(family, socktype, protocol);
    if (fd >= 0 && fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
#endif
    if (fd < 0) {
        return -1;
    }
    flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
#ifdef SO_NOSIGPIPE
    {
        int one = 1;
        if (setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, (socklen_t)sizeof one) != 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
    }
#endif
    return fd;
}

/* Connects fd to addr within timeout_ms. Returns 0, or the errno of the
 * failure (ETIMEDOUT when the deadline passed). */
static int connect_one(int fd, const struct sockaddr *addr, socklen_t addrlen,
                       unsigned timeout_ms)
{
    struct timespec deadline;
    int err = 0;
    socklen_t errlen = (socklen_t)sizeof err;
    int w;

    postie_posix_deadline_after(&deadline, timeout_ms);
    if (connect(fd, addr, addrlen) == 0) {
        return 0;
    }
    /* On a non-blocking socket EINTR, like EINPROGRESS, leaves the connection
     * being established asynchronously (POSIX connect()). */
    if (errno != EINPROGRESS && errno != EINTR) {
        return errno;
    }
    w = postie_posix_wait_fd(fd, POLLOUT, &deadline);
    if (w == 0) {
        return ETIMEDOUT;
    }
    if (w < 0) {
        return errno;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) != 0) {
        return errno;
    }
    if (err != 0) {
        return err;
    }
    {
        /* Belt and braces: some stacks report writable with SO_ERROR 0 on a
         * socket that did not connect; only a peer address proves it did. */
        struct sockaddr_storage peer;
        socklen_t plen = (socklen_t)sizeof peer;
        if (getpeername(fd, (struct sockaddr *)&peer, &plen) != 0) {
            return errno == ENOTCONN ? ECONNREFUSED : errno;
        }
    }
    return 0;
}

postie_status postie_tcp_connect_addrs(postie_tcp *t, const struct addrinfo *list,
                                       unsigned timeout_ms)
{
    const struct addrinfo *ai;
    int tried = 0, timed_out = 0;
    int last_err = 0, last_hard_err = 0;

    if (t == NULL) {
        return POSTIE_ERR_PARAM;
    }
    t->fd = -1;
    t->last_errno = 0;
    if (list == NULL) {
        return POSTIE_ERR_PARAM;
    }
    for (ai = list; ai != NULL; ai = ai->ai_next) {
        int fd, err;

        if (ai->ai_addr == NULL) {
            continue;
        }
        tried++;
        fd = open_socket(ai->ai_family, ai->ai_socktype ? ai->ai_socktype : SOCK_STREAM,
                         ai->ai_protocol);
        if (fd < 0) {
            /* e.g. EAFNOSUPPORT: IPv6 address on a host without IPv6 */
            last_err = last_hard_err = errno;
            continue;
        }
        err = connect_one(fd, ai->ai_addr, ai->ai_addrlen, timeout_ms);
        if (err == 0) {
            int one = 1;
            /* Commands are built whole and sent at once: do not let Nagle's
             * algorithm hold back the last segment of a command waiting for
             * the ACK of the previous one. Failure here is harmless. */
            (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, (socklen_t)sizeof one);
            t->fd = fd;
            t->last_errno = 0;
            return POSTIE_OK;
        }
        close(fd);
        last_err = err;
        if (err == ETIMEDOUT) {
            timed_out++;
        } else {
            last_hard_err = err;
        }
    }
    if (tried == 0) {
        return POSTIE_ERR_RESOLVE;
    }
    if (timed_out == tried) {
        t->last_errno = last_err;
        return POSTIE_ERR_TIMEOUT;
    }
    t->last_errno = last_hard_err;
    return POSTIE_ERR_CONNECT;
}

postie_status postie_tcp_connect(postie_tcp *t, const char *host, const char *port,
                                 unsigned timeout_ms)
{
    struct addrinfo hints, *list = NULL;
    postie_status st;
    int rc;

    if (t == NULL) {
        return POSTIE_ERR_PARAM;
    }
    t->fd = -1;
    t->last_errno = 0;
    if (host == NULL || port == NULL || host[0] == '\0' || port[0] == '\0') {
        return POSTIE_ERR_PARAM;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;      /* IPv4 and IPv6, in the resolver's order */
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    /* No AI_ADDRCONFIG: it hides ::1 on hosts whose only IPv6 address is the
     * loopback one; an address family the host lacks simply fails to connect
     * and the next address is tried. */
    hints.ai_flags = 0;
    do {
        rc = getaddrinfo(host, port, &hints, &list);
    } while (rc == EAI_SYSTEM && errno == EINTR);
    if (rc != 0) {
        t->last_errno = rc == EAI_SYSTEM ? errno : 0;
        return POSTIE_ERR_RESOLVE;
    }
    st = postie_tcp_connect_addrs(t, list, timeout_ms);
    freeaddrinfo(list);
    return st;
}

/* ---- send / recv / close ----------------------------------------------- */

/* Maps the errno of a failed send/recv to a status, recording it. */
static long io_error(postie_tcp *t, int err)
{
    t->last_errno = err;
    switch (err) {
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
        return POSTIE_ERR_CLOSED;
    default:
        return POSTIE_ERR_IO;
    }
}

/* One call moves at most this much, so the count always fits the long result. */
static size_t clamp_len(size_t len)
{
    const size_t max = (size_t)(LONG_MAX < SSIZE_MAX ? LONG_MAX : SSIZE_MAX);
    return len > max ? max : len;
}

static long tcp_send(void *ctx, const void *buf, size_t len, unsigned timeout_ms)
{
    postie_tcp *t = ctx;
    struct timespec deadline;

    if (t == NULL || (buf == NULL && len > 0)) {
        return POSTIE_ERR_PARAM;
    }
    if (t->fd < 0) {
        return io_error(t, ENOTCONN);
    }
    if (len == 0) {
        return 0;
    }
    len = clamp_len(len);
    postie_posix_deadline_after(&deadline, timeout_ms);
    for (;;) {
        ssize_t n = send(t->fd, buf, len, MSG_NOSIGNAL);
        int w;

        if (n >= 0) {
            return (long)n;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return io_error(t, errno);
        }
        w = postie_posix_wait_fd(t->fd, POLLOUT, &deadline);
        if (w == 0) {
            t->last_errno = ETIMEDOUT;
            return POSTIE_ERR_TIMEOUT;
        }
        if (w < 0) {
            return io_error(t, errno);
        }
    }
}

static long tcp_recv(void *ctx, void *buf, size_t len, unsigned timeout_ms)
{
    postie_tcp *t = ctx;
    struct timespec deadline;

    if (t == NULL || buf == NULL || len == 0) {
        return POSTIE_ERR_PARAM;
    }
    if (t->fd < 0) {
        return io_error(t, ENOTCONN);
    }
    len = clamp_len(len);
    postie_posix_deadline_after(&deadline, timeout_ms);
    for (;;) {
        ssize_t n = recv(t->fd, buf, len, 0);
        int w;

        if (n >= 0) {
            return (long)n; /* 0: the peer closed its side */
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return io_error(t, errno);
        }
        w = postie_posix_wait_fd(t->fd, POLLIN, &deadline);
        if (w == 0) {
            t->last_errno = ETIMEDOUT;
            return POSTIE_ERR_TIMEOUT;
        }
        if (w < 0) {
            return io_error(t, errno);
        }
    }
}

static void tcp_close_cb(void *ctx)
{
    postie_tcp_close(ctx);
}

void postie_tcp_transport(postie_tcp *t, postie_transport *tr)
{
    if (tr == NULL) {
        return;
    }
    memset(tr, 0, sizeof *tr);
    tr->ctx = t;
    tr->send = tcp_send;
    tr->recv = tcp_recv;
    tr->start_tls = NULL;
    tr->close = tcp_close_cb;
}

void postie_tcp_close(postie_tcp *t)
{
    if (t == NULL || t->fd < 0) {
        return;
    }
    /* Not retried on EINTR: the descriptor is released either way on Linux,
     * and retrying could close a descriptor another thread just opened. */
    (void)close(t->fd);
    t->fd = -1;
}
