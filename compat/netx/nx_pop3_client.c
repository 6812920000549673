/* NetX Duo POP3 client services over Postie's native POP3 client. */
#include "nxd_pop3_client.h"
#include "nx_postie_hooks.h"
#include "nx_postie_internal.h"

#include <stdio.h>
#include <string.h>


#define TICKS_TO_MS(t) ((unsigned)((t) * (1000UL / NX_IP_PERIODIC_RATE)))

/* Native status -> NetX status. */
static UINT map_status(postie_status st)
{
    switch (st) {
    case POSTIE_OK:
    case POSTIE_DONE:
        return NX_SUCCESS;
    case POSTIE_ERR_PARAM:
        return NX_POP3_PARAM_ERROR;
    case POSTIE_ERR_STATE:
    case POSTIE_ERR_BUSY:
        return NX_POP3_CLIENT_INVALID_STATE;
    case POSTIE_ERR_NO_SUCH_MESSAGE:
        return NX_POP3_INVALID_MAIL_ITEM;
    case POSTIE_ERR_TIMEOUT:
        return NX_NO_RESPONSE;
    case POSTIE_ERR_CLOSED:
    case POSTIE_ERR_CONNECT:
    case POSTIE_ERR_RESOLVE:
        return NX_NOT_CONNECTED;
    case POSTIE_ERR_NOMEM:
        return NX_NO_PACKET;
    case POSTIE_ERR_IO:
    case POSTIE_ERR_INTERNAL:
        return NX_NOT_SUCCESSFUL;
    /* only on TLS sessions (nx_postie_tls.h): a plain session has no TLS
     * transport, and its policy (OFF plus the plaintext allowance) never
     * refuses to send credentials */
    case POSTIE_ERR_TLS:
        return NX_POSTIE_TLS_FAILED;
    case POSTIE_ERR_TLS_VERIFY:
        return NX_POSTIE_TLS_VERIFY_FAILED;
    case POSTIE_ERR_TLS_REQUIRED:
    case POSTIE_ERR_INSECURE:
        return NX_POSTIE_TLS_NOT_OFFERED;
    default: /* SERVER, AUTH, TRANSIENT, PROTOCOL, LINE_TOO_LONG, ... */
        return NX_POP3_SERVER_ERROR_STATUS;
    }
}

static int created(const NX_POP3_CLIENT *c)
{
    return c != NULL && c->nx_pop3_client_id == NX_POP3_CLIENT_ID;
}

static int wire_ok(const CHAR *s)
{
    return strchr(s, '\r') == NULL && strchr(s, '\n') == NULL;
}

/* Checks the arguments; nothing is opened. */
static UINT check_args(NX_POP3_CLIENT *client_ptr, NX_PACKET_POOL *packet_pool_ptr,
                       CHAR *client_name, CHAR *client_password)
{
    if (client_ptr == NULL || packet_pool_ptr == NULL || client_name == NULL ||
        client_password == NULL) {
        return NX_PTR_ERROR;
    }
    if (client_name[0] == '\0' || !wire_ok(client_name) || !wire_ok(client_password)) {
        return NX_POP3_PARAM_ERROR;
    }
    return NX_SUCCESS;
}

/* Greeting and login over the transport already in c (c otherwise reset).
 * tls NULL: plain TCP, as the original. Otherwise the session must be
 * secured as tls->mode says before the login, checked against name. */
static UINT session_open(NX_POP3_CLIENT *c, UINT APOP_authentication, NX_IP *ip_ptr,
                         NX_PACKET_POOL *packet_pool_ptr, const postie_transport *transport,
                         CHAR *client_name, CHAR *client_password,
                         const nx_postie_tls_settings *tls, const char *name)
{
    postie_pop3 *p = &c->nx_pop3_client_session;
    postie_status st;

    c->nx_pop3_client_ip_ptr = ip_ptr;
    c->nx_pop3_client_packet_pool_ptr = packet_pool_ptr;
    c->nx_pop3_client_enable_APOP_authentication = APOP_authentication ? NX_TRUE : NX_FALSE;
    st = postie_pop3_init(p, transport);
    if (st != POSTIE_OK) {
        if (transport->close != NULL) {
            transport->close(transport->ctx);
        }
        memset(c, 0, sizeof *c);
        return NX_PTR_ERROR;
    }
    postie_pop3_set_timeout(p, TICKS_TO_MS(NX_POP3_SERVER_REPLY_TIMEOUT));
    if (tls == NULL) {
        /* The NetX Duo service speaks plain TCP and logs in with APOP or
         * USER/PASS, as the original does (docs/netx-compat.md): opt out of
         * the native client's default TLS policy explicitly. */
        (void)postie_pop3_set_tls(p, POSTIE_TLS_OFF, NULL);
        postie_pop3_allow_plaintext_credentials(p, 1);
        /* the NetX client never sends CAPA: the greeting, then the login */
        st = postie_pop3_open_ex(p, POSTIE_POP3_OPEN_NO_CAPA);
    } else {
        /* TLS (nx_postie_tls.h): the native policy, and no plaintext
         * allowance, so USER/PASS only ever go over TLS. STLS needs CAPA to
         * be offered; over implicit TLS the session is the original's. */
        st = postie_pop3_set_tls(p, nx_postie_tls_policy(tls->mode),
                                 tls->mode == NX_POSTIE_TLS_IMPLICIT ? NULL : name);
        if (st == POSTIE_OK) {
            st = tls->mode == NX_POSTIE_TLS_IMPLICIT ? postie_pop3_open_ex(p, POSTIE_POP3_OPEN_NO_CAPA)
                                                     : postie_pop3_open(p);
        }
        if (st == POSTIE_ERR_SERVER && (postie_pop3_caps(p) & POSTIE_POP3_CAP_STLS)) {
            st = POSTIE_ERR_TLS_REQUIRED; /* -ERR to STLS: TLS refused */
        }
    }
    if (st == POSTIE_OK) {
        st = postie_pop3_login(p, client_name, client_password,
                               APOP_authentication ? POSTIE_POP3_LOGIN_AUTO : POSTIE_POP3_LOGIN_USER);
        if (st != POSTIE_OK && postie_pop3_get_state(p) == POSTIE_POP3_STATE_AUTHORIZATION) {
            /* refused: end the session politely before hanging up */
            (void)postie_pop3_quit(p, NULL);
        }
    }
    if (st != POSTIE_OK) {
        postie_pop3_close(p);
        memset(c, 0, sizeof *c);
        return map_status(st);
    }
    c->nx_pop3_client_id = NX_POP3_CLIENT_ID;
    return NX_SUCCESS;
}

UINT nx_postie_pop3_client_create_on(NX_POP3_CLIENT *client_ptr, UINT APOP_authentication,
                                     NX_IP *ip_ptr, NX_PACKET_POOL *packet_pool_ptr,
                                     const postie_transport *transport,
                                     CHAR *client_name, CHAR *client_password)
{
    UINT status = check_args(client_ptr, packet_pool_ptr, client_name, client_password);

    if (transport == NULL) {
        return NX_PTR_ERROR;
    }
    if (status != NX_SUCCESS) {
        if (transport->close != NULL) {
            transport->close(transport->ctx);
        }
        return status;
    }
    memset(client_ptr, 0, sizeof *client_ptr);
    client_ptr->nx_pop3_client_tcp.fd = -1;
    return session_open(client_ptr, APOP_authentication, ip_ptr, packet_pool_ptr, transport,
                        client_name, client_password, NULL, NULL);
}

VOID nx_postie_pop3_client_timeout_set(NX_POP3_CLIENT *client_ptr, unsigned timeout_ms)
{
    if (client_ptr != NULL) {
        postie_pop3_set_timeout(&client_ptr->nx_pop3_client_session, timeout_ms);
    }
}

/* Connects to the address, secures the connection when tls is not NULL,
 * then greeting and login. */
static UINT connect_and_open(NX_POP3_CLIENT *client_ptr, UINT APOP_authentication, NX_IP *ip_ptr,
                             NX_PACKET_POOL *packet_pool_ptr, NXD_ADDRESS *server_duo_address,
                             ULONG server_port, CHAR *client_name, CHAR *client_password,
                             const nx_postie_tls_settings *tls)
{
    char host[64], port[8];
    const char *name;
    postie_transport tr;
    postie_status st;
    UINT status;

    if (ip_ptr == NULL || server_duo_address == NULL) {
        return NX_PTR_ERROR;
    }
    status = check_args(client_ptr, packet_pool_ptr, client_name, client_password);
    if (status != NX_SUCCESS) {
        return status;
    }
    if (server_port == 0 || server_port > 65535UL) {
        return NX_POP3_PARAM_ERROR;
    }
    if (nx_postie_address_string(server_duo_address, host, sizeof host) != 0) {
        return NX_IP_ADDRESS_ERROR;
    }
    snprintf(port, sizeof port, "%lu", (unsigned long)server_port);
    memset(client_ptr, 0, sizeof *client_ptr);
    st = postie_tcp_connect(&client_ptr->nx_pop3_client_tcp, host, port,
                            TICKS_TO_MS(NX_POP3_CLIENT_CONNECTION_TIMEOUT));
    if (st != POSTIE_OK) {
        memset(client_ptr, 0, sizeof *client_ptr);
        return st == POSTIE_ERR_TIMEOUT ? NX_NOT_CONNECTED : map_status(st);
    }
    if (tls == NULL) {
        postie_tcp_transport(&client_ptr->nx_pop3_client_tcp, &tr);
        return session_open(client_ptr, APOP_authentication, ip_ptr, packet_pool_ptr, &tr,
                            client_name, client_password, NULL, NULL);
    }
    /* the certificate is checked against the configured name, else the address */
    name = tls->server_name != NULL ? tls->server_name : host;
    st = nx_postie_tls_open(&client_ptr->nx_pop3_client_tls, &client_ptr->nx_pop3_client_tcp, tls,
                            name, TICKS_TO_MS(NX_POP3_SERVER_REPLY_TIMEOUT), &tr);
    if (st != POSTIE_OK) {
        memset(client_ptr, 0, sizeof *client_ptr);
        return map_status(st == POSTIE_ERR_PARAM ? POSTIE_ERR_TLS : st);
    }
    return session_open(client_ptr, APOP_authentication, ip_ptr, packet_pool_ptr, &tr, client_name,
                        client_password, tls, name);
}

UINT nxd_pop3_client_create(NX_POP3_CLIENT *client_ptr, UINT APOP_authentication, NX_IP *ip_ptr,
                            NX_PACKET_POOL *packet_pool_ptr, NXD_ADDRESS *server_duo_address,
                            ULONG server_port, CHAR *client_name, CHAR *client_password)
{
    return connect_and_open(client_ptr, APOP_authentication, ip_ptr, packet_pool_ptr,
                            server_duo_address, server_port, client_name, client_password, NULL);
}

static void v4_address(NXD_ADDRESS *a, ULONG server_ip_address)
{
    memset(a, 0, sizeof *a);
    a->nxd_ip_version = NX_IP_VERSION_V4;
    a->nxd_ip_address.v4 = server_ip_address;
}

UINT nx_pop3_client_create(NX_POP3_CLIENT *client_ptr, UINT APOP_authentication, NX_IP *ip_ptr,
                           NX_PACKET_POOL *packet_pool_ptr, ULONG server_ip_address,
                           ULONG server_port, CHAR *client_name, CHAR *client_password)
{
    NXD_ADDRESS a;

    v4_address(&a, server_ip_address);
    return nxd_pop3_client_create(client_ptr, APOP_authentication, ip_ptr, packet_pool_ptr, &a,
                                  server_port, client_name, client_password);
}

/* ---- TLS (nx_postie_tls.h) ------------------------------------------------ */

/* Checks what every TLS create call checks first, into *tls. */
static UINT tls_args(const NX_POSTIE_TLS_CONFIG *tls_config, nx_postie_tls_settings *tls)
{
    if (tls_config == NULL) {
        return NX_PTR_ERROR;
    }
    if (!nx_postie_tls_available()) {
        return NX_POSTIE_TLS_NOT_AVAILABLE;
    }
    if (nx_postie_tls_check(tls_config, tls) != 0) {
        return NX_POP3_PARAM_ERROR;
    }
    return NX_SUCCESS;
}

UINT nxd_postie_pop3_client_tls_create(NX_POP3_CLIENT *client_ptr, UINT APOP_authentication,
                                       NX_IP *ip_ptr, NX_PACKET_POOL *packet_pool_ptr,
                                       NXD_ADDRESS *server_duo_address, ULONG server_port,
                                       CHAR *client_name, CHAR *client_password,
                                       const NX_POSTIE_TLS_CONFIG *tls_config)
{
    nx_postie_tls_settings tls;
    UINT status = tls_args(tls_config, &tls);

    if (status != NX_SUCCESS) {
        return status;
    }
    return connect_and_open(client_ptr, APOP_authentication, ip_ptr, packet_pool_ptr,
                            server_duo_address, server_port, client_name, client_password, &tls);
}

UINT nx_postie_pop3_client_tls_create(NX_POP3_CLIENT *client_ptr, UINT APOP_authentication,
                                      NX_IP *ip_ptr, NX_PACKET_POOL *packet_pool_ptr,
                                      ULONG server_ip_address, ULONG server_port,
                                      CHAR *client_name, CHAR *client_password,
                                      const NX_POSTIE_TLS_CONFIG *tls_config)
{
    NXD_ADDRESS a;

    v4_address(&a, server_ip_address);
    return nxd_postie_pop3_client_tls_create(client_ptr, APOP_authentication, ip_ptr,
                                             packet_pool_ptr, &a, server_port, client_name,
                                             client_password, tls_config);
}

UINT nx_postie_pop3_client_tls_create_on(NX_POP3_CLIENT *client_ptr, UINT APOP_authentication,
                                         NX_IP *ip_ptr, NX_PACKET_POOL *packet_pool_ptr,
                                         const postie_transport *transport, CHAR *client_name,
                                         CHAR *client_password,
                                         const NX_POSTIE_TLS_CONFIG *tls_config)
{
    nx_postie_tls_settings tls;
    UINT status;

    if (transport == NULL) {
        return NX_PTR_ERROR;
    }
    status = tls_args(tls_config, &tls);
    if (status == NX_SUCCESS) {
        status = check_args(client_ptr, packet_pool_ptr, client_name, client_password);
    }
    if (status == NX_SUCCESS && tls.server_name == NULL) {
        status = NX_POP3_PARAM_ERROR; /* no address to check the certificate against */
    }
    if (status != NX_SUCCESS) {
        if (transport->close != NULL) {
            transport->close(transport->ctx);
        }
        return status;
    }
    memset(client_ptr, 0, sizeof *client_ptr);
    client_ptr->nx_pop3_client_tcp.fd = -1;
    return session_open(client_ptr, APOP_authentication, ip_ptr, packet_pool_ptr, transport,
                        client_name, client_password, &tls, tls.server_name);
}

/* ---- transaction state --------------------------------------------------- */

/* Learns the number of items with LIST when no STAT or LIST has told it yet
 * (RFC 1939's second sample session does just that); *size_of (may be NULL)
 * gets the size of item `want` if the listing names it, else 0. */
static UINT learn_items(NX_POP3_CLIENT *c, UINT want, ULONG *size_of, UINT *listed)
{
    postie_pop3 *p = &c->nx_pop3_client_session;
    unsigned long msg, octets, highest = 0;
    postie_status st;

    if (size_of != NULL) {
        *size_of = 0;
    }
    if (listed != NULL) {
        *listed = NX_FALSE;
    }
    if (c->nx_pop3_client_items_known) {
        return NX_SUCCESS;
    }
    st = postie_pop3_list_begin(p);
    while (st == POSTIE_OK) {
        st = postie_pop3_list_next(p, &msg, &octets);
        if (st == POSTIE_OK) {
            if (msg > highest) {
                highest = msg;
            }
            if (msg == want) {
                if (size_of != NULL) {
                    *size_of = octets;
                }
                if (listed != NULL) {
                    *listed = NX_TRUE;
                }
            }
        }
    }
    if (st != POSTIE_DONE) {
        return map_status(st);
    }
    c->nx_pop3_client_items_known = NX_TRUE;
    c->nx_pop3_client_maildrop_items = (UINT)highest;
    return NX_SUCCESS;
}

/* Common entry checks of a service taking a mail item; *listed (may be
 * NULL) is NX_TRUE when a LIST just named the item, its size in *size_of. */
static UINT item_guard(NX_POP3_CLIENT *c, UINT item, ULONG *size_of, UINT *listed)
{
    UINT status;

    if (!created(c)) {
        return NX_PTR_ERROR;
    }
    if (item == 0) {
        return NX_POP3_CLIENT_INVALID_INDEX;
    }
    if (c->nx_pop3_client_ready_to_download ||
        postie_pop3_get_state(&c->nx_pop3_client_session) != POSTIE_POP3_STATE_TRANSACTION) {
        return NX_POP3_CLIENT_INVALID_STATE;
    }
    status = learn_items(c, item, size_of, listed);
    if (status != NX_SUCCESS) {
        return status;
    }
    return NX_SUCCESS;
}

UINT nx_pop3_client_mail_items_get(NX_POP3_CLIENT *client_ptr, UINT *number_mail_items,
                                   ULONG *maildrop_total_size)
{
    unsigned long count = 0, octets = 0;
    postie_status st;

    if (!created(client_ptr)) {
        return NX_PTR_ERROR;
    }
    if (client_ptr->nx_pop3_client_ready_to_download) {
        return NX_POP3_CLIENT_INVALID_STATE;
    }
    st = postie_pop3_stat(&client_ptr->nx_pop3_client_session, &count, &octets);
    if (st != POSTIE_OK) {
        return map_status(st);
    }
    client_ptr->nx_pop3_client_maildrop_items = (UINT)count;
    client_ptr->nx_pop3_client_total_message_size = (ULONG)octets;
    client_ptr->nx_pop3_client_items_known = NX_TRUE;
    if (number_mail_items != NULL) {
        *number_mail_items = (UINT)count;
    }
    if (maildrop_total_size != NULL) {
        *maildrop_total_size = (ULONG)octets;
    }
    return NX_SUCCESS;
}

UINT nx_pop3_client_mail_item_size_get(NX_POP3_CLIENT *client_ptr, UINT mail_item, ULONG *size)
{
    unsigned long octets = 0;
    ULONG listed_size = 0;
    UINT status, listed = NX_FALSE;

    if (size == NULL) {
        return NX_PTR_ERROR;
    }
    *size = 0;
    status = item_guard(client_ptr, mail_item, &listed_size, &listed);
    if (status != NX_SUCCESS) {
        return status;
    }
    if (listed) {
        *size = listed_size; /* the LIST that learnt the count gave it */
        return NX_SUCCESS;
    }
    status = map_status(postie_pop3_list(&client_ptr->nx_pop3_client_session, mail_item, &octets));
    if (status == NX_SUCCESS) {
        *size = (ULONG)octets;
    }
    return status;
}

UINT nx_pop3_client_mail_item_get(NX_POP3_CLIENT *client_ptr, UINT mail_item, ULONG *item_size)
{
    unsigned long octets = 0;
    ULONG listed = 0;
    UINT status;

    if (item_size != NULL) {
        *item_size = 0;
    }
    status = item_guard(client_ptr, mail_item, &listed, NULL);
    if (status != NX_SUCCESS) {
        return status;
    }
    status = map_status(postie_pop3_retr_begin(&client_ptr->nx_pop3_client_session, mail_item, &octets));
    if (status != NX_SUCCESS) {
        return status;
    }
    client_ptr->nx_pop3_client_maildrop_index = mail_item;
    client_ptr->nx_pop3_client_ready_to_download = NX_TRUE;
    client_ptr->nx_pop3_client_has_carry = NX_FALSE;
    if (item_size != NULL) {
        *item_size = octets != 0 ? (ULONG)octets : listed;
    }
    return NX_SUCCESS;
}

/* Ends a download on a failure: the session is gone (the native client
 * closed it), nothing more will come. */
static UINT download_failed(NX_POP3_CLIENT *c, NX_PACKET *pkt, postie_status st)
{
    c->nx_pop3_client_ready_to_download = NX_FALSE;
    c->nx_pop3_client_has_carry = NX_FALSE;
    nx_packet_release(pkt);
    return map_status(st);
}

UINT nx_pop3_client_mail_item_message_get(NX_POP3_CLIENT *client_ptr, NX_PACKET **recv_packet_ptr,
                                          ULONG *bytes_retrieved, UINT *final_packet)
{
    postie_pop3 *p;
    NX_PACKET *pkt;
    UINT status, done = NX_FALSE;

    if (recv_packet_ptr == NULL || bytes_retrieved == NULL || final_packet == NULL) {
        return NX_PTR_ERROR;
    }
    *recv_packet_ptr = NULL;
    *bytes_retrieved = 0;
    *final_packet = NX_FALSE;
    if (!created(client_ptr)) {
        return NX_PTR_ERROR;
    }
    if (!client_ptr->nx_pop3_client_ready_to_download) {
        return NX_POP3_CLIENT_INVALID_STATE;
    }
    p = &client_ptr->nx_pop3_client_session;
    status = nx_packet_allocate(client_ptr->nx_pop3_client_packet_pool_ptr, &pkt, NX_RECEIVE_PACKET,
                                NX_POP3_CLIENT_PACKET_TIMEOUT);
    if (status != NX_SUCCESS) {
        return status;
    }
    if (client_ptr->nx_pop3_client_has_carry) {
        *pkt->nx_packet_append_ptr++ = client_ptr->nx_pop3_client_carry;
        client_ptr->nx_pop3_client_has_carry = NX_FALSE;
    }
    while (!done) {
        size_t room = (size_t)(pkt->nx_packet_data_end - pkt->nx_packet_append_ptr), n = 0;
        postie_status st;
        if (room == 0) {
            /* full: look one byte ahead to know whether this is the last packet */
            st = postie_pop3_read(p, &client_ptr->nx_pop3_client_carry, 1, &n);
            if (st == POSTIE_OK) {
                client_ptr->nx_pop3_client_has_carry = NX_TRUE;
                break;
            }
        } else {
            st = postie_pop3_read(p, pkt->nx_packet_append_ptr, room, &n);
            if (st == POSTIE_OK) {
                pkt->nx_packet_append_ptr += n;
                continue;
            }
        }
        if (st != POSTIE_DONE) {
            return download_failed(client_ptr, pkt, st);
        }
        done = NX_TRUE;
    }
    pkt->nx_packet_length = (ULONG)(pkt->nx_packet_append_ptr - pkt->nx_packet_prepend_ptr);
    if (done) {
        client_ptr->nx_pop3_client_ready_to_download = NX_FALSE;
    }
    *recv_packet_ptr = pkt;
    *bytes_retrieved = pkt->nx_packet_length;
    *final_packet = done;
    return NX_SUCCESS;
}

UINT nx_pop3_client_mail_item_delete(NX_POP3_CLIENT *client_ptr, UINT mail_index)
{
    UINT status = item_guard(client_ptr, mail_index, NULL, NULL);

    if (status != NX_SUCCESS) {
        return status;
    }
    return map_status(postie_pop3_dele(&client_ptr->nx_pop3_client_session, mail_index));
}

static UINT simple(NX_POP3_CLIENT *c, postie_status (*fn)(postie_pop3 *))
{
    if (!created(c)) {
        return NX_PTR_ERROR;
    }
    if (c->nx_pop3_client_ready_to_download) {
        return NX_POP3_CLIENT_INVALID_STATE;
    }
    return map_status(fn(&c->nx_pop3_client_session));
}

UINT nx_pop3_client_noop(NX_POP3_CLIENT *client_ptr)
{
    return simple(client_ptr, postie_pop3_noop);
}

UINT nx_pop3_client_reset(NX_POP3_CLIENT *client_ptr)
{
    return simple(client_ptr, postie_pop3_rset);
}

UINT nx_pop3_client_quit(NX_POP3_CLIENT *client_ptr)
{
    postie_pop3 *p;
    postie_status st;

    if (!created(client_ptr)) {
        return NX_PTR_ERROR;
    }
    p = &client_ptr->nx_pop3_client_session;
    if (client_ptr->nx_pop3_client_ready_to_download) {
        client_ptr->nx_pop3_client_ready_to_download = NX_FALSE;
        client_ptr->nx_pop3_client_has_carry = NX_FALSE;
        st = postie_pop3_drain(p);
        if (st != POSTIE_OK) {
            postie_pop3_close(p);
            return map_status(st);
        }
    }
    st = postie_pop3_quit(p, NULL);
    return map_status(st);
}

UINT nx_pop3_client_delete(NX_POP3_CLIENT *client_ptr)
{
    if (!created(client_ptr)) {
        return NX_PTR_ERROR;
    }
    postie_pop3_close(&client_ptr->nx_pop3_client_session);
    memset(client_ptr, 0, sizeof *client_ptr);
    return NX_SUCCESS;
}

/* ---- the guide's prose names (nxd_pop3_client.h) --------------------------- */

UINT nx_pop3_client_get_mail_item(NX_POP3_CLIENT *client_ptr, UINT mail_item, ULONG *item_size)
{
    return nx_pop3_client_mail_item_get(client_ptr, mail_item, item_size);
}

UINT nx_pop3_client_mail_item_get_message_data(NX_POP3_CLIENT *client_ptr,
                                               NX_PACKET **recv_packet_ptr,
                                               ULONG *bytes_retrieved, UINT *final_packet)
{
    return nx_pop3_client_mail_item_message_get(client_ptr, recv_packet_ptr, bytes_retrieved,
                                                final_packet);
}
