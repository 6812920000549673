/*
 * Host test of ports/lwip (postie/lwip_raw.h) with lwIP itself: lwIP 2.1
 * from Debian's source package built for the host (NO_SYS, the loopback
 * interface), a POP3 server written here on lwIP's raw API in the same
 * stack, and a Postie POP3 session driven by the port, exactly as the
 * firmware drives it. Postie's receive buffer is 64 bytes
 * (host/postie_config.h) and lwIP's segments 536 bytes, so the port must
 * keep what the session cannot take and offer it again.
 *
 * Cases: fetch two messages with the server writing in pieces of 1, 5, 64,
 * 536 and 3000 bytes; the server closing (FIN) and resetting (RST) the
 * connection mid-RETR; a server that goes silent (the session's timeout);
 * nothing listening (connect refused); STLS asked for with no TLS arranged.
 * Then over STLS, with the mbed TLS transport on the client side and an mbed
 * TLS server in the test (Debian's libmbedtls, the certificates of
 * tests/tls/gen-certs.sh): the fetch with TLS records of 1, 100 and 3000
 * bytes, a CA that did not sign the server's certificate, and the server
 * closing right after its go-ahead (during the handshake).
 * After each: no pbuf left allocated. Built and run by `make -C firmware
 * host-test` (the firmware stage of make test). Prints TAP-like lines.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mbedtls/ctr_drbg.h"
#include "mbedtls/entropy.h"
#include "mbedtls/pk.h"
#include "mbedtls/ssl.h"
#include "mbedtls/x509_crt.h"

#include "lwip/init.h"
#include "lwip/memp.h"
#include "lwip/netif.h"
#include "lwip/stats.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "postie/lwip_raw.h"
#include "postie/pop3.h"

static int failures, checks;
#define CHECK(cond, ...) do { checks++; if (cond) { printf("ok - "); } else { failures++; printf("not ok - "); } \
        printf(__VA_ARGS__); printf("\n"); } while (0)

unsigned test_rand(void) { return (unsigned)rand(); }

u32_t sys_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (u32_t)(ts.tv_sec * 1000u + ts.tv_nsec / 1000000u);
}

static void pump(void *ctx)
{
    (void)ctx;
    netif_poll_all();
    sys_check_timeouts();
}

/* ---- the server: a script on lwIP's raw API --------------------------------- */

enum { END_NONE, END_CLOSE, END_RST, END_SILENT };

typedef struct srv_step { const char *expect, *reply; } srv_step;

typedef struct server {
    struct tcp_pcb *listener, *pcb;
    const srv_step *script;
    size_t nsteps, next;
    char in[1024];
    size_t in_len;
    char out[65536];
    size_t out_len, out_pos, total_out;
    size_t chunk, cut_at;
    int end_action, ended;
    char got[2048];          /* every command line received, in order */
    int tls;                 /* 0 plain, 1 after STLS: handshaking, 2 TLS */
    struct pbuf *rx;         /* TLS records mbed TLS has not read yet */
    int rx_closed;
    mbedtls_ssl_context ssl;
} server;

#ifndef TEST_CERT_DIR
#error "TEST_CERT_DIR: the folder tests/tls/gen-certs.sh filled"
#endif
static mbedtls_ssl_config srv_conf;
static mbedtls_x509_crt srv_cert;
static mbedtls_pk_context srv_key;
static mbedtls_entropy_context srv_entropy;
static mbedtls_ctr_drbg_context srv_drbg;

static void srv_tls_pump(struct server *s);

static server S;

static void srv_end(server *s)
{
    s->ended = 1;
    if (s->rx != NULL) {
        pbuf_free(s->rx);
        s->rx = NULL;
    }
    if (s->pcb == NULL) {
        return;
    }
    tcp_arg(s->pcb, NULL);
    tcp_recv(s->pcb, NULL);
    tcp_sent(s->pcb, NULL);
    tcp_err(s->pcb, NULL);
    if (s->end_action == END_RST) {
        tcp_abort(s->pcb);
    } else if (tcp_close(s->pcb) != ERR_OK) {
        tcp_abort(s->pcb);
    }
    s->pcb = NULL;
}

/* Writes queued reply bytes, chunk by chunk, as the window allows. */
static void srv_push(server *s)
{
    while (s->pcb != NULL && !s->ended && s->out_pos < s->out_len) {
        size_t n = s->out_len - s->out_pos;
        if (n > s->chunk) {
            n = s->chunk;
        }
        if (s->cut_at > 0 && s->total_out + n >= s->cut_at) {
            n = s->cut_at - s->total_out;
        }
        if (s->tls != 2 && n > tcp_sndbuf(s->pcb)) {
            n = tcp_sndbuf(s->pcb); /* a piece larger than the window: what fits */
        }
        if (n == 0 || tcp_sndqueuelen(s->pcb) + 2 > TCP_SND_QUEUELEN) {
            break; /* after the next sent callback */
        }
        if (s->tls == 2 && n > 0) {
            /* one record of n bytes (the same n again after WANT_WRITE) */
            int r = mbedtls_ssl_write(&s->ssl, (const unsigned char *)s->out + s->out_pos, n);
            if (r == MBEDTLS_ERR_SSL_WANT_WRITE) {
                break;
            }
            if (r <= 0) {
                srv_end(s);
                return;
            }
            n = (size_t)r;
        } else if (n > 0) {
            if (tcp_write(s->pcb, s->out + s->out_pos, (u16_t)n, TCP_WRITE_FLAG_COPY) != ERR_OK) {
                break;
            }
            tcp_output(s->pcb);
        }
        s->out_pos += n;
        s->total_out += n;
        if (s->cut_at > 0 && s->total_out >= s->cut_at) {
            if (s->end_action == END_SILENT) {
                s->ended = 1; /* sends nothing more, closes nothing */
            } else {
                srv_end(s);
            }
            return;
        }
    }
}

static void srv_reply(server *s, const char *text)
{
    size_t n = strlen(text);
    if (s->out_len + n <= sizeof s->out) {
        memcpy(s->out + s->out_len, text, n);
        s->out_len += n;
    }
    srv_push(s);
}

static void srv_tls_begin(server *s);

/* Answers each whole command line of s->in from the script. */
static void srv_lines(server *s)
{
    char *eol;

    while (!s->ended && s->tls != 1 && (eol = memchr(s->in, '\n', s->in_len)) != NULL) {
        size_t n = (size_t)(eol - s->in) + 1;
        size_t g = strlen(s->got);
        if (g + n < sizeof s->got) {
            memcpy(s->got + g, s->in, n);
            s->got[g + n] = '\0';
        }
        if (s->next < s->nsteps && strlen(s->script[s->next].expect) == n &&
            memcmp(s->script[s->next].expect, s->in, n) == 0) {
            srv_reply(s, s->script[s->next].reply);
            s->next++;
            if (n == 6 && memcmp(s->in, "STLS\r\n", 6) == 0 && !s->ended) {
                srv_tls_begin(s); /* the next bytes are the ClientHello */
            }
        } else {
            srv_reply(s, "-ERR not in the script\r\n");
        }
        memmove(s->in, s->in + n, s->in_len - n);
        s->in_len -= n;
    }
}

static err_t srv_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    server *s = arg;

    (void)err;
    if (p == NULL) {
        if (s->tls) {
            s->rx_closed = 1;
            srv_tls_pump(s);
        }
        srv_end(s);
        return ERR_OK;
    }
    tcp_recved(pcb, p->tot_len);
    if (s->tls) {
        if (s->rx == NULL) {
            s->rx = p;
        } else {
            pbuf_cat(s->rx, p);
        }
        srv_tls_pump(s);
        return ERR_OK;
    }
    if (s->in_len + p->tot_len < sizeof s->in) {
        pbuf_copy_partial(p, s->in + s->in_len, p->tot_len, 0);
        s->in_len += p->tot_len;
    }
    pbuf_free(p);
    srv_lines(s);
    return ERR_OK;
}

/* ---- the server's TLS: mbed TLS over the same pcb, never waiting -------- */

static int srv_bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    server *s = ctx;
    u16_t n;
    if (s->pcb == NULL) {
        return MBEDTLS_ERR_SSL_INTERNAL_ERROR; /* the connection is gone */
    }
    n = (u16_t)(len < tcp_sndbuf(s->pcb) ? len : tcp_sndbuf(s->pcb));
    if (n == 0 || tcp_write(s->pcb, buf, n, TCP_WRITE_FLAG_COPY) != ERR_OK) {
        return MBEDTLS_ERR_SSL_WANT_WRITE;
    }
    tcp_output(s->pcb);
    return n;
}

static int srv_bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    server *s = ctx;
    u16_t n;
    if (s->rx == NULL) {
        return s->rx_closed ? 0 : MBEDTLS_ERR_SSL_WANT_READ;
    }
    n = (u16_t)(len < s->rx->tot_len ? len : s->rx->tot_len);
    n = pbuf_copy_partial(s->rx, buf, n, 0);
    s->rx = pbuf_free_header(s->rx, n);
    return n;
}

static void srv_tls_begin(server *s)
{
    mbedtls_ssl_init(&s->ssl);
    if (mbedtls_ssl_setup(&s->ssl, &srv_conf) != 0) {
        srv_end(s);
        return;
    }
    mbedtls_ssl_set_bio(&s->ssl, s, srv_bio_send, srv_bio_recv, NULL);
    s->tls = 1;
}

/* Moves the handshake on, then reads what came over TLS. */
static void srv_tls_pump(server *s)
{
    if (s->ended) {
        return;
    }
    if (s->tls == 1) {
        int r = mbedtls_ssl_handshake(&s->ssl);
        if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) {
            return;
        }
        if (r != 0) {
            srv_end(s);
            return;
        }
        s->tls = 2;
    }
    for (;;) {
        unsigned char buf[256];
        int r = mbedtls_ssl_read(&s->ssl, buf, sizeof buf);
        if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) {
            break;
        }
        if (r <= 0) {
            srv_end(s);
            return;
        }
        if (s->in_len + (size_t)r < sizeof s->in) {
            memcpy(s->in + s->in_len, buf, (size_t)r);
            s->in_len += (size_t)r;
        }
    }
    srv_lines(s);
    srv_push(s);
}

static void srv_tls_init(void)
{
    mbedtls_ssl_config_init(&srv_conf);
    mbedtls_x509_crt_init(&srv_cert);
    mbedtls_pk_init(&srv_key);
    mbedtls_entropy_init(&srv_entropy);
    mbedtls_ctr_drbg_init(&srv_drbg);
    if (mbedtls_ctr_drbg_seed(&srv_drbg, mbedtls_entropy_func, &srv_entropy, NULL, 0) != 0 ||
        mbedtls_x509_crt_parse_file(&srv_cert, TEST_CERT_DIR "/server.pem") != 0 ||
        mbedtls_pk_parse_keyfile(&srv_key, TEST_CERT_DIR "/server.key", NULL) != 0 ||
        mbedtls_ssl_config_defaults(&srv_conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT) != 0 ||
        mbedtls_ssl_conf_own_cert(&srv_conf, &srv_cert, &srv_key) != 0) {
        fprintf(stderr, "the test server's TLS set-up failed (certificates in %s?)\n", TEST_CERT_DIR);
        exit(2);
    }
    mbedtls_ssl_conf_rng(&srv_conf, mbedtls_ctr_drbg_random, &srv_drbg);
}

static err_t srv_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    server *s = arg;
    (void)pcb;
    (void)len;
    if (s->tls == 1) {
        srv_tls_pump(s); /* the handshake's records that did not fit */
    } else {
        srv_push(s);
    }
    return ERR_OK;
}

static void srv_err(void *arg, err_t err)
{
    (void)err;
    ((server *)arg)->pcb = NULL;
}

static err_t srv_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    server *s = arg;
    (void)err;
    if (s->pcb != NULL) {
        return ERR_MEM;
    }
    s->pcb = pcb;
    tcp_arg(pcb, s);
    tcp_recv(pcb, srv_recv);
    tcp_sent(pcb, srv_sent);
    tcp_err(pcb, srv_err);
    srv_reply(s, s->script[0].reply); /* the greeting */
    s->next = 1;
    return ERR_OK;
}

/* Each case listens on a port of its own: a server that closed first
 * leaves its pcb in TIME_WAIT on the port it used. */
static u16_t srv_port = 1100;

static void srv_start(const srv_step *script, size_t n, size_t chunk, size_t cut_at, int end)
{
    srv_port++;
    memset(&S, 0, sizeof S);
    S.script = script;
    S.nsteps = n;
    S.chunk = chunk;
    S.cut_at = cut_at;
    S.end_action = end;
    S.listener = tcp_new();
    tcp_bind(S.listener, IP4_ADDR_ANY, srv_port);
    S.listener = tcp_listen(S.listener);
    tcp_arg(S.listener, &S);
    tcp_accept(S.listener, srv_accept);
}

static void srv_stop(void)
{
    if (S.rx != NULL) {
        pbuf_free(S.rx);
        S.rx = NULL;
    }
    if (S.tls) {
        mbedtls_ssl_free(&S.ssl);
        S.tls = 0;
    }
    if (S.pcb != NULL) {
        tcp_arg(S.pcb, NULL);
        tcp_recv(S.pcb, NULL);
        tcp_sent(S.pcb, NULL);
        tcp_err(S.pcb, NULL);
        tcp_abort(S.pcb);
        S.pcb = NULL;
    }
    if (S.listener != NULL) {
        tcp_close(S.listener);
        S.listener = NULL;
    }
}

/* ---- the client: what the firmware's fetch does ----------------------------- */

typedef struct app {
    postie_pop3 p;
    int phase;
    unsigned long count, msg;
    char body[3][16384];
    size_t body_len[3];
} app;

static app A;

static postie_status step(void *user)
{
    app *a = user;
    postie_status st;
    for (;;) {
        switch (a->phase) {
        case 0: st = postie_pop3_open(&a->p); break;
        case 1: st = postie_pop3_login(&a->p, "u", "p", POSTIE_POP3_LOGIN_USER); break;
        case 2: st = postie_pop3_stat(&a->p, &a->count, NULL); break;
        case 3:
            if (a->msg >= a->count || a->msg >= 3) {
                a->phase = 5;
                continue;
            }
            st = postie_pop3_retr_begin(&a->p, a->msg + 1, NULL);
            if (st == POSTIE_OK) {
                a->msg++;
            }
            break;
        case 4: {
            char buf[100];
            size_t n = 0;
            st = postie_pop3_read(&a->p, buf, sizeof buf, &n);
            if (st == POSTIE_OK) {
                size_t k = a->msg - 1;
                if (a->body_len[k] + n <= sizeof a->body[k]) {
                    memcpy(a->body[k] + a->body_len[k], buf, n);
                    a->body_len[k] += n;
                }
                continue;
            }
            if (st == POSTIE_DONE) {
                a->phase = 3;
                continue;
            }
            return st;
        }
        case 5:
            st = postie_pop3_quit(&a->p, NULL);
            return st == POSTIE_OK ? POSTIE_DONE : st;
        default:
            return POSTIE_ERR_STATE;
        }
        if (st != POSTIE_OK) {
            return st;
        }
        a->phase = a->phase == 3 ? 4 : a->phase + 1;
    }
}

static postie_status tls_started(void *user, postie_status r)
{
    return postie_pop3_tls_started(&((app *)user)->p, r);
}

static postie_lwip C;
static postie_mbedtls T;
static const char *client_ca;   /* PEM file to trust; NULL: no TLS arranged */

static unsigned long clock_ms(void *ctx)
{
    (void)ctx;
    return sys_now();
}

static unsigned char *slurp(const char *path, size_t *len)
{
    static unsigned char buf[8192];
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    *len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[*len] = '\0';
    return buf;
}

/* Runs one session against port; returns its status, *ms its duration. */
static postie_status run(u16_t port, int policy, unsigned timeout_ms, unsigned *ms)
{
    postie_rawcb_app ra = {step, tls_started, &A};
    ip_addr_t ip;
    postie_status st;
    u32_t t0 = sys_now();

    memset(&A, 0, sizeof A);
    postie_pop3_init_nb(&A.p);
    postie_pop3_set_tls(&A.p, (postie_tls_policy)policy, "localhost");
    postie_pop3_allow_plaintext_credentials(&A.p, 1);
    IP_ADDR4(&ip, 127, 0, 0, 1);
    postie_lwip_init(&C);
    if (client_ca != NULL) {
        postie_mbedtls_options o;
        postie_mbedtls_options_init(&o);
        o.ca = slurp(client_ca, &o.ca_len);
        o.clock = clock_ms;
        o.handshake_timeout_ms = timeout_ms;
        if (postie_lwip_use_tls(&C, &T, &o, "localhost") != POSTIE_OK) {
            fprintf(stderr, "use_tls: %s\n", postie_mbedtls_error_text(&T));
            exit(2);
        }
    }
    st = postie_lwip_connect(&C, &ip, port, postie_pop3_conn(&A.p), &ra, timeout_ms);
    while (st == POSTIE_AGAIN && sys_now() - t0 < 30000) {
        pump(NULL);
        st = postie_lwip_service(&C);
    }
    postie_lwip_close(&C);
    *ms = sys_now() - t0;
    return st;
}

/* Lets lwIP finish closing, then says whether every pbuf came back. */
static int pbufs_all_free(void)
{
    u32_t t0 = sys_now();
    while (sys_now() - t0 < 300) {
        pump(NULL);
    }
    return lwip_stats.memp[MEMP_PBUF_POOL]->used == 0 && lwip_stats.memp[MEMP_PBUF]->used == 0;
}

static char MSG1[] = "Subject: one\r\n\r\n.leading dot\r\nend\r\n";
static char MSG2[9000], WIRE2[10000], RETR2[10100];

static void make_msg2(void)
{
    size_t n = 0, w = 0, i;
    n += (size_t)snprintf(MSG2, sizeof MSG2, "Subject: two\r\n\r\n");
    for (i = 0; n < sizeof MSG2 - 200; i++) {
        n += (size_t)snprintf(MSG2 + n, sizeof MSG2 - n, "%sline %zu of the second message\r\n",
                              i % 3 == 0 ? "." : "", i);
    }
    for (i = 0; i < n; i++) {
        if (MSG2[i] == '.' && (i == 0 || MSG2[i - 1] == '\n')) {
            WIRE2[w++] = '.';
        }
        WIRE2[w++] = MSG2[i];
    }
    snprintf(RETR2, sizeof RETR2, "+OK\r\n%s.\r\n", WIRE2);
}

int main(void)
{
    static const size_t chunks[] = {1, 5, 64, 536, 3000};
    srv_step script[9];
    unsigned ms;
    size_t i;
    postie_status st;

    lwip_init();
    netif_set_default(netif_list); /* the loopback interface */
    make_msg2();
    script[0] = (srv_step){"", "+OK ready\r\n"};
    script[1] = (srv_step){"CAPA\r\n", "+OK\r\nUSER\r\n.\r\n"};
    script[2] = (srv_step){"USER u\r\n", "+OK\r\n"};
    script[3] = (srv_step){"PASS p\r\n", "+OK in\r\n"};
    script[4] = (srv_step){"STAT\r\n", "+OK 2 9000\r\n"};
    script[5] = (srv_step){"RETR 1\r\n", "+OK\r\nSubject: one\r\n\r\n..leading dot\r\nend\r\n.\r\n"};
    script[6] = (srv_step){"RETR 2\r\n", RETR2};
    script[7] = (srv_step){"QUIT\r\n", "+OK bye\r\n"};

    for (i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        srv_start(script, 8, chunks[i], 0, END_NONE);
        st = run(srv_port, POSTIE_TLS_OFF, 5000, &ms);
        CHECK(st == POSTIE_DONE && S.next == 8, "server writes in pieces of %zu: fetch ends DONE (%s), whole script", chunks[i],
              postie_status_name(st));
        CHECK(A.body_len[0] == strlen(MSG1) && memcmp(A.body[0], MSG1, strlen(MSG1)) == 0 &&
              A.body_len[1] == strlen(MSG2) && memcmp(A.body[1], MSG2, strlen(MSG2)) == 0,
              "pieces of %zu: both messages byte for byte (dots unstuffed)", chunks[i]);
        srv_stop();
        CHECK(pbufs_all_free(), "pieces of %zu: every pbuf freed", chunks[i]);
    }

    srv_start(script, 8, 100, 400 + strlen(RETR2) / 2, END_CLOSE);
    st = run(srv_port, POSTIE_TLS_OFF, 5000, &ms);
    CHECK(st == POSTIE_ERR_CLOSED, "server closes mid-RETR: ERR_CLOSED (%s)", postie_status_name(st));
    srv_stop();
    CHECK(pbufs_all_free(), "closed mid-RETR: every pbuf freed");

    srv_start(script, 8, 100, 400 + strlen(RETR2) / 2, END_RST);
    st = run(srv_port, POSTIE_TLS_OFF, 5000, &ms);
    CHECK(st == POSTIE_ERR_CLOSED, "server resets mid-RETR: ERR_CLOSED (%s)", postie_status_name(st));
    srv_stop();
    CHECK(pbufs_all_free(), "reset mid-RETR: every pbuf freed");

    srv_start(script, 8, 100, 400 + strlen(RETR2) / 2, END_SILENT);
    st = run(srv_port, POSTIE_TLS_OFF, 1500, &ms);
    CHECK(st == POSTIE_ERR_TIMEOUT && ms >= 1000 && ms < 5000,
          "server goes silent mid-RETR, 1.5 s limit: ERR_TIMEOUT after %u ms (%s)", ms, postie_status_name(st));
    srv_stop();
    CHECK(pbufs_all_free(), "silent server: every pbuf freed");

    st = run(1099, POSTIE_TLS_OFF, 5000, &ms);
    CHECK(st == POSTIE_ERR_CONNECT && ms < 3000, "nothing listening: ERR_CONNECT after %u ms (%s)", ms,
          postie_status_name(st));
    CHECK(pbufs_all_free(), "refused: every pbuf freed");

    script[1] = (srv_step){"CAPA\r\n", "+OK\r\nSTLS\r\nUSER\r\n.\r\n"};
    script[2] = (srv_step){"STLS\r\n", "+OK go ahead\r\n"};
    srv_start(script, 3, 536, 0, END_NONE);
    st = run(srv_port, POSTIE_TLS_REQUIRED, 5000, &ms);
    CHECK(st == POSTIE_ERR_UNSUPPORTED && strstr(S.got, "USER") == NULL,
          "STLS with no TLS arranged: %s, and no USER sent", postie_status_name(st));
    srv_stop();
    CHECK(pbufs_all_free(), "no TLS: every pbuf freed");

    /* ---- over STLS: mbed TLS on both sides ---- */
    srv_tls_init();
    script[1] = (srv_step){"CAPA\r\n", "+OK\r\nSTLS\r\nUSER\r\n.\r\n"};
    script[2] = (srv_step){"STLS\r\n", "+OK begin TLS\r\n"};
    script[3] = (srv_step){"CAPA\r\n", "+OK\r\nUSER\r\n.\r\n"};
    script[4] = (srv_step){"USER u\r\n", "+OK\r\n"};
    script[5] = (srv_step){"PASS p\r\n", "+OK in\r\n"};
    script[6] = (srv_step){"STAT\r\n", "+OK 2 9000\r\n"};
    script[7] = (srv_step){"RETR 1\r\n", "+OK\r\nSubject: one\r\n\r\n..leading dot\r\nend\r\n.\r\n"};
    script[8] = (srv_step){"RETR 2\r\n", RETR2};
    {
        static srv_step tls_script[10];
        static const size_t records[] = {1, 100, 3000};
        memcpy(tls_script, script, sizeof script);
        tls_script[9] = (srv_step){"QUIT\r\n", "+OK bye\r\n"};
        client_ca = TEST_CERT_DIR "/ca.pem";
        for (i = 0; i < sizeof records / sizeof records[0]; i++) {
            srv_start(tls_script, 10, records[i], 0, END_NONE);
            st = run(srv_port, POSTIE_TLS_REQUIRED, 5000, &ms);
            CHECK(st == POSTIE_DONE && S.next == 10 && S.tls == 2 && C.hs_ms > 0,
                  "STLS, TLS records of %zu bytes: fetch ends DONE (%s), whole script, handshake %u ms",
                  records[i], postie_status_name(st), (unsigned)C.hs_ms);
            CHECK(A.body_len[0] == strlen(MSG1) && memcmp(A.body[0], MSG1, strlen(MSG1)) == 0 &&
                  A.body_len[1] == strlen(MSG2) && memcmp(A.body[1], MSG2, strlen(MSG2)) == 0,
                  "STLS, records of %zu: both messages byte for byte", records[i]);
            srv_stop();
            CHECK(pbufs_all_free(), "STLS, records of %zu: every pbuf freed", records[i]);
        }

        client_ca = TEST_CERT_DIR "/other-ca.pem";
        srv_start(tls_script, 10, 536, 0, END_NONE);
        st = run(srv_port, POSTIE_TLS_REQUIRED, 5000, &ms);
        CHECK(st == POSTIE_ERR_TLS_VERIFY && strstr(S.got, "USER") == NULL &&
              strstr(postie_mbedtls_error_text(&T), "unknown CA") != NULL,
              "a CA that did not sign the server's certificate: %s (\"%s\"), no USER sent",
              postie_status_name(st), postie_mbedtls_error_text(&T));
        srv_stop();
        CHECK(pbufs_all_free(), "refused certificate: every pbuf freed");

        client_ca = TEST_CERT_DIR "/ca.pem";
        srv_start(tls_script, 10, 536, 0, END_NONE);
        S.cut_at = strlen("+OK ready\r\n+OK\r\nSTLS\r\nUSER\r\n.\r\n+OK begin TLS\r\n");
        S.end_action = END_CLOSE;
        st = run(srv_port, POSTIE_TLS_REQUIRED, 5000, &ms);
        CHECK(st == POSTIE_ERR_CLOSED && ms < 3000 && strstr(S.got, "USER") == NULL,
              "the server closes right after its go-ahead: %s after %u ms (\"%s\")",
              postie_status_name(st), ms, postie_mbedtls_error_text(&T));
        srv_stop();
        CHECK(pbufs_all_free(), "closed in the handshake: every pbuf freed");
    }

    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures == 0 ? 0 : 1;
}
