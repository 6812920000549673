/*
 * nxd_pop3_client.h - the NetX Duo POP3 client service API, on Postie's
 * native POP3 client (postie/pop3.h) and the host's TCP (part of postie_netx).
 *
 * Same function names, signatures, constants and status values as the NetX
 * Duo POP3 client; where the behaviour differs (always towards RFC 1939), see
 * docs/netx-compat.md. Summary of the session:
 *
 *   nxd_pop3_client_create / nx_pop3_client_create   connect, greeting, login
 *   nx_pop3_client_mail_items_get                    STAT
 *   nx_pop3_client_mail_item_size_get                LIST n
 *   nx_pop3_client_mail_item_get                     RETR n (gives the size)
 *   nx_pop3_client_mail_item_message_get             the message, packet by packet
 *   nx_pop3_client_mail_item_delete                  DELE n
 *   nx_pop3_client_noop / nx_pop3_client_reset       NOOP / RSET (additions)
 *   nx_pop3_client_quit                              QUIT (commits deletions), close
 *   nx_pop3_client_delete                            close (no QUIT), forget
 *
 * Chapter 1 of the NetX Duo POP3 client guide names two services in its
 * prose differently from its reference section and code; both names are
 * accepted (aliases with the same parameters and statuses, declared below):
 *   nx_pop3_client_get_mail_item               = nx_pop3_client_mail_item_get
 *   nx_pop3_client_mail_item_get_message_data  = nx_pop3_client_mail_item_message_get
 *
 * Statuses every service may return besides those listed with it:
 *   NX_PTR_ERROR (a NULL pointer, or a client not created),
 *   NX_POP3_CLIENT_INVALID_STATE (the session is closed, or a message is
 *   still being downloaded), and for a failed connection NX_NOT_CONNECTED
 *   (refused, reset or closed by the server), NX_NO_RESPONSE (the server
 *   did not answer in time), NX_NOT_SUCCESSFUL (any other transport failure);
 *   after those the session is closed.
 * NX_POP3_SERVER_ERROR_STATUS means the server answered -ERR (the session is
 * still usable) or answered something that is not POP3 (it is closed).
 *
 * The session is plain TCP, as the original's. To run it over TLS (STLS or
 * POP3S, certificate verified), create the client with
 * nx_postie_pop3_client_tls_create / nxd_postie_pop3_client_tls_create
 * (nx_postie_tls.h, an extension) instead.
 *
 * Mail items are numbered from 1. Item 0 is NX_POP3_CLIENT_INVALID_INDEX; an
 * item past the number of items in the maildrop is NX_POP3_INVALID_MAIL_ITEM;
 * nothing is sent for either and the session stays usable. The number of
 * items need not be asked first: when it is not known yet, the client learns
 * it with LIST.
 */
#ifndef POSTIE_NETX_NXD_POP3_CLIENT_H
#define POSTIE_NETX_NXD_POP3_CLIENT_H

#include "nx_api.h"
#include "nx_postie_tls.h"
#include "postie/pop3.h"
#include "postie/posix_tcp.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NX_POP3_CLIENT_ERROR_CONSTANT        0xB0
#define NX_POP3_PARAM_ERROR                  0xB1u /* invalid non-pointer argument */
#define NX_POP3_INVALID_MAIL_ITEM            0xB2u /* no such mail item in the maildrop */
#define NX_POP3_APOP_FAILED_MD5_DIGEST       0xB3u /* (not returned by this layer) */
#define NX_POP3_SERVER_ERROR_STATUS          0xB4u /* -ERR, or a reply that is not POP3 */
#define NX_POP3_MAIL_BUFFER_OVERFLOW         0xB5u /* (not returned by this layer) */
#define NX_POP3_INSUFFICIENT_PACKET_PAYLOAD  0xB6u /* (not returned by this layer) */
#define NX_POP3_CLIENT_INVALID_STATE         0xB7u /* call not allowed now */
#define NX_POP3_CLIENT_INVALID_INDEX         0xB8u /* mail item 0 */

#ifndef NX_POP3_CLIENT_PACKET_TIMEOUT
#define NX_POP3_CLIENT_PACKET_TIMEOUT        (1 * NX_IP_PERIODIC_RATE)
#endif
#ifndef NX_POP3_CLIENT_CONNECTION_TIMEOUT
#define NX_POP3_CLIENT_CONNECTION_TIMEOUT    (30 * NX_IP_PERIODIC_RATE)
#endif
#ifndef NX_POP3_SERVER_REPLY_TIMEOUT
#define NX_POP3_SERVER_REPLY_TIMEOUT         (10 * NX_IP_PERIODIC_RATE)
#endif

#define NX_POP3_CLIENT_ID ((ULONG)0x504F5033UL)

typedef struct NX_POP3_CLIENT_STRUCT {
    ULONG nx_pop3_client_id;                     /* NX_POP3_CLIENT_ID while created */
    NX_IP *nx_pop3_client_ip_ptr;
    NX_PACKET_POOL *nx_pop3_client_packet_pool_ptr; /* message packets come from here */
    UINT nx_pop3_client_enable_APOP_authentication;
    UINT nx_pop3_client_maildrop_items;          /* from the last STAT or LIST */
    ULONG nx_pop3_client_total_message_size;     /* from the last STAT */
    UINT nx_pop3_client_maildrop_index;          /* item of the last RETR */
    UINT nx_pop3_client_ready_to_download;       /* NX_TRUE while a message is being read */
    /* host side (internal) */
    UINT nx_pop3_client_items_known;
    UINT nx_pop3_client_has_carry;
    UCHAR nx_pop3_client_carry;                  /* one byte read ahead of a full packet */
    postie_tcp nx_pop3_client_tcp;
    NX_POSTIE_TLS_CONTEXT nx_pop3_client_tls;    /* TLS connection (nx_postie_tls.h) */
    postie_pop3 nx_pop3_client_session;          /* the native client */
} NX_POP3_CLIENT;

/* Connects to server_ip_address (IPv4, host order as IP_ADDRESS() makes it)
 * on server_port and logs in as client_name: with APOP_authentication set and
 * a timestamp in the greeting, APOP first and USER/PASS if APOP is refused;
 * otherwise USER/PASS. ip_ptr is accepted for compatibility (the host's stack
 * is used). Neither string is kept after the call.
 * NX_SUCCESS; NX_POP3_SERVER_ERROR_STATUS (greeting -ERR or login refused:
 * nothing is left open); NX_POP3_PARAM_ERROR (port 0 or above 65535, empty
 * name, CR or LF in name or password); connection statuses (above). */
UINT nx_pop3_client_create(NX_POP3_CLIENT *client_ptr, UINT APOP_authentication, NX_IP *ip_ptr,
                           NX_PACKET_POOL *packet_pool_ptr, ULONG server_ip_address,
                           ULONG server_port, CHAR *client_name, CHAR *client_password);
/* The same for an IPv4 or IPv6 address. Also NX_IP_ADDRESS_ERROR (neither
 * version). */
UINT nxd_pop3_client_create(NX_POP3_CLIENT *client_ptr, UINT APOP_authentication, NX_IP *ip_ptr,
                            NX_PACKET_POOL *packet_pool_ptr, NXD_ADDRESS *server_duo_address,
                            ULONG server_port, CHAR *client_name, CHAR *client_password);

/* STAT: number of items and their total size (either pointer may be NULL).
 * NX_SUCCESS, NX_POP3_SERVER_ERROR_STATUS. */
UINT nx_pop3_client_mail_items_get(NX_POP3_CLIENT *client_ptr, UINT *number_mail_items,
                                   ULONG *maildrop_total_size);
/* LIST mail_item: its size in octets. NX_SUCCESS, NX_POP3_CLIENT_INVALID_INDEX,
 * NX_POP3_INVALID_MAIL_ITEM, NX_POP3_SERVER_ERROR_STATUS (e.g. deleted). */
UINT nx_pop3_client_mail_item_size_get(NX_POP3_CLIENT *client_ptr, UINT mail_item, ULONG *size);
/* RETR mail_item: starts the download; *item_size (may be NULL) gets the size
 * the server announced, or the size LIST gave, or 0. Then call
 * nx_pop3_client_mail_item_message_get until it sets final_packet.
 * NX_SUCCESS, NX_POP3_CLIENT_INVALID_INDEX, NX_POP3_INVALID_MAIL_ITEM,
 * NX_POP3_SERVER_ERROR_STATUS. */
UINT nx_pop3_client_mail_item_get(NX_POP3_CLIENT *client_ptr, UINT mail_item, ULONG *item_size);
/* The next part of the message being downloaded, in a packet allocated from
 * the client's pool (at most the pool's payload, data at nx_packet_prepend_ptr,
 * nx_packet_length bytes, equal to *bytes_retrieved); the application releases
 * it with nx_packet_release. The bytes are the message itself: dot-unstuffed,
 * CRLF line ends, without the terminating ".". *final_packet is NX_TRUE on the
 * last packet (an empty message gives one empty final packet), after which
 * other commands may be sent again.
 * NX_SUCCESS; NX_POP3_CLIENT_INVALID_STATE (no download in progress);
 * NX_NO_PACKET (the pool stayed empty for NX_POP3_CLIENT_PACKET_TIMEOUT: call
 * again once packets are released; nothing is lost); connection statuses. */
UINT nx_pop3_client_mail_item_message_get(NX_POP3_CLIENT *client_ptr, NX_PACKET **recv_packet_ptr,
                                          ULONG *bytes_retrieved, UINT *final_packet);
/* The guide's prose names of the two services above (chapter 1: "using the
 * nx_pop3_client_get_mail_item service", "call the
 * nx_pop3_client_mail_item_get_message_data service"): the same services,
 * same parameters and statuses. docs/netx-compat.md. */
UINT nx_pop3_client_get_mail_item(NX_POP3_CLIENT *client_ptr, UINT mail_item, ULONG *item_size);
UINT nx_pop3_client_mail_item_get_message_data(NX_POP3_CLIENT *client_ptr,
                                               NX_PACKET **recv_packet_ptr,
                                               ULONG *bytes_retrieved, UINT *final_packet);
/* DELE mail_index (done when the session ends with QUIT).
 * NX_SUCCESS, NX_POP3_CLIENT_INVALID_INDEX, NX_POP3_INVALID_MAIL_ITEM,
 * NX_POP3_SERVER_ERROR_STATUS (e.g. already deleted). */
UINT nx_pop3_client_mail_item_delete(NX_POP3_CLIENT *client_ptr, UINT mail_index);
/* NOOP and RSET (RSET undeletes the items marked deleted).
 * NX_SUCCESS, NX_POP3_SERVER_ERROR_STATUS. */
UINT nx_pop3_client_noop(NX_POP3_CLIENT *client_ptr);
UINT nx_pop3_client_reset(NX_POP3_CLIENT *client_ptr);
/* QUIT (after reading and dropping the rest of a message still being
 * downloaded), then closes the connection. The client must still be deleted.
 * NX_SUCCESS (deletions done), NX_POP3_SERVER_ERROR_STATUS (the server could
 * not remove them), connection statuses. */
UINT nx_pop3_client_quit(NX_POP3_CLIENT *client_ptr);
/* Closes the connection if it is still open (without QUIT: no deletion is
 * committed) and forgets the client. NX_SUCCESS, NX_PTR_ERROR. */
UINT nx_pop3_client_delete(NX_POP3_CLIENT *client_ptr);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_NETX_NXD_POP3_CLIENT_H */
