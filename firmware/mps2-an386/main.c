/*
 * The mail task of the mps2-an386 firmware (NO_SYS: main() is the only
 * task). It brings up lwIP on the LAN9118 with a static address in
 * 192.0.2.0/24 and runs the scenarios named on the semihosting command line
 * (default: all), one Postie session each, driven by ports/lwip:
 *
 *   fetch    POP3 to 192.0.2.100:110, STLS (test CA, name "localhost"),
 *            USER/PASS, STAT, RETR every message into the host file
 *            fetched-N.eml (semihosting), QUIT without DELE
 *   send     SMTP to 192.0.2.100:25, STARTTLS, AUTH, a composed message with
 *            an attachment (its bytes also into the host file sent.eml), QUIT
 *   badcert  POP3 to :110 again, trusting only the other CA (slot 1)
 *   nostls   POP3 to :1110, a server that offers no STLS
 *   cut      POP3 to :2110, a path that cuts the connection mid-RETR
 *   stall    POP3 to :3110, a path that stops forwarding (5 s limit)
 *
 * Each scenario ends with one UART line "RESULT <name> <STATUS> ..." and the
 * firmware goes on to the next: a failure never stops or resets the board.
 * At the end, "MEASURE ..." lines (stack, heap, static RAM) and "DONE", and
 * the exit code 0 through semihosting. Host side: scripts/firmware-test.sh.
 */
#include <stdio.h>
#include <string.h>

#include "board.h"
#include "lan9118.h"
#include "lwip/init.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/timeouts.h"
#include "netif/ethernet.h"
#include "mbedtls/memory_buffer_alloc.h"
#include "postie/compose.h"
#include "postie/lwip_raw.h"
#include "postie/mbedtls_tls.h"
#include "postie/pop3.h"
#include "postie/smtp.h"

void entropy_set_device(const unsigned char mac[6], int64_t boot_time);
void syscalls_set_boot_time(int64_t t);
extern unsigned sbrk_calls;
extern const unsigned char __ca_slots[];
extern char __data_start[], __bss_end[];

#define SERVER_NAME "localhost"
#define USER "alice@postie.test"
#define PASS "wonderland-42"
#define RCPT "bob@postie.test"
#define CA_SLOT_SIZE 0x1000u
#define SCENARIO_LIMIT_MS 120000u   /* the firmware's own bound on one scenario */

static struct netif netif;
#ifndef FW_TLS_HEAP_SIZE
#define FW_TLS_HEAP_SIZE (48 * 1024)
#endif
static unsigned char tls_heap[FW_TLS_HEAP_SIZE];   /* mbed TLS's whole heap */
static postie_lwip conn;
static postie_mbedtls tls;
static postie_pop3 pop;
static postie_smtp smtp;
static postie_compose compose;
static char rbuf[512];
static int64_t boot_time;
static size_t heap_setup;   /* mbed TLS heap in use after postie_lwip_use_tls() */
static uint32_t longest_service; /* ms of the longest round of the main loop */
static uint32_t handshake_ms;    /* the port's measure of the last handshake */
static size_t heap_peak_hs;      /* mbed TLS heap peak from set-up to the handshake's end */

/* ---- the network loop ---------------------------------------------------- */

u32_t sys_now(void)
{
    return board_ms();
}

static void pump(void *ctx)
{
    (void)ctx;
    (void)lan9118_poll(&netif);
    sys_check_timeouts();
}

static unsigned long clock_ms(void *ctx)
{
    (void)ctx;
    return board_ms();
}

/* A CA slot in flash: a 32-bit length, then that many bytes (DER or PEM). */
static const unsigned char *ca_slot(int i, size_t *len)
{
    const unsigned char *s = __ca_slots + (size_t)i * CA_SLOT_SIZE;
    uint32_t n = (uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 |
                 (uint32_t)s[3] << 24;
    if (n == 0 || n > CA_SLOT_SIZE - 4) {
        *len = 0;
        return NULL;
    }
    *len = n;
    return s + 4;
}

static size_t heap_used(void)
{
    size_t used = 0, blocks = 0;
    mbedtls_memory_buffer_alloc_cur_get(&used, &blocks);
    return used;
}

static size_t heap_peak(void)
{
    size_t used = 0, blocks = 0;
    mbedtls_memory_buffer_alloc_max_get(&used, &blocks);
    return used;
}

/* Runs one session to its end. ca_index < 0: no TLS arranged. */
static postie_status run_session(u16_t port, postie_conn *engine, const postie_rawcb_app *app,
                                 int ca_index, unsigned timeout_ms, const char **tls_text)
{
    ip4_addr_t ip;
    postie_status st;
    uint32_t start = board_ms();

    *tls_text = "";
    IP4_ADDR(&ip, 192, 0, 2, 100);
    postie_lwip_init(&conn);
    if (ca_index >= 0) {
        postie_mbedtls_options o;
        postie_mbedtls_options_init(&o);
        o.ca = ca_slot(ca_index, &o.ca_len);
        if (o.ca == NULL) {
            uart_printf("CA slot %d is empty (not provisioned)\r\n", ca_index);
            return POSTIE_ERR_PARAM;
        }
        o.clock = clock_ms;
        o.handshake_timeout_ms = timeout_ms;
        st = postie_lwip_use_tls(&conn, &tls, &o, SERVER_NAME);
        if (st != POSTIE_OK) {
            *tls_text = postie_mbedtls_error_text(&tls);
            return st;
        }
        heap_setup = heap_used(); /* record buffers, the parsed CA, the DRBG */
    }
    st = postie_lwip_connect(&conn, &ip, port, engine, app, timeout_ms);
    longest_service = 0;
    heap_peak_hs = 0;
    while (st == POSTIE_AGAIN) {
        uint32_t t = board_ms();
        pump(NULL); /* lwIP's callbacks: the session and the handshake run in them */
        st = postie_lwip_service(&conn);
        t = board_ms() - t;
        if (t > longest_service) {
            longest_service = t;
        }
        if (heap_peak_hs == 0 && conn.hs_ms != 0) {
            heap_peak_hs = heap_peak(); /* the handshake just ended */
        }
        if (st == POSTIE_AGAIN && (uint32_t)(board_ms() - start) > SCENARIO_LIMIT_MS) {
            st = POSTIE_ERR_TIMEOUT;
            uart_printf("scenario over its %u ms limit: closed\r\n", SCENARIO_LIMIT_MS);
        }
    }
    handshake_ms = conn.hs_ms;
    if (ca_index >= 0 && tls.error_text[0] != '\0') {
        *tls_text = tls.error_text;
    }
    postie_lwip_close(&conn);
    /* let lwIP finish the close (FIN/ACK) before the next scenario */
    {
        uint32_t t0 = board_ms();
        while ((uint32_t)(board_ms() - t0) < 200u) {
            pump(NULL);
        }
    }
    return st;
}

/* ---- POP3: fetch every message ------------------------------------------ */

typedef struct fetch_app {
    int phase;
    unsigned long count, octets, msg, got_bytes;
    int fh;
    int semihost_files;      /* write fetched-N.eml on the host */
} fetch_app;

static postie_status fetch_step(void *user)
{
    fetch_app *a = user;
    postie_status st;

    for (;;) {
        switch (a->phase) {
        case 0: st = postie_pop3_open(&pop); break;
        case 1: st = postie_pop3_login(&pop, USER, PASS, POSTIE_POP3_LOGIN_USER); break;
        case 2:
            st = postie_pop3_stat(&pop, &a->count, &a->octets);
            a->msg = 0;
            break;
        case 3: /* next message */
            if (a->msg >= a->count) {
                a->phase = 5;
                continue;
            }
            st = postie_pop3_retr_begin(&pop, a->msg + 1, NULL);
            if (st == POSTIE_OK) {
                a->msg++;
                if (a->semihost_files) {
                    char name[32];
                    snprintf(name, sizeof name, "fetched-%lu.eml", a->msg);
                    a->fh = semi_open(name, 4);
                }
            }
            break;
        case 4: {
            size_t n = 0;
            st = postie_pop3_read(&pop, rbuf, sizeof rbuf, &n);
            if (st == POSTIE_OK) {
                a->got_bytes += n;
                if (a->fh >= 0 && a->semihost_files) {
                    (void)semi_write(a->fh, rbuf, n);
                }
                continue;
            }
            if (st == POSTIE_DONE) {
                if (a->fh >= 0 && a->semihost_files) {
                    semi_close(a->fh);
                    a->fh = -1;
                }
                a->phase = 3;
                continue;
            }
            return st;
        }
        case 5:
            st = postie_pop3_quit(&pop, NULL);
            if (st == POSTIE_OK) {
                a->phase = 6;
                return POSTIE_DONE;
            }
            return st;
        default:
            return POSTIE_ERR_STATE;
        }
        if (st != POSTIE_OK) {
            return st; /* AGAIN, START_TLS or the failure */
        }
        a->phase = a->phase == 3 ? 4 : a->phase + 1;
    }
}

static postie_status fetch_tls_started(void *user, postie_status r)
{
    (void)user;
    return postie_pop3_tls_started(&pop, r);
}

static const char *reply_of_pop(void)
{
    const char *t = postie_pop3_reply_text(&pop);
    return t != NULL ? t : "";
}

static void report(const char *name, postie_status st, const char *extra, const char *tls_text)
{
    uart_printf("RESULT %s %s", name, postie_status_name(st));
    if (extra != NULL && extra[0] != '\0') {
        uart_printf(" %s", extra);
    }
    if (st < 0) {
        uart_printf(" (%s)", postie_strerror(st));
    }
    if (tls_text != NULL && tls_text[0] != '\0') {
        uart_printf(" tls: %s", tls_text);
    }
    uart_puts("\r\n");
}

static size_t peak_fetch, peak_send, peak_hs_fetch, peak_hs_send;

static postie_status scenario_pop3(const char *name, u16_t port, int ca_index, unsigned timeout_ms,
                                   int files)
{
    static fetch_app a;
    postie_rawcb_app app = {fetch_step, fetch_tls_started, &a};
    const char *tls_text;
    char extra[160];
    uint32_t t0;
    postie_status st;

    memset(&a, 0, sizeof a);
    a.fh = -1;
    a.semihost_files = files;
    postie_pop3_init_nb(&pop);
    postie_pop3_set_tls(&pop, POSTIE_TLS_REQUIRED, SERVER_NAME);
    mbedtls_memory_buffer_alloc_max_reset();
    t0 = board_ms();
    st = run_session(port, postie_pop3_conn(&pop), &app, ca_index, timeout_ms, &tls_text);
    if (a.fh >= 0) {
        semi_close(a.fh);
    }
    snprintf(extra, sizeof extra,
             "ms=%lu handshake_ms=%lu longest_step_ms=%lu messages=%lu bytes=%lu reply=\"%.50s\"",
             (unsigned long)(board_ms() - t0), (unsigned long)handshake_ms,
             (unsigned long)longest_service, a.msg, a.got_bytes, reply_of_pop());
    report(name, st, extra, tls_text);
    if (files) {
        peak_fetch = heap_peak();
        peak_hs_fetch = heap_peak_hs;
    }
    return st;
}

/* ---- SMTP: a composed message with an attachment ------------------------ */

typedef struct send_app {
    int phase;
    postie_smtp_envelope env;
    postie_smtp_rcpt rcpt;
    int fh;
    unsigned long bytes;
} send_app;

/* The attachment: 24 000 bytes of a pattern made as the composer pulls
 * them (no buffer: any size streams through), byte i = (i * 7 + 3) mod 256. */
#define ATTACHMENT_LEN 24000u
static unsigned long attachment_pos;

static postie_status attachment_reader(void *user, char *buf, size_t cap, size_t *n)
{
    size_t k = 0;
    (void)user;
    while (k < cap && attachment_pos < ATTACHMENT_LEN) {
        buf[k++] = (char)(unsigned char)(attachment_pos * 7u + 3u);
        attachment_pos++;
    }
    *n = k;
    return attachment_pos == ATTACHMENT_LEN ? POSTIE_DONE : POSTIE_OK;
}

/* The composer's bytes, copied to the host's sent.eml as they go out. */
static postie_status tee_reader(void *user, char *buf, size_t cap, size_t *n)
{
    send_app *a = user;
    postie_status st = postie_compose_reader(&compose, buf, cap, n);
    if ((st == POSTIE_OK || st == POSTIE_DONE) && *n > 0) {
        a->bytes += *n;
        if (a->fh >= 0) {
            (void)semi_write(a->fh, buf, *n);
        }
    }
    return st;
}

static postie_status send_step(void *user)
{
    send_app *a = user;
    postie_status st;

    for (;;) {
        switch (a->phase) {
        case 0: st = postie_smtp_open(&smtp); break;
        case 1: st = postie_smtp_auth(&smtp, POSTIE_SASL_PASSWORD_MECHS, USER, PASS); break;
        case 2: st = postie_smtp_send(&smtp, &a->env, tee_reader, a); break;
        case 3:
            st = postie_smtp_quit(&smtp);
            if (st == POSTIE_OK) {
                a->phase = 4;
                return POSTIE_DONE;
            }
            return st;
        default:
            return POSTIE_ERR_STATE;
        }
        if (st != POSTIE_OK) {
            return st;
        }
        a->phase++;
    }
}

static postie_status send_tls_started(void *user, postie_status r)
{
    (void)user;
    return postie_smtp_tls_started(&smtp, r);
}

static postie_status scenario_send(void)
{
    static send_app a;
    static const char body[] =
        "Hello from a Cortex-M4.\r\n"
        "This message was composed on the board and sent over lwIP and mbed TLS.\r\n"
        ".A line that starts with a dot.\r\n";
    static postie_compose_address to = {"Bob", RCPT};
    static postie_compose_attachment att;
    postie_compose_message m;
    postie_rawcb_app app = {send_step, send_tls_started, &a};
    unsigned char rnd[POSTIE_COMPOSE_RANDOM_MIN];
    const char *tls_text;
    char extra[160];
    uint32_t t0;
    size_t i;
    postie_status st;

    memset(&a, 0, sizeof a);
    attachment_pos = 0;
    for (i = 0; i < sizeof rnd; i += 4) {
        unsigned r = board_rand32();
        memcpy(rnd + i, &r, 4);
    }
    att.filename = "sensor-log.bin";
    att.content_type = "application/octet-stream";
    att.read = attachment_reader;
    att.read_user = NULL;
    postie_compose_message_init(&m);
    m.time = semi_time();
    m.random = rnd;
    m.random_len = sizeof rnd;
    m.from.name = "Postie firmware";
    m.from.address = USER;
    m.to = &to;
    m.to_count = 1;
    m.subject = "Postie firmware test";
    m.body = body;
    m.body_len = sizeof body - 1;
    m.attachments = &att;
    m.attachment_count = 1;
    st = postie_compose_begin(&compose, &m);
    if (st != POSTIE_OK) {
        report("send", st, "compose", NULL);
        return st;
    }
    a.rcpt.addr = RCPT;
    a.env.from = USER;
    a.env.rcpts = &a.rcpt;
    a.env.nrcpts = 1;
    a.fh = semi_open("sent.eml", 4);

    postie_smtp_init_nb(&smtp);
    postie_smtp_set_domain(&smtp, "fw.postie.test");
    postie_smtp_set_tls(&smtp, POSTIE_TLS_REQUIRED, SERVER_NAME);
    mbedtls_memory_buffer_alloc_max_reset();
    t0 = board_ms();
    st = run_session(25, postie_smtp_conn(&smtp), &app, 0, 20000u, &tls_text);
    if (a.fh >= 0) {
        semi_close(a.fh);
    }
    snprintf(extra, sizeof extra, "ms=%lu handshake_ms=%lu longest_step_ms=%lu bytes=%lu reply=%d",
             (unsigned long)(board_ms() - t0), (unsigned long)handshake_ms,
             (unsigned long)longest_service, a.bytes, postie_smtp_reply_code(&smtp));
    report("send", st, extra, tls_text);
    peak_send = heap_peak();
    peak_hs_send = heap_peak_hs;
    return st;
}

/* ---- main ------------------------------------------------------------------ */

static int wanted(const char *cmdline, const char *name)
{
    size_t n = strlen(name);
    const char *p = cmdline;
    while ((p = strstr(p, name)) != NULL) {
        if ((p == cmdline || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) {
            return 1;
        }
        p += n;
    }
    return 0;
}

int main(void)
{
    static char cmdline[128];
    ip4_addr_t addr, mask, gw;

    uart_init();
    board_clock_init();
    boot_time = semi_time();
    syscalls_set_boot_time(boot_time);
    if (semi_cmdline(cmdline, sizeof cmdline) != 0 || strstr(cmdline, "scenarios:") == NULL) {
        strcpy(cmdline, "scenarios: fetch send badcert nostls cut stall");
    }
    uart_printf("postie-fw: mps2-an386 boot, %s\r\n", cmdline);

    lwip_init();
    IP4_ADDR(&addr, 192, 0, 2, 15);
    IP4_ADDR(&mask, 255, 255, 255, 0);
    IP4_ADDR(&gw, 192, 0, 2, 2);
    if (netif_add(&netif, &addr, &mask, &gw, NULL, lan9118_netif_init, ethernet_input) == NULL) {
        uart_puts("FAULT LAN9118 not found\r\n");
        return 2;
    }
    netif_set_default(&netif);
    netif_set_link_up(&netif);
    netif_set_up(&netif);
    entropy_set_device(netif.hwaddr, boot_time);
    uart_printf("net: 192.0.2.15/24 gw 192.0.2.2 mac %02x:%02x:%02x:%02x:%02x:%02x\r\n",
                netif.hwaddr[0], netif.hwaddr[1], netif.hwaddr[2], netif.hwaddr[3],
                netif.hwaddr[4], netif.hwaddr[5]);
    mbedtls_memory_buffer_alloc_init(tls_heap, sizeof tls_heap);

    if (wanted(cmdline, "fetch")) {
        (void)scenario_pop3("fetch", 110, 0, 20000u, 1);
    }
    if (wanted(cmdline, "send")) {
        (void)scenario_send();
    }
    if (wanted(cmdline, "badcert")) {
        (void)scenario_pop3("badcert", 110, 1, 20000u, 0);
    }
    if (wanted(cmdline, "nostls")) {
        (void)scenario_pop3("nostls", 1110, 0, 20000u, 0);
    }
    if (wanted(cmdline, "cut")) {
        (void)scenario_pop3("cut", 2110, 0, 20000u, 0);
    }
    if (wanted(cmdline, "stall")) {
        (void)scenario_pop3("stall", 3110, 0, 5000u, 0);
    }

    uart_printf("MEASURE stack_used=%u stack_size=%u\r\n", (unsigned)board_stack_used(),
                (unsigned)board_stack_size());
    uart_printf("MEASURE tls_heap_after_setup=%u tls_heap_peak_to_handshake_end_fetch=%u "
                "tls_heap_peak_to_handshake_end_send=%u\r\n",
                (unsigned)heap_setup, (unsigned)peak_hs_fetch, (unsigned)peak_hs_send);
    uart_printf("MEASURE tls_heap_peak_fetch=%u tls_heap_peak_send=%u tls_heap_size=%u "
                "tls_heap_in_use_now=%u\r\n",
                (unsigned)peak_fetch, (unsigned)peak_send, (unsigned)sizeof tls_heap,
                (unsigned)heap_used());
    uart_printf("MEASURE static_ram=%u sbrk_calls=%u rx_dropped=%u\r\n",
                (unsigned)(__bss_end - __data_start), sbrk_calls, lan9118_rx_dropped());
    uart_puts("DONE\r\n");
    return 0;
}
