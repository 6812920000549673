/* NetX Duo SMTP client services over Postie's native SMTP client and
 * message composer. One connection per nx_smtp_mail_send(). */
#include "nxd_smtp_client.h"
#include "nx_postie_hooks.h"
#include "nx_postie_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define TICKS_TO_MS(t) ((unsigned)((t) * (1000UL / NX_IP_PERIODIC_RATE)))

/* ---- helpers -------------------------------------------------------------- */

/* Copies an address given as "a@b" or "<a@b>" (surrounding blanks allowed)
 * without the brackets. Returns 0, or -1 when it is empty, too long, or holds
 * bytes that cannot go into a command. */
static int strip_address(const CHAR *in, CHAR *out, size_t cap)
{
    size_t len;

    while (*in == ' ' || *in == '\t') {
        in++;
    }
    len = strlen(in);
    while (len > 0 && (in[len - 1] == ' ' || in[len - 1] == '\t')) {
        len--;
    }
    if (len >= 2 && in[0] == '<' && in[len - 1] == '>') {
        in++;
        len -= 2;
    }
    if (len == 0 || len >= cap) {
        return -1;
    }
    memcpy(out, in, len);
    out[len] = '\0';
    return postie_smtp_arg_ok(out) ? 0 : -1;
}

static int copy_string(CHAR *out, size_t cap, const CHAR *in)
{
    size_t len = strlen(in);
    if (len >= cap || strchr(in, '\r') != NULL || strchr(in, '\n') != NULL) {
        return -1;
    }
    memcpy(out, in, len + 1);
    return 0;
}

/* Statuses of the transport and the reply engine, whatever the step. */
static UINT map_common(postie_status st)
{
    switch (st) {
    case POSTIE_OK:
    case POSTIE_DONE:
        return NX_SUCCESS;
    case POSTIE_ERR_TIMEOUT:
        return NX_NO_RESPONSE;
    case POSTIE_ERR_CLOSED:
    case POSTIE_ERR_CONNECT:
    case POSTIE_ERR_RESOLVE:
        return NX_NOT_CONNECTED;
    case POSTIE_ERR_IO:
        return NX_SMTP_TRANSMIT_ERROR;
    /* only on TLS sessions (nx_postie_tls.h): a plain session has no TLS
     * transport, and its policy (OFF plus the plaintext allowance) never
     * refuses to send anything */
    case POSTIE_ERR_TLS:
        return NX_POSTIE_TLS_FAILED;
    case POSTIE_ERR_TLS_VERIFY:
        return NX_POSTIE_TLS_VERIFY_FAILED;
    case POSTIE_ERR_TLS_REQUIRED:
    case POSTIE_ERR_INSECURE:
        return NX_POSTIE_TLS_NOT_OFFERED;
    case POSTIE_ERR_PROTOCOL:
        return NX_SMTP_INVALID_SERVER_REPLY;
    case POSTIE_ERR_LINE_TOO_LONG:
        return NX_SMTP_OVERSIZE_SERVER_REPLY;
    case POSTIE_ERR_PARAM:
    case POSTIE_ERR_UNSUPPORTED:
        return NX_SMTP_INVALID_PARAM;
    case POSTIE_ERR_DECODE:
        return NX_SMTP_INVALID_SERVER_CHALLENGE;
    case POSTIE_ERR_AUTH:
        return NX_SMTP_AUTH_REPLY_ERROR;
    default:
        return NX_SMTP_INTERNAL_ERROR;
    }
}

/* A refusal by the server (4xx/5xx) at a given step, or a common status. */
static UINT map_step(postie_status st, UINT refused)
{
    if (st == POSTIE_ERR_SERVER || st == POSTIE_ERR_TRANSIENT || st == POSTIE_ERR_TOO_BIG) {
        return refused;
    }
    return map_common(st);
}

/* At least POSTIE_COMPOSE_RANDOM_MIN bytes for the Message-ID and boundary. */
static void random_bytes(NX_SMTP_CLIENT *c, unsigned char *out, size_t n)
{
    FILE *f = fopen("/dev/urandom", "rb");
    size_t got = 0, i;

    if (f != NULL) {
        got = fread(out, 1, n, f);
        fclose(f);
    }
    if (got < n) {
        /* no urandom: mix what differs between calls and clients */
        struct timespec ts;
        unsigned long long x;
        clock_gettime(CLOCK_REALTIME, &ts);
        x = (unsigned long long)ts.tv_sec * 1000000007ULL ^ (unsigned long long)ts.tv_nsec ^
            (unsigned long long)(size_t)c;
        for (i = got; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out[i] = (unsigned char)(x >> 24);
        }
    }
}

/* ---- the session's transport: the connector's, watched ------------------- */

static long wire_send(void *ctx, const void *buf, size_t len, unsigned timeout_ms)
{
    NX_SMTP_CLIENT *c = (NX_SMTP_CLIENT *)ctx;
    if (!c->nx_smtp_client_said_hello && len >= 5 &&
        (memcmp(buf, "EHLO ", 5) == 0 || memcmp(buf, "HELO ", 5) == 0)) {
        c->nx_smtp_client_said_hello = NX_TRUE;
    }
    return c->nx_smtp_client_wire.send(c->nx_smtp_client_wire.ctx, buf, len, timeout_ms);
}

static long wire_recv(void *ctx, void *buf, size_t len, unsigned timeout_ms)
{
    NX_SMTP_CLIENT *c = (NX_SMTP_CLIENT *)ctx;
    return c->nx_smtp_client_wire.recv(c->nx_smtp_client_wire.ctx, buf, len, timeout_ms);
}

static postie_status wire_start_tls(void *ctx, const char *server_name)
{
    NX_SMTP_CLIENT *c = (NX_SMTP_CLIENT *)ctx;
    return c->nx_smtp_client_wire.start_tls(c->nx_smtp_client_wire.ctx, server_name);
}

static void wire_close(void *ctx)
{
    NX_SMTP_CLIENT *c = (NX_SMTP_CLIENT *)ctx;
    if (c->nx_smtp_client_wire.close != NULL) {
        c->nx_smtp_client_wire.close(c->nx_smtp_client_wire.ctx);
    }
    memset(&c->nx_smtp_client_wire, 0, sizeof c->nx_smtp_client_wire);
}

static postie_status tcp_connect(void *user, const char *host, const char *port, unsigned timeout_ms,
                                 postie_transport *out)
{
    NX_SMTP_CLIENT *c = (NX_SMTP_CLIENT *)user;
    postie_status st = postie_tcp_connect(&c->nx_smtp_client_tcp, host, port, timeout_ms);
    if (st == POSTIE_ERR_TIMEOUT) {
        return POSTIE_ERR_CONNECT;
    }
    if (st == POSTIE_OK) {
        postie_tcp_transport(&c->nx_smtp_client_tcp, out);
    }
    return st;
}

/* The client's TLS settings (nx_postie_smtp_client_tls_set), as the shared
 * helpers take them. */
static void tls_settings(const NX_SMTP_CLIENT *c, nx_postie_tls_settings *t)
{
    memset(t, 0, sizeof *t);
    t->mode = c->nx_smtp_client_tls_mode;
    t->server_name = c->nx_smtp_client_tls_server_name[0] ? c->nx_smtp_client_tls_server_name : NULL;
    t->ca_file = c->nx_smtp_client_tls_ca_file[0] ? c->nx_smtp_client_tls_ca_file : NULL;
    t->pin_type = c->nx_smtp_client_tls_pin_type;
    memcpy(t->pin, c->nx_smtp_client_tls_pin, sizeof t->pin);
    t->insecure = c->nx_smtp_client_tls_insecure;
}

/* The name the server's certificate is checked against. */
static const char *tls_name(const NX_SMTP_CLIENT *c, const char *host)
{
    return c->nx_smtp_client_tls_server_name[0] ? c->nx_smtp_client_tls_server_name : host;
}

/* TCP, then the OpenSSL transport over it (with its handshake for IMPLICIT). */
static postie_status tls_connect(void *user, const char *host, const char *port, unsigned timeout_ms,
                                 postie_transport *out)
{
    NX_SMTP_CLIENT *c = (NX_SMTP_CLIENT *)user;
    nx_postie_tls_settings t;
    postie_status st = tcp_connect(user, host, port, timeout_ms, out);

    if (st != POSTIE_OK) {
        return st;
    }
    tls_settings(c, &t);
    st = nx_postie_tls_open(&c->nx_smtp_client_tls, &c->nx_smtp_client_tcp, &t, tls_name(c, host),
                            c->nx_smtp_client_timeout_ms, out);
    return st == POSTIE_ERR_PARAM ? POSTIE_ERR_TLS : st;
}

/* ---- services -------------------------------------------------------------- */

UINT nxd_smtp_client_create(NX_SMTP_CLIENT *client_ptr, NX_IP *ip_ptr,
                            NX_PACKET_POOL *client_packet_pool_ptr, CHAR *username, CHAR *password,
                            CHAR *from_address, CHAR *client_domain, UINT authentication_type,
                            NXD_ADDRESS *server_address, UINT port)
{
    NX_SMTP_CLIENT *c = client_ptr;
    char host[64];

    if (c == NULL || ip_ptr == NULL || client_packet_pool_ptr == NULL || username == NULL ||
        password == NULL || from_address == NULL || client_domain == NULL || server_address == NULL) {
        return NX_PTR_ERROR;
    }
    if (port == 0 || port > 65535u || nx_postie_address_string(server_address, host, sizeof host) != 0) {
        return NX_SMTP_INVALID_PARAM;
    }
    if (authentication_type != NX_SMTP_CLIENT_AUTH_NONE && authentication_type != NX_SMTP_CLIENT_AUTH_PLAIN &&
        authentication_type != NX_SMTP_CLIENT_AUTH_LOGIN &&
        authentication_type != NX_SMTP_CLIENT_AUTH_CRAM_MD5) {
        return NX_SMTP_AUTHENTICATION_ERROR;
    }
    if (authentication_type != NX_SMTP_CLIENT_AUTH_NONE && username[0] == '\0') {
        return NX_SMTP_AUTHENTICATION_ERROR;
    }
    memset(c, 0, sizeof *c);
    if (copy_string(c->nx_smtp_username, sizeof c->nx_smtp_username, username) != 0 ||
        copy_string(c->nx_smtp_password, sizeof c->nx_smtp_password, password) != 0 ||
        copy_string(c->nx_smtp_client_domain, sizeof c->nx_smtp_client_domain, client_domain) != 0 ||
        !postie_smtp_domain_ok(c->nx_smtp_client_domain) ||
        strip_address(from_address, c->nx_smtp_client_from_address,
                      sizeof c->nx_smtp_client_from_address) != 0) {
        memset(c, 0, sizeof *c);
        return NX_SMTP_INVALID_PARAM;
    }
    c->nx_smtp_client_authentication_type = authentication_type;
    c->nx_smtp_client_ip_ptr = ip_ptr;
    c->nx_smtp_client_packet_pool_ptr = client_packet_pool_ptr;
    c->nx_smtp_server_address = *server_address;
    c->nx_smtp_server_port = (USHORT)port;
    c->nx_smtp_client_timeout_ms = TICKS_TO_MS(NX_SMTP_MESSAGE_TIMEOUT);
    c->nx_smtp_client_tcp.fd = -1;
    c->nx_smtp_client_init_status = NX_TRUE;
    c->nx_smtp_client_id = NX_SMTP_CLIENT_ID;
    return NX_SUCCESS;
}

VOID nx_postie_smtp_client_connector_set(NX_SMTP_CLIENT *client_ptr, nx_postie_connect_fn fn,
                                         void *user)
{
    if (client_ptr != NULL) {
        client_ptr->nx_smtp_client_connect = fn;
        client_ptr->nx_smtp_client_connect_user = user;
    }
}

VOID nx_postie_smtp_client_timeout_set(NX_SMTP_CLIENT *client_ptr, unsigned timeout_ms)
{
    if (client_ptr != NULL) {
        client_ptr->nx_smtp_client_timeout_ms = timeout_ms;
    }
}

UINT nx_postie_smtp_client_tls_set(NX_SMTP_CLIENT *client_ptr, const NX_POSTIE_TLS_CONFIG *tls_config)
{
    NX_SMTP_CLIENT *c = client_ptr;
    nx_postie_tls_settings t;

    if (c == NULL || tls_config == NULL) {
        return NX_PTR_ERROR;
    }
    if (c->nx_smtp_client_id != NX_SMTP_CLIENT_ID || c->nx_smtp_client_init_status != NX_TRUE) {
        return NX_SMTP_CLIENT_NOT_INTIALIZED;
    }
    if (!nx_postie_tls_available()) {
        return NX_POSTIE_TLS_NOT_AVAILABLE;
    }
    if (nx_postie_tls_check(tls_config, &t) != 0 ||
        (t.server_name != NULL && strlen(t.server_name) > NX_POSTIE_TLS_MAX_SERVER_NAME) ||
        (t.ca_file != NULL && strlen(t.ca_file) > NX_POSTIE_TLS_MAX_CA_FILE)) {
        return NX_SMTP_INVALID_PARAM;
    }
    c->nx_smtp_client_tls_mode = t.mode;
    snprintf(c->nx_smtp_client_tls_server_name, sizeof c->nx_smtp_client_tls_server_name, "%s",
             t.server_name != NULL ? t.server_name : "");
    snprintf(c->nx_smtp_client_tls_ca_file, sizeof c->nx_smtp_client_tls_ca_file, "%s",
             t.ca_file != NULL ? t.ca_file : "");
    c->nx_smtp_client_tls_pin_type = t.pin_type;
    memcpy(c->nx_smtp_client_tls_pin, t.pin, sizeof c->nx_smtp_client_tls_pin);
    c->nx_smtp_client_tls_insecure = t.insecure;
    return NX_SUCCESS;
}

/* Nonces for SCRAM-SHA-256 (only ever a fallback, see authenticate()): the
 * system's random source or nothing (no weaker stand-in: the exchange then
 * fails before anything is sent). */
static postie_status scram_random(void *ctx, void *buf, size_t len)
{
    FILE *f = fopen("/dev/urandom", "rb");
    size_t got = 0;

    (void)ctx;
    if (f != NULL) {
        got = fread(buf, 1, len, f);
        fclose(f);
    }
    return got == len ? POSTIE_OK : POSTIE_ERR_INTERNAL;
}

/*
 * AUTH as configured and offered. A server that offers no AUTH gets none.
 * When the configured mechanism is not offered, the client falls back to the
 * strongest offered mechanism it can do with the same password (the native
 * choice: SCRAM-SHA-256 > CRAM-MD5 > PLAIN > LOGIN), but never to one that
 * reveals the password where the configured one would not:
 *  - configured PLAIN or LOGIN (or NONE, which means PLAIN): any of the four.
 *    PLAIN and LOGIN show the password alike, and on a plain connection only
 *    under the plaintext allowance this layer sets for its plain sessions;
 *    under TLS (nx_postie_tls.h) the native rule keeps them off an
 *    unencrypted connection;
 *  - configured CRAM-MD5: only SCRAM-SHA-256, unless the connection is
 *    encrypted (then PLAIN and LOGIN as well): the user chose a mechanism
 *    that keeps the password off the wire.
 * Unknown names in the server's list are ignored. No mechanism left: no AUTH,
 * and MAIL says whether the server wanted one (docs/netx-compat.md).
 */
static UINT authenticate(NX_SMTP_CLIENT *c)
{
    postie_smtp *s = &c->nx_smtp_client_session;
    const postie_smtp_ext *ext = postie_smtp_extensions(s);
    unsigned want, fallback = POSTIE_SASL_SCRAM_SHA256 | POSTIE_SASL_CRAM_MD5, mechs;
    postie_status st;

    if (!postie_smtp_has(s, POSTIE_SMTP_EXT_AUTH) || c->nx_smtp_username[0] == '\0') {
        return NX_SUCCESS;
    }
    switch (c->nx_smtp_client_authentication_type) {
    case NX_SMTP_CLIENT_AUTH_LOGIN:
        want = POSTIE_SASL_LOGIN;
        break;
    case NX_SMTP_CLIENT_AUTH_CRAM_MD5:
        want = POSTIE_SASL_CRAM_MD5;
        break;
    default: /* PLAIN, and NONE when the server asks for AUTH after all */
        want = POSTIE_SASL_PLAIN;
        break;
    }
    if ((want & (POSTIE_SASL_PLAIN | POSTIE_SASL_LOGIN)) != 0 || postie_smtp_tls_active(s)) {
        fallback |= POSTIE_SASL_PLAIN | POSTIE_SASL_LOGIN;
    }
    mechs = (ext->auth & want) ? want : (ext->auth & fallback);
    if (mechs == 0) {
        return NX_SUCCESS; /* nothing we can speak: let MAIL tell */
    }
    postie_smtp_set_random(s, scram_random, NULL);
    st = postie_smtp_auth(s, mechs, c->nx_smtp_username, c->nx_smtp_password);
    return map_step(st, NX_SMTP_AUTH_REPLY_ERROR);
}

static int compose_priority(UINT priority)
{
    if (priority == NX_SMTP_MAIL_PRIORITY_LOW) {
        return POSTIE_COMPOSE_PRIORITY_LOW;
    }
    if (priority == NX_SMTP_MAIL_PRIORITY_HIGH) {
        return POSTIE_COMPOSE_PRIORITY_HIGH;
    }
    return POSTIE_COMPOSE_PRIORITY_NORMAL;
}

UINT nx_smtp_mail_send(NX_SMTP_CLIENT *client_ptr, CHAR *recipient_address, UINT priority,
                       CHAR *subject, CHAR *mail_body, UINT mail_body_length)
{
    NX_SMTP_CLIENT *c = client_ptr;
    postie_smtp *s;
    CHAR to[NX_SMTP_CLIENT_MAX_ADDRESS + 1];
    char host[64], port[8];
    unsigned char rnd[POSTIE_COMPOSE_RANDOM_MIN];
    postie_compose_message m;
    postie_compose_address to_addr;
    postie_smtp_rcpt rcpt;
    postie_smtp_envelope env;
    postie_transport tr;
    nx_postie_connect_fn connect;
    void *connect_user;
    NX_PACKET *pkt = NULL;
    postie_status st;
    UINT status = NX_SUCCESS, sent = NX_FALSE;

    if (c == NULL) {
        return NX_PTR_ERROR;
    }
    if (c->nx_smtp_client_id != NX_SMTP_CLIENT_ID || c->nx_smtp_client_init_status != NX_TRUE) {
        return NX_SMTP_CLIENT_NOT_INTIALIZED;
    }
    if (recipient_address == NULL || (mail_body == NULL && mail_body_length > 0)) {
        return NX_PTR_ERROR;
    }
    if (strip_address(recipient_address, to, sizeof to) != 0) {
        return NX_SMTP_INVALID_PARAM;
    }
    c->nx_smtp_client_reply_code_status = 0;

    /* The message is checked before anything goes out (once more below,
     * when the server has said whether it takes 8-bit data). */
    random_bytes(c, rnd, sizeof rnd);
    postie_compose_message_init(&m);
    m.time = (int64_t)time(NULL);
    m.utc_offset_minutes = 0;
    m.random = rnd;
    m.random_len = sizeof rnd;
    m.from.address = c->nx_smtp_client_from_address;
    to_addr.name = NULL;
    to_addr.address = to;
    m.to = &to_addr;
    m.to_count = 1;
    m.subject = subject;
    m.priority = compose_priority(priority);
    m.body = mail_body;
    m.body_len = mail_body_length;
    if (postie_compose_begin(&c->nx_smtp_client_compose, &m) != POSTIE_OK) {
        return NX_SMTP_INVALID_PARAM;
    }

    /* One packet of the client's pool stages the message on its way out:
     * the pool bounds what is taken from it, not the size of a message. */
    if (nx_packet_allocate(c->nx_smtp_client_packet_pool_ptr, &pkt, NX_RECEIVE_PACKET,
                           NX_SMTP_CLIENT_PACKET_TIMEOUT) != NX_SUCCESS) {
        return NX_SMTP_PACKET_ALLOCATE_ERROR;
    }

    nx_postie_address_string(&c->nx_smtp_server_address, host, sizeof host);
    snprintf(port, sizeof port, "%u", (unsigned)c->nx_smtp_server_port);
    connect = c->nx_smtp_client_connect ? c->nx_smtp_client_connect
              : c->nx_smtp_client_tls_mode ? tls_connect
                                           : tcp_connect;
    connect_user = c->nx_smtp_client_connect ? c->nx_smtp_client_connect_user : (void *)c;
    memset(&c->nx_smtp_client_wire, 0, sizeof c->nx_smtp_client_wire);
    st = connect(connect_user, host, port, TICKS_TO_MS(NX_SMTP_CLIENT_CONNECTION_TIMEOUT),
                 &c->nx_smtp_client_wire);
    if (st != POSTIE_OK || c->nx_smtp_client_wire.send == NULL || c->nx_smtp_client_wire.recv == NULL) {
        nx_packet_release(pkt);
        return st == POSTIE_OK ? NX_NOT_CONNECTED : map_common(st);
    }
    tr.ctx = c;
    tr.send = wire_send;
    tr.recv = wire_recv;
    /* the upgrade is offered only to TLS sessions: a plain one stays plain */
    tr.start_tls = c->nx_smtp_client_tls_mode != 0 && c->nx_smtp_client_wire.start_tls != NULL
                       ? wire_start_tls
                       : NULL;
    tr.close = wire_close;
    c->nx_smtp_client_said_hello = NX_FALSE;
    s = &c->nx_smtp_client_session;
    postie_smtp_init(s, &tr);
    postie_smtp_set_timeout(s, c->nx_smtp_client_timeout_ms);
    postie_smtp_set_domain(s, c->nx_smtp_client_domain); /* checked at create */
    if (c->nx_smtp_client_tls_mode == 0) {
        /* The NetX Duo service speaks plain TCP and uses AUTH PLAIN/LOGIN as
         * the original does (docs/netx-compat.md): opt out of the native
         * client's default TLS policy explicitly. */
        (void)postie_smtp_set_tls(s, POSTIE_TLS_OFF, NULL);
        postie_smtp_allow_plaintext_credentials(s, 1);
    } else {
        /* TLS (nx_postie_tls.h): the native policy, no plaintext allowance,
         * so AUTH PLAIN/LOGIN only ever go over TLS. */
        if (postie_smtp_set_tls(s, nx_postie_tls_policy(c->nx_smtp_client_tls_mode),
                                tls_name(c, host)) != POSTIE_OK) {
            status = NX_SMTP_INVALID_PARAM; /* a name the native client refuses: send nothing */
            goto end;
        }
    }

    st = postie_smtp_open(s);
    if (st != POSTIE_OK && c->nx_smtp_client_tls_mode != 0 &&
        (st == POSTIE_ERR_SERVER || st == POSTIE_ERR_TRANSIENT) &&
        postie_smtp_has(s, POSTIE_SMTP_EXT_STARTTLS)) {
        status = NX_POSTIE_TLS_NOT_OFFERED; /* STARTTLS refused, and the mode requires it */
        goto end;
    }
    if (st != POSTIE_OK) {
        status = map_step(st, c->nx_smtp_client_said_hello ? NX_SMTP_HELLO_REPLY_ERROR
                                                           : NX_SMTP_GREET_REPLY_ERROR);
        goto end;
    }
    status = authenticate(c);
    if (status != NX_SUCCESS) {
        goto end;
    }

    m.allow_8bit = postie_smtp_has(s, POSTIE_SMTP_EXT_8BITMIME);
    st = postie_compose_begin(&c->nx_smtp_client_compose, &m);
    if (st != POSTIE_OK) {
        status = NX_SMTP_INVALID_PARAM;
        goto end;
    }

    memset(&rcpt, 0, sizeof rcpt);
    rcpt.addr = to;
    memset(&env, 0, sizeof env);
    env.from = c->nx_smtp_client_from_address;
    env.rcpts = &rcpt;
    env.nrcpts = 1;
    env.flags = postie_compose_is_8bit(&c->nx_smtp_client_compose) ? POSTIE_SMTP_MSG_8BIT : 0;
    env.on_refused = POSTIE_SMTP_REFUSED_ABORT;
    st = postie_smtp_mail(s, &env);
    if (st != POSTIE_OK) {
        status = st == POSTIE_ERR_RECIPIENTS ? NX_SMTP_RCPT_REPLY_ERROR
                                             : map_step(st, NX_SMTP_MAIL_REPLY_ERROR);
        goto end;
    }
    st = postie_smtp_data_begin(s);
    if (st != POSTIE_OK) {
        status = map_step(st, NX_SMTP_DATA_REPLY_ERROR);
        goto end;
    }
    for (;;) {
        size_t n = 0;
        size_t cap = (size_t)(pkt->nx_packet_data_end - pkt->nx_packet_prepend_ptr);
        st = postie_compose_read(&c->nx_smtp_client_compose, (char *)pkt->nx_packet_prepend_ptr, cap, &n);
        if (st == POSTIE_DONE) {
            break;
        }
        if (st != POSTIE_OK) {
            /* the message cannot be completed: hang up without the final dot */
            postie_smtp_close(s);
            status = NX_SMTP_INTERNAL_ERROR;
            goto end;
        }
        st = postie_smtp_data_write(s, pkt->nx_packet_prepend_ptr, n);
        if (st != POSTIE_OK) {
            status = map_common(st);
            goto end;
        }
    }
    st = postie_smtp_data_end(s);
    if (st != POSTIE_OK) {
        status = map_step(st, NX_SMTP_MESSAGE_REPLY_ERROR);
        goto end;
    }
    sent = NX_TRUE;

end:
    c->nx_smtp_client_reply_code_status = (UINT)postie_smtp_reply_code(s);
    if (postie_smtp_get_state(s) != POSTIE_SMTP_STATE_CLOSED) {
        /* QUIT's outcome changes nothing: a message that got its 250 is sent */
        (void)postie_smtp_quit(s);
    }
    postie_smtp_close(s);
    memset(s, 0, sizeof *s); /* no credentials left in the scratch buffers */
    memset(&c->nx_smtp_client_compose, 0, sizeof c->nx_smtp_client_compose);
    nx_packet_release(pkt);
    return sent ? NX_SUCCESS : status;
}

UINT nx_smtp_client_delete(NX_SMTP_CLIENT *client_ptr)
{
    if (client_ptr == NULL) {
        return NX_PTR_ERROR;
    }
    if (client_ptr->nx_smtp_client_id != NX_SMTP_CLIENT_ID) {
        return NX_SMTP_CLIENT_NOT_INTIALIZED;
    }
    memset(client_ptr, 0, sizeof *client_ptr);
    return NX_SUCCESS;
}

/* ---- the guide's prose name (nxd_smtp_client.h) ---------------------------- */

UINT nx_smtp_client_mail(NX_SMTP_CLIENT *client_ptr, CHAR *recipient_address, UINT priority,
                         CHAR *subject, CHAR *mail_body, UINT mail_body_length)
{
    return nx_smtp_mail_send(client_ptr, recipient_address, priority, subject, mail_body,
                             mail_body_length);
}
