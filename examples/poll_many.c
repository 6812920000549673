/*
 * poll_many - many POP3 and SMTP sessions at once on one thread, driven by
 * one poll() loop over the sessions' connection engines (docs/event-loop.md).
 *
 *     POLL_MANY_PASS=secret poll_many [options]
 *       --host ADDR          server address (default 127.0.0.1)
 *       --pop3-port P        POP3 port (STLS offered there for --tls-every)
 *       --smtp-port P        SMTP port (STARTTLS offered there)
 *       --pop3 N             N sessions, each fetching every message of the
 *                            mailbox (UIDL, RETR each, QUIT; nothing deleted)
 *       --smtp N             N sessions, each sending one message
 *       --user U             account for POP3 login and SMTP AUTH
 *       --from A --to A      SMTP envelope
 *       --tls-every K        every K-th session of each kind upgrades with
 *                            STLS/STARTTLS (0: none; needs OpenSSL)
 *       --ca FILE --name N   CA file and name the server certificate must match
 *       --tag T              goes into each message's X-Poll-Many header
 *       --timeout MS         a session idle this long fails (default 30000)
 *
 * Every socket is non-blocking; no call ever waits. Each session is an
 * application state machine over the public API of pop3.h / smtp.h in their
 * event-loop mode (postie_pop3_init_nb, postie_smtp_init_nb): a call returns
 * POSTIE_AGAIN when bytes must move, the loop moves them between the socket
 * (or the TLS object on it) and postie_conn_out()/postie_conn_in(), and the
 * same call is repeated when poll() says the socket is ready.
 *
 * Output, one line per outcome (tests/interop/poll_many.sh checks them):
 *   pop3 ID UID OCTETS SHA256      a message fetched (SHA-256 of its bytes)
 *   pop3 ID done N                 session ended cleanly after N messages
 *   smtp ID MESSAGE-ID CODE SHA256 a message accepted (the recipient's RCPT
 *                                  code; SHA-256 of the bytes handed over)
 *   fail KIND ID STATUS what       a session that failed
 *   # ...                          figures: time, peak sockets, memory
 * Exit status 0 when every session succeeded.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "postie/pop3.h"
#include "postie/sha256.h"
#include "postie/smtp.h"

#ifdef POSTIE_HAVE_OPENSSL
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#endif

#define MAX_MSGS 64 /* messages fetched per POP3 session */

enum { K_POP3, K_SMTP };

/* Application phases (each repeats one public call until it is done). */
enum { P_OPEN, P_LOGIN, P_UIDL_BEGIN, P_UIDL_NEXT, P_RETR, P_READ, P_QUIT, P_DONE };
enum { S_OPEN, S_AUTH, S_SEND, S_QUIT, S_DONE };

typedef struct sess {
    int kind, id, fd;
    int connecting;       /* non-blocking connect() in progress */
    int use_tls;          /* STLS/STARTTLS on this one */
    int phase;
    short rd_ev, wr_ev;   /* poll event the last blocked receive / send waits for */
    long long deadline;   /* ms on the monotonic clock: idle limit */
    postie_conn *conn;
#ifdef POSTIE_HAVE_OPENSSL
    SSL *ssl;
    int handshaking;
#endif
    union {
        postie_pop3 pop3;
        postie_smtp smtp;
    } u;
    /* POP3: the listing, then the message being read */
    unsigned long nmsg, cur, msgno[MAX_MSGS], octets, lmsg, got;
    char uid[MAX_MSGS][POSTIE_POP3_UID_MAX];
    char luid[POSTIE_POP3_UID_MAX];
    postie_sha256_ctx sha;
    /* SMTP: the message and its envelope */
    char *msg;
    size_t msg_len, msg_off;  /* the reader's position (kept across repeated calls) */
    char msgid[96];
    postie_smtp_rcpt rcpt;
    postie_smtp_envelope env;
} sess;

/* ---- settings ---------------------------------------------------------------- */

static const char *o_host = "127.0.0.1", *o_pop3_port, *o_smtp_port, *o_user, *o_pass;
static const char *o_from, *o_to, *o_ca, *o_name = "localhost", *o_tag = "poll_many";
static int o_pop3, o_smtp, o_tls_every;
static unsigned o_timeout = 30000;

static sess *S;
static int nsess, active, peak_active;
static int ok_pop3, ok_smtp, failed;
static unsigned long messages_fetched;
static unsigned long long bytes_fetched;

#ifdef POSTIE_HAVE_OPENSSL
static SSL_CTX *tls_ctx;
#endif

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void hex(const unsigned char *d, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * n] = '\0';
}

/* ---- moving bytes: plain socket or TLS on it ------------------------------------ */

/* > 0 bytes moved; POSTIE_ERR_WOULD_BLOCK (s->wr_ev says on what); or a
 * failure status. */
static long xsend(sess *s, const char *p, size_t n)
{
    ssize_t r;
#ifdef POSTIE_HAVE_OPENSSL
    if (s->ssl != NULL) {
        int k = SSL_write(s->ssl, p, n > 65536 ? 65536 : (int)n);
        if (k > 0) {
            return k;
        }
        switch (SSL_get_error(s->ssl, k)) {
        case SSL_ERROR_WANT_WRITE: s->wr_ev = POLLOUT; return POSTIE_ERR_WOULD_BLOCK;
        case SSL_ERROR_WANT_READ: s->wr_ev = POLLIN; return POSTIE_ERR_WOULD_BLOCK;
        default: ERR_clear_error(); return POSTIE_ERR_TLS;
        }
    }
#endif
    r = send(s->fd, p, n, MSG_NOSIGNAL);
    if (r > 0) {
        return (long)r;
    }
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        s->wr_ev = POLLOUT;
        return POSTIE_ERR_WOULD_BLOCK;
    }
    return r < 0 && (errno == ECONNRESET || errno == EPIPE) ? POSTIE_ERR_CLOSED : POSTIE_ERR_IO;
}

/* >= 0 bytes (0: the peer closed); POSTIE_ERR_WOULD_BLOCK; or a failure. */
static long xrecv(sess *s, char *p, size_t cap)
{
    ssize_t r;
#ifdef POSTIE_HAVE_OPENSSL
    if (s->ssl != NULL) {
        int k = SSL_read(s->ssl, p, cap > 65536 ? 65536 : (int)cap);
        if (k > 0) {
            return k;
        }
        switch (SSL_get_error(s->ssl, k)) {
        case SSL_ERROR_WANT_READ: s->rd_ev = POLLIN; return POSTIE_ERR_WOULD_BLOCK;
        case SSL_ERROR_WANT_WRITE: s->rd_ev = POLLOUT; return POSTIE_ERR_WOULD_BLOCK;
        case SSL_ERROR_ZERO_RETURN: return 0; /* close_notify */
        default: ERR_clear_error(); return POSTIE_ERR_TLS; /* also a TCP close without close_notify */
        }
    }
#endif
    r = recv(s->fd, p, cap, 0);
    if (r >= 0) {
        return (long)r;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        s->rd_ev = POLLIN;
        return POSTIE_ERR_WOULD_BLOCK;
    }
    return errno == ECONNRESET ? POSTIE_ERR_CLOSED : POSTIE_ERR_IO;
}

/* Moves what the engine offers and what the socket holds, without waiting.
 * Returns 1 when something moved (or the connection ended), 0 when both
 * directions would block. */
static int pump(sess *s)
{
    postie_conn *c = s->conn;
    int moved = 0;
    size_t n, cap;
    const char *out;
    char *in;
    long r;

    while ((out = postie_conn_out(c, &n)) != NULL && n > 0) {
        r = xsend(s, out, n);
        if (r == POSTIE_ERR_WOULD_BLOCK) {
            break;
        }
        if (r < 0) {
            postie_conn_fail(c, r);
            return 1;
        }
        postie_conn_out_done(c, (size_t)r);
        moved = 1;
    }
    if ((postie_conn_want(c) & POSTIE_WANT_READ) && (in = postie_conn_in(c, &cap)) != NULL) {
        r = xrecv(s, in, cap);
        if (r >= 0) {
            postie_conn_in_done(c, (size_t)r); /* 0: the peer closed */
            moved = 1;
        } else if (r != POSTIE_ERR_WOULD_BLOCK) {
            postie_conn_fail(c, r);
            moved = 1;
        }
    }
    return moved;
}

/* ---- the applications: each repeats one public call until it is done ------------ */

static void report_fail(sess *s, postie_status st, const char *what)
{
    printf("fail %s %d %s %s\n", s->kind == K_POP3 ? "pop3" : "smtp", s->id,
           postie_status_name(st), what);
}

/* POSTIE_DONE when the session is over and everything went well. */
static postie_status pop3_step(sess *s)
{
    postie_pop3 *p = &s->u.pop3;
    postie_status st;
    char buf[4096];
    size_t n;
    int committed;

    for (;;) {
        switch (s->phase) {
        case P_OPEN:
            if ((st = postie_pop3_open(p)) != POSTIE_OK) {
                return st;
            }
            if (s->use_tls && !postie_pop3_tls_active(p)) {
                return POSTIE_ERR_TLS_REQUIRED;
            }
            s->phase = P_LOGIN;
            break;
        case P_LOGIN:
            if ((st = postie_pop3_login(p, o_user, o_pass, POSTIE_POP3_LOGIN_AUTO)) != POSTIE_OK) {
                return st;
            }
            s->phase = P_UIDL_BEGIN;
            break;
        case P_UIDL_BEGIN:
            if ((st = postie_pop3_uidl_begin(p)) != POSTIE_OK) {
                return st;
            }
            s->phase = P_UIDL_NEXT;
            break;
        case P_UIDL_NEXT:
            st = postie_pop3_uidl_next(p, &s->lmsg, s->luid, sizeof s->luid);
            if (st == POSTIE_DONE) {
                s->cur = 0;
                s->phase = P_RETR;
                break;
            }
            if (st != POSTIE_OK) {
                return st;
            }
            if (s->nmsg == MAX_MSGS) {
                return POSTIE_ERR_BUFFER;
            }
            s->msgno[s->nmsg] = s->lmsg;
            memcpy(s->uid[s->nmsg], s->luid, sizeof s->luid);
            s->nmsg++;
            break;
        case P_RETR:
            if (s->cur == s->nmsg) {
                s->phase = P_QUIT;
                break;
            }
            if ((st = postie_pop3_retr_begin(p, s->msgno[s->cur], &s->octets)) != POSTIE_OK) {
                return st;
            }
            postie_sha256_init(&s->sha);
            s->got = 0;
            s->phase = P_READ;
            break;
        case P_READ:
            /* each chunk of the message as it arrives */
            st = postie_pop3_read(p, buf, sizeof buf, &n);
            if (st == POSTIE_OK) {
                postie_sha256_update(&s->sha, buf, n);
                s->got += n;
                break;
            }
            if (st == POSTIE_DONE) {
                unsigned char d[POSTIE_SHA256_DIGEST_LEN];
                char h[2 * POSTIE_SHA256_DIGEST_LEN + 1];
                postie_sha256_final(&s->sha, d);
                hex(d, sizeof d, h);
                printf("pop3 %d %s %lu %s\n", s->id, s->uid[s->cur], s->got, h);
                messages_fetched++;
                bytes_fetched += s->got;
                s->cur++;
                s->phase = P_RETR;
                break;
            }
            return st;
        case P_QUIT:
            if ((st = postie_pop3_quit(p, &committed)) != POSTIE_OK) {
                return st;
            }
            printf("pop3 %d done %lu\n", s->id, s->nmsg);
            s->phase = P_DONE;
            return POSTIE_DONE;
        default:
            return POSTIE_ERR_STATE;
        }
    }
}

/* The message reader of postie_smtp_send(): its position lives in the
 * session, because the call is repeated after each POSTIE_AGAIN. */
static postie_status read_msg(void *user, char *buf, size_t cap, size_t *n)
{
    sess *s = user;
    size_t k = s->msg_len - s->msg_off;

    if (k > cap) {
        k = cap;
    }
    memcpy(buf, s->msg + s->msg_off, k);
    s->msg_off += k;
    *n = k;
    return s->msg_off == s->msg_len ? POSTIE_DONE : POSTIE_OK;
}

static postie_status smtp_step(sess *s)
{
    postie_smtp *m = &s->u.smtp;
    postie_status st;

    for (;;) {
        switch (s->phase) {
        case S_OPEN:
            if ((st = postie_smtp_open(m)) != POSTIE_OK) {
                return st;
            }
            if (s->use_tls && !postie_smtp_tls_active(m)) {
                return POSTIE_ERR_TLS_REQUIRED;
            }
            s->phase = S_AUTH;
            break;
        case S_AUTH:
            st = postie_smtp_auth(m, POSTIE_SASL_PASSWORD_MECHS, o_user, o_pass);
            if (st != POSTIE_OK) {
                return st;
            }
            s->phase = S_SEND;
            break;
        case S_SEND:
            /* MAIL, RCPT, DATA pipelined, the message, the final dot */
            st = postie_smtp_send(m, &s->env, read_msg, s);
            if (st != POSTIE_OK) {
                return st;
            }
            {
                unsigned char d[POSTIE_SHA256_DIGEST_LEN];
                char h[2 * POSTIE_SHA256_DIGEST_LEN + 1];
                postie_sha256_ctx c;
                postie_sha256_init(&c);
                postie_sha256_update(&c, s->msg, s->msg_len);
                postie_sha256_final(&c, d);
                hex(d, sizeof d, h);
                printf("smtp %d %s %d %s\n", s->id, s->msgid, s->rcpt.code, h);
            }
            s->phase = S_QUIT;
            break;
        case S_QUIT:
            (void)postie_smtp_quit(m); /* the message is sent whatever QUIT says */
            s->phase = S_DONE;
            return POSTIE_DONE;
        default:
            return POSTIE_ERR_STATE;
        }
    }
}

/* ---- one session's life ------------------------------------------------------------ */

static void finish(sess *s, postie_status st)
{
    if (st == POSTIE_DONE) {
        if (s->kind == K_POP3) {
            ok_pop3++;
        } else {
            ok_smtp++;
        }
    } else {
        failed++;
        report_fail(s, st,
                    s->kind == K_POP3 ? postie_pop3_reply_text(&s->u.pop3)
                                      : postie_smtp_reply_text(&s->u.smtp));
        if (s->kind == K_POP3) {
            postie_pop3_close(&s->u.pop3);
        } else {
            postie_smtp_close(&s->u.smtp);
        }
    }
#ifdef POSTIE_HAVE_OPENSSL
    if (s->ssl != NULL) {
        (void)SSL_shutdown(s->ssl); /* close_notify, not waited for */
        SSL_free(s->ssl);
        s->ssl = NULL;
    }
#endif
    close(s->fd);
    s->fd = -1;
    free(s->msg);
    s->msg = NULL;
    active--;
}

static postie_status tls_started(sess *s, postie_status st)
{
    return s->kind == K_POP3 ? postie_pop3_tls_started(&s->u.pop3, st)
                             : postie_smtp_tls_started(&s->u.smtp, st);
}

#ifdef POSTIE_HAVE_OPENSSL
/* POSTIE_AGAIN while the handshake waits for the socket, else reported. */
static postie_status handshake(sess *s)
{
    int r = SSL_connect(s->ssl);
    postie_status st = POSTIE_OK;

    if (r != 1) {
        switch (SSL_get_error(s->ssl, r)) {
        case SSL_ERROR_WANT_READ: s->rd_ev = POLLIN; s->wr_ev = 0; return POSTIE_AGAIN;
        case SSL_ERROR_WANT_WRITE: s->wr_ev = POLLOUT; s->rd_ev = 0; return POSTIE_AGAIN;
        default:
            st = SSL_get_verify_result(s->ssl) != X509_V_OK ? POSTIE_ERR_TLS_VERIFY : POSTIE_ERR_TLS;
            ERR_clear_error();
        }
    }
    s->handshaking = 0;
    s->rd_ev = s->wr_ev = 0;
    return tls_started(s, st);
}

static postie_status start_tls(sess *s)
{
    s->ssl = SSL_new(tls_ctx);
    if (s->ssl == NULL || SSL_set_fd(s->ssl, s->fd) != 1 ||
        SSL_set_tlsext_host_name(s->ssl, o_name) != 1 || SSL_set1_host(s->ssl, o_name) != 1) {
        (void)tls_started(s, POSTIE_ERR_TLS);
        return POSTIE_ERR_TLS;
    }
    /* the engine's output queue may move between a blocked write and its retry */
    SSL_set_mode(s->ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
    s->handshaking = 1;
    return POSTIE_AGAIN; /* service() runs the handshake */
}
#else
static postie_status start_tls(sess *s)
{
    (void)tls_started(s, POSTIE_ERR_UNSUPPORTED);
    return POSTIE_ERR_UNSUPPORTED;
}
#endif

/* Runs the session as far as it goes without waiting; then s->rd_ev/wr_ev
 * say what poll() should wait for. */
static void service(sess *s)
{
    for (;;) {
        postie_status st;
        unsigned want;

#ifdef POSTIE_HAVE_OPENSSL
        if (s->handshaking) {
            st = handshake(s);
            if (st == POSTIE_AGAIN) {
                return;
            }
            if (st != POSTIE_OK) {
                finish(s, st); /* the session is dead: the handshake says why */
                return;
            }
        }
#endif
        st = s->kind == K_POP3 ? pop3_step(s) : smtp_step(s);
        if (st == POSTIE_START_TLS) {
            st = start_tls(s);
            if (st != POSTIE_OK && st != POSTIE_AGAIN) {
                finish(s, st);
                return;
            }
            continue;
        }
        if (st != POSTIE_AGAIN) {
            finish(s, st);
            return;
        }
        s->rd_ev = s->wr_ev = 0;
        if (pump(s)) {
            s->deadline = now_ms() + o_timeout;
            continue;
        }
        want = postie_conn_want(s->conn);
        if (!(want & POSTIE_WANT_READ)) {
            s->rd_ev = 0;
        }
        if (!(want & POSTIE_WANT_WRITE)) {
            s->wr_ev = 0;
        }
        if (s->rd_ev == 0 && s->wr_ev == 0) {
            /* AGAIN with nothing to wait for would hang: a bug, said loudly */
            postie_conn_fail(s->conn, POSTIE_ERR_INTERNAL);
            continue;
        }
        return;
    }
}

static void start(sess *s, const struct addrinfo *ai, int port)
{
    struct sockaddr_storage sa;

    memcpy(&sa, ai->ai_addr, ai->ai_addrlen);
    if (sa.ss_family == AF_INET) {
        ((struct sockaddr_in *)&sa)->sin_port = htons((unsigned short)port);
    } else {
        ((struct sockaddr_in6 *)&sa)->sin6_port = htons((unsigned short)port);
    }
    s->fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (s->fd < 0 || fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK) != 0) {
        perror("poll_many: socket");
        exit(2);
    }
    active++;
    if (active > peak_active) {
        peak_active = active;
    }
    s->deadline = now_ms() + o_timeout;
    if (connect(s->fd, (struct sockaddr *)&sa, ai->ai_addrlen) == 0) {
        service(s);
    } else if (errno == EINPROGRESS) {
        s->connecting = 1;
        s->wr_ev = POLLOUT;
    } else {
        finish(s, POSTIE_ERR_CONNECT);
    }
}

static void connected(sess *s)
{
    int err = 0;
    socklen_t len = sizeof err;

    s->connecting = 0;
    s->wr_ev = 0;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        finish(s, POSTIE_ERR_CONNECT);
        return;
    }
    service(s);
}

/* ---- set-up ------------------------------------------------------------------------ */

static void make_message(sess *s, int k)
{
    size_t cap = 32768, len = 0;
    int i, lines = 20 + (k * 37) % 300;
    char *m = malloc(cap);
    time_t t = time(NULL);
    char date[64];

    if (m == NULL) {
        exit(2);
    }
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", gmtime(&t));
    snprintf(s->msgid, sizeof s->msgid, "<poll-many-%s-%d-%ld@postie.test>", o_tag, k, (long)getpid());
    len += (size_t)snprintf(m + len, cap - len,
                            "X-Poll-Many: %s %d\r\nMessage-ID: %s\r\nDate: %s\r\nFrom: <%s>\r\n"
                            "To: <%s>\r\nSubject: poll_many message %d\r\n\r\n",
                            o_tag, k, s->msgid, date, o_from, o_to, k);
    for (i = 0; i < lines && len + 200 < cap; i++) {
        if (i % 7 == 3) {
            /* a line that must be dot-stuffed on the wire and unstuffed by the server */
            len += (size_t)snprintf(m + len, cap - len, ".line %d of message %d starts with a dot\r\n", i, k);
        } else if (i % 11 == 5) {
            len += (size_t)snprintf(m + len, cap - len, ".\r\n");
        } else {
            len += (size_t)snprintf(m + len, cap - len,
                                    "line %d of message %d: the quick brown fox jumps over the lazy dog\r\n",
                                    i, k);
        }
    }
    s->msg = m;
    s->msg_len = len;
    s->rcpt.addr = o_to;
    s->env.from = o_from;
    s->env.rcpts = &s->rcpt;
    s->env.nrcpts = 1;
    s->env.size = len; /* RFC 1870 size: CRLF line ends, no stuffing */
    s->env.on_refused = POSTIE_SMTP_REFUSED_CONTINUE;
}

static void init_session(sess *s, int kind, int k)
{
    int tls = o_tls_every > 0 && k % o_tls_every == 0;

    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->id = k;
    s->fd = -1;
    s->use_tls = tls;
    if (kind == K_POP3) {
        postie_pop3 *p = &s->u.pop3;
        postie_pop3_init_nb(p);
        (void)postie_pop3_set_tls(p, tls ? POSTIE_TLS_REQUIRED : POSTIE_TLS_OFF, tls ? o_name : NULL);
        /* test server: USER/PASS may cross the plain sessions */
        postie_pop3_allow_plaintext_credentials(p, 1);
        s->conn = postie_pop3_conn(p);
        s->phase = P_OPEN;
    } else {
        postie_smtp *m = &s->u.smtp;
        postie_smtp_init_nb(m);
        (void)postie_smtp_set_tls(m, tls ? POSTIE_TLS_REQUIRED : POSTIE_TLS_OFF, tls ? o_name : NULL);
        (void)postie_smtp_set_domain(m, "poll-many.postie.test");
        postie_smtp_allow_plaintext_credentials(m, 1);
        s->conn = postie_smtp_conn(m);
        s->phase = S_OPEN;
        make_message(s, k);
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: POLL_MANY_PASS=... poll_many --user U [--pop3 N --pop3-port P] "
                    "[--smtp N --smtp-port P --from A --to A] [--tls-every K --ca FILE --name N] "
                    "[--host ADDR] [--tag T] [--timeout MS]\n");
    exit(2);
}

static long rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss; /* KiB on Linux and the BSDs */
}

int main(int argc, char **argv)
{
    struct addrinfo hints, *ai = NULL;
    struct pollfd *pfd;
    int *who, i;
    long long t0, t1;
    long rss0, rss1;

    for (i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) {
            usage();
        }
        if (!strcmp(a, "--host")) o_host = v;
        else if (!strcmp(a, "--pop3-port")) o_pop3_port = v;
        else if (!strcmp(a, "--smtp-port")) o_smtp_port = v;
        else if (!strcmp(a, "--pop3")) o_pop3 = atoi(v);
        else if (!strcmp(a, "--smtp")) o_smtp = atoi(v);
        else if (!strcmp(a, "--user")) o_user = v;
        else if (!strcmp(a, "--from")) o_from = v;
        else if (!strcmp(a, "--to")) o_to = v;
        else if (!strcmp(a, "--tls-every")) o_tls_every = atoi(v);
        else if (!strcmp(a, "--ca")) o_ca = v;
        else if (!strcmp(a, "--name")) o_name = v;
        else if (!strcmp(a, "--tag")) o_tag = v;
        else if (!strcmp(a, "--timeout")) o_timeout = (unsigned)atoi(v);
        else usage();
    }
    o_pass = getenv("POLL_MANY_PASS");
    signal(SIGPIPE, SIG_IGN); /* a peer that went away is an error status, not a signal */
    if (o_user == NULL || o_pass == NULL || o_pop3 < 0 || o_smtp < 0 ||
        (o_pop3 > 0 && o_pop3_port == NULL) ||
        (o_smtp > 0 && (o_smtp_port == NULL || o_from == NULL || o_to == NULL))) {
        usage();
    }
    if (o_tls_every > 0) {
#ifdef POSTIE_HAVE_OPENSSL
        tls_ctx = SSL_CTX_new(TLS_client_method());
        if (tls_ctx == NULL || o_ca == NULL ||
            SSL_CTX_load_verify_locations(tls_ctx, o_ca, NULL) != 1 ||
            SSL_CTX_set_min_proto_version(tls_ctx, TLS1_2_VERSION) != 1) {
            fprintf(stderr, "poll_many: TLS set-up failed (--ca FILE?)\n");
            return 2;
        }
        SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_PEER, NULL);
#else
        fprintf(stderr, "poll_many: built without OpenSSL: --tls-every is not available\n");
        return 2;
#endif
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if (getaddrinfo(o_host, "1", &hints, &ai) != 0) {
        fprintf(stderr, "poll_many: cannot resolve %s\n", o_host);
        return 2;
    }

    nsess = o_pop3 + o_smtp;
    S = calloc((size_t)nsess + 1, sizeof *S);
    pfd = calloc((size_t)nsess + 1, sizeof *pfd);
    who = calloc((size_t)nsess + 1, sizeof *who);
    if (S == NULL || pfd == NULL || who == NULL) {
        return 2;
    }
    rss0 = rss_kib();
    t0 = now_ms();
    /* every connection opened at once, the two kinds interleaved */
    {
        int k, j = 0;
        for (k = 0; k < o_pop3 || k < o_smtp; k++) {
            if (k < o_pop3) {
                init_session(&S[j++], K_POP3, k);
            }
            if (k < o_smtp) {
                init_session(&S[j++], K_SMTP, k);
            }
        }
    }
    for (i = 0; i < nsess; i++) {
        start(&S[i], ai, atoi(S[i].kind == K_POP3 ? o_pop3_port : o_smtp_port));
    }

    while (active > 0) {
        int n = 0, r, timeout;
        long long now = now_ms(), next = now + 60000;

        for (i = 0; i < nsess; i++) {
            sess *s = &S[i];
            if (s->fd < 0) {
                continue;
            }
            if (s->deadline <= now) {
                /* the caller's clock: the session's next call says TIMEOUT */
                if (s->connecting) {
                    finish(s, POSTIE_ERR_CONNECT);
                    continue;
                }
#ifdef POSTIE_HAVE_OPENSSL
                if (s->handshaking) {
                    s->handshaking = 0;
                    (void)tls_started(s, POSTIE_ERR_TIMEOUT);
                    finish(s, POSTIE_ERR_TIMEOUT);
                    continue;
                }
#endif
                postie_conn_fail(s->conn, POSTIE_ERR_TIMEOUT);
                service(s);
                continue;
            }
            if (s->deadline < next) {
                next = s->deadline;
            }
            pfd[n].fd = s->fd;
            pfd[n].events = (short)(s->rd_ev | s->wr_ev);
            pfd[n].revents = 0;
            who[n++] = i;
        }
        if (n == 0) {
            continue;
        }
        timeout = (int)(next - now);
        r = poll(pfd, (nfds_t)n, timeout < 0 ? 0 : timeout);
        if (r < 0 && errno != EINTR) {
            perror("poll_many: poll");
            return 2;
        }
        for (i = 0; r > 0 && i < n; i++) {
            sess *s = &S[who[i]];
            if (pfd[i].revents == 0 || s->fd < 0) {
                continue;
            }
            if (s->connecting) {
                connected(s);
            } else {
                service(s); /* POLLHUP/POLLERR too: the receive says what happened */
            }
        }
    }
    t1 = now_ms();
    rss1 = rss_kib();

    printf("# %d POP3 sessions ok (%lu messages, %llu bytes), %d SMTP sessions ok, %d failed\n",
           ok_pop3, messages_fetched, bytes_fetched, ok_smtp, failed);
    printf("# time %lld ms, peak sockets %d, one thread\n", t1 - t0, peak_active);
    printf("# memory: sizeof postie_pop3 %zu, postie_smtp %zu, session record %zu bytes; "
           "peak RSS grew %ld KiB = %ld bytes per session (TLS state included)\n",
           sizeof(postie_pop3), sizeof(postie_smtp), sizeof(sess), rss1 - rss0,
           nsess > 0 ? (rss1 - rss0) * 1024 / nsess : 0);
    freeaddrinfo(ai);
    free(S);
    free(pfd);
    free(who);
#ifdef POSTIE_HAVE_OPENSSL
    SSL_CTX_free(tls_ctx);
#endif
    return failed == 0 && ok_pop3 == o_pop3 && ok_smtp == o_smtp ? 0 : 1;
}
