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
 * After each: no pbuf left allocated. Built and run by `make -C firmware
 * host-test` (the firmware stage of make test). Prints TAP-like lines.
 * TLS through the port is exercised by the firmware in QEMU
 * (scripts/firmware-test.sh); here postie_mbedtls_* are never reached and
 * are defined to fail loudly if they were.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* ---- never reached: no TLS is arranged in these cases ---------------------- */
#define NOT_HERE(name) do { fprintf(stderr, "%s called\n", name); abort(); } while (0)
postie_status postie_mbedtls_init(postie_mbedtls *t, const postie_transport *i, const postie_mbedtls_options *o)
{ (void)t; (void)i; (void)o; NOT_HERE("postie_mbedtls_init"); }
postie_status postie_mbedtls_start_nb(postie_mbedtls *t, const char *n) { (void)t; (void)n; NOT_HERE("postie_mbedtls_start_nb"); }
long postie_mbedtls_send(postie_mbedtls *t, const void *b, size_t l, unsigned ms)
{ (void)t; (void)b; (void)l; (void)ms; NOT_HERE("postie_mbedtls_send"); }
long postie_mbedtls_recv(postie_mbedtls *t, void *b, size_t l, unsigned ms)
{ (void)t; (void)b; (void)l; (void)ms; NOT_HERE("postie_mbedtls_recv"); }
void postie_mbedtls_close(postie_mbedtls *t) { (void)t; NOT_HERE("postie_mbedtls_close"); }

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
} server;

static server S;

static void srv_end(server *s)
{
    s->ended = 1;
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
        if (n > tcp_sndbuf(s->pcb)) {
            n = tcp_sndbuf(s->pcb); /* a piece larger than the window: what fits */
        }
        if (n == 0 || tcp_sndqueuelen(s->pcb) + 2 > TCP_SND_QUEUELEN) {
            break; /* after the next sent callback */
        }
        if (n > 0) {
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

static err_t srv_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    server *s = arg;
    char *eol;

    (void)err;
    if (p == NULL) {
        srv_end(s);
        return ERR_OK;
    }
    if (s->in_len + p->tot_len < sizeof s->in) {
        pbuf_copy_partial(p, s->in + s->in_len, p->tot_len, 0);
        s->in_len += p->tot_len;
    }
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    while (!s->ended && (eol = memchr(s->in, '\n', s->in_len)) != NULL) {
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
        } else {
            srv_reply(s, "-ERR not in the script\r\n");
        }
        memmove(s->in, s->in + n, s->in_len - n);
        s->in_len -= n;
    }
    return ERR_OK;
}

static err_t srv_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    (void)pcb;
    (void)len;
    srv_push(arg);
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

    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures == 0 ? 0 : 1;
}
