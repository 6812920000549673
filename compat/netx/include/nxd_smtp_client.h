/*
 * nxd_smtp_client.h - the NetX Duo SMTP client service API, on Postie's
 * native SMTP client (postie/smtp.h), its message composer (postie/compose.h)
 * and the host's TCP (part of postie_netx).
 *
 * Same function names, signatures, constants and status values as the NetX
 * Duo SMTP client. Each nx_smtp_mail_send() is one session on a new
 * connection: greeting, EHLO (HELO if refused), AUTH when the server offers
 * it (the configured mechanism, or the strongest offered one that shows the
 * password no more than it would), MAIL, RCPT, DATA with the composed
 * message, QUIT, close. Where the
 * behaviour differs from the original, see docs/netx-compat.md.
 * Plain TCP, as the original; nx_postie_smtp_client_tls_set (nx_postie_tls.h,
 * an extension) makes every session use STARTTLS or SMTPS, verified.
 * No global state: every byte a client uses lives in its NX_SMTP_CLIENT, so
 * clients may be used from several threads at once (one thread per client).
 */
#ifndef POSTIE_NETX_NXD_SMTP_CLIENT_H
#define POSTIE_NETX_NXD_SMTP_CLIENT_H

#include "nx_api.h"
#include "nx_postie_tls.h"
#include "postie/compose.h"
#include "postie/posix_tcp.h"
#include "postie/smtp.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NX_SMTP_AUTHENTICATION_ERROR       0xA0u /* invalid authentication settings */
#define NX_SMTP_OVERSIZE_MAIL_DATA         0xA1u /* (not returned by this layer) */
#define NX_SMTP_INVALID_SERVER_REPLY       0xA2u /* a reply that is not SMTP */
#define NX_SMTP_INTERNAL_ERROR             0xA3u
#define NX_SMTP_SERVER_ERROR_CODE_RECEIVED 0xA4u /* (not returned by this layer) */
#define NX_SMTP_INVALID_PARAM              0xA5u /* invalid non-pointer argument */
#define NX_SMTP_PACKET_ALLOCATE_ERROR      0xA6u /* no packet from the client's pool */
#define NX_SMTP_GREET_REPLY_ERROR          0xA7u /* greeting refused (4xx/5xx) */
#define NX_SMTP_HELLO_REPLY_ERROR          0xA8u /* EHLO and HELO refused */
#define NX_SMTP_MAIL_REPLY_ERROR           0xA9u /* MAIL FROM refused */
#define NX_SMTP_RCPT_REPLY_ERROR           0xAAu /* RCPT TO refused */
#define NX_SMTP_MESSAGE_REPLY_ERROR        0xABu /* message refused after its final "." */
#define NX_SMTP_DATA_REPLY_ERROR           0xACu /* DATA refused */
#define NX_SMTP_AUTH_REPLY_ERROR           0xADu /* authentication refused */
#define NX_SMTP_SERVER_ERROR_REPLY         0xAEu /* (not returned by this layer) */
#define NX_SMTP_TRANSMIT_ERROR             0xAFu /* sending to the server failed */
#define NX_SMTP_INVALID_SERVER_CHALLENGE   0xB0u /* an AUTH challenge that is not base64 */
#define NX_SMTP_OVERSIZE_SERVER_REPLY      0xB1u /* a reply line longer than the client takes */
#define NX_SMTP_CLIENT_NOT_INTIALIZED      0xB2u /* client not created (spelled as the original) */

#define NX_SMTP_CLIENT_AUTH_NONE      0xFFFFu
#define NX_SMTP_CLIENT_AUTH_LOGIN     1u
#define NX_SMTP_CLIENT_AUTH_CRAM_MD5  2u  /* an addition: the original refuses it */
#define NX_SMTP_CLIENT_AUTH_PLAIN     3u

#define NX_SMTP_MAIL_PRIORITY_LOW     0x01u
#define NX_SMTP_MAIL_PRIORITY_NORMAL  0x02u
#define NX_SMTP_MAIL_PRIORITY_HIGH    0x04u

/* Room for the strings the client keeps (the original's limits were 40/20;
 * longer values are refused with NX_SMTP_INVALID_PARAM, never truncated). */
#ifndef NX_SMTP_CLIENT_MAX_USERNAME
#define NX_SMTP_CLIENT_MAX_USERNAME 255
#endif
#ifndef NX_SMTP_CLIENT_MAX_PASSWORD
#define NX_SMTP_CLIENT_MAX_PASSWORD 255
#endif
#define NX_SMTP_CLIENT_MAX_DOMAIN   255
#define NX_SMTP_CLIENT_MAX_ADDRESS  254

#ifndef NX_SMTP_CLIENT_PACKET_TIMEOUT
#define NX_SMTP_CLIENT_PACKET_TIMEOUT     (2 * NX_IP_PERIODIC_RATE)
#endif
#ifndef NX_SMTP_CLIENT_CONNECTION_TIMEOUT
#define NX_SMTP_CLIENT_CONNECTION_TIMEOUT (10 * NX_IP_PERIODIC_RATE)
#endif
#ifndef NX_SMTP_MESSAGE_TIMEOUT
#define NX_SMTP_MESSAGE_TIMEOUT           (30 * NX_IP_PERIODIC_RATE)
#endif

#define NX_SMTP_CLIENT_ID ((ULONG)0x534D5450UL)

/* How a client gets its connection for each session (see nx_postie_hooks.h):
 * fills *out with a connected transport; returns POSTIE_OK or a status. */
typedef postie_status (*nx_postie_connect_fn)(void *user, const char *host, const char *port,
                                              unsigned timeout_ms, postie_transport *out);

typedef struct NX_SMTP_CLIENT_STRUCT {
    ULONG nx_smtp_client_id;                 /* NX_SMTP_CLIENT_ID while created */
    CHAR nx_smtp_username[NX_SMTP_CLIENT_MAX_USERNAME + 1];
    CHAR nx_smtp_password[NX_SMTP_CLIENT_MAX_PASSWORD + 1];
    CHAR nx_smtp_client_domain[NX_SMTP_CLIENT_MAX_DOMAIN + 1];
    CHAR nx_smtp_client_from_address[NX_SMTP_CLIENT_MAX_ADDRESS + 1]; /* without <> */
    UINT nx_smtp_client_authentication_type;
    NX_IP *nx_smtp_client_ip_ptr;
    NX_PACKET_POOL *nx_smtp_client_packet_pool_ptr;
    UINT nx_smtp_client_init_status;         /* NX_TRUE once created */
    NXD_ADDRESS nx_smtp_server_address;
    USHORT nx_smtp_server_port;
    UINT nx_smtp_client_reply_code_status;   /* code of the last server reply */
    /* host side (internal) */
    nx_postie_connect_fn nx_smtp_client_connect;
    void *nx_smtp_client_connect_user;
    unsigned nx_smtp_client_timeout_ms;
    postie_tcp nx_smtp_client_tcp;
    /* TLS (nx_postie_smtp_client_tls_set; mode 0: plain TCP, as the original) */
    UINT nx_smtp_client_tls_mode;
    CHAR nx_smtp_client_tls_server_name[NX_POSTIE_TLS_MAX_SERVER_NAME + 1]; /* "": the address */
    CHAR nx_smtp_client_tls_ca_file[NX_POSTIE_TLS_MAX_CA_FILE + 1];         /* "": system store */
    UINT nx_smtp_client_tls_pin_type;
    UCHAR nx_smtp_client_tls_pin[32];
    UINT nx_smtp_client_tls_insecure;
    UINT nx_smtp_client_tls_used;            /* this session's connection is nx_smtp_client_tls */
    NX_POSTIE_TLS_CONTEXT nx_smtp_client_tls;
    postie_transport nx_smtp_client_wire;    /* the session's transport */
    UINT nx_smtp_client_said_hello;          /* EHLO/HELO went out this session */
    postie_smtp nx_smtp_client_session;      /* the native client */
    postie_compose nx_smtp_client_compose;   /* the message composer */
} NX_SMTP_CLIENT;

/* Keeps the configuration; connects to nothing yet. username and password
 * (may be empty with NX_SMTP_CLIENT_AUTH_NONE), from_address ("a@b" or
 * "<a@b>") and client_domain (the EHLO argument) are copied.
 * NX_SUCCESS; NX_PTR_ERROR (NULL pointer); NX_SMTP_INVALID_PARAM (port 0,
 * a string too long, CR/LF/<> in it, an unusable domain, or a server address
 * that is neither IPv4 nor IPv6); NX_SMTP_AUTHENTICATION_ERROR (an unknown
 * authentication type, or LOGIN/PLAIN/CRAM-MD5 with an empty username). */
UINT nxd_smtp_client_create(NX_SMTP_CLIENT *client_ptr, NX_IP *ip_ptr,
                            NX_PACKET_POOL *client_packet_pool_ptr, CHAR *username, CHAR *password,
                            CHAR *from_address, CHAR *client_domain, UINT authentication_type,
                            NXD_ADDRESS *server_address, UINT port);

/* Sends one mail to recipient_address ("a@b" or "<a@b>") with the composed
 * headers (Date, From, To, Subject, Message-ID, MIME-Version and content
 * headers, X-Priority/Importance for LOW and HIGH; any other priority value
 * is taken as NORMAL) and mail_body_length bytes of mail_body as its text
 * (any size; CRLF or LF line ends; dot-stuffed on the wire).
 * NX_SUCCESS: the server accepted the message (250 to its final "."),
 * whatever happened to QUIT after it. Otherwise the message was not sent:
 * NX_SMTP_CLIENT_NOT_INTIALIZED; NX_PTR_ERROR; NX_SMTP_INVALID_PARAM (a bad
 * recipient, CR/LF in the subject, a body the composer refuses);
 * NX_SMTP_PACKET_ALLOCATE_ERROR (no packet from the pool within
 * NX_SMTP_CLIENT_PACKET_TIMEOUT); NX_SMTP_GREET_REPLY_ERROR;
 * NX_SMTP_HELLO_REPLY_ERROR; NX_SMTP_AUTH_REPLY_ERROR;
 * NX_SMTP_INVALID_SERVER_CHALLENGE; NX_SMTP_MAIL_REPLY_ERROR;
 * NX_SMTP_RCPT_REPLY_ERROR; NX_SMTP_DATA_REPLY_ERROR;
 * NX_SMTP_MESSAGE_REPLY_ERROR; NX_SMTP_INVALID_SERVER_REPLY;
 * NX_SMTP_OVERSIZE_SERVER_REPLY; NX_NOT_CONNECTED (could not connect, or the
 * server closed the connection); NX_NO_RESPONSE (the server did not answer
 * in time); NX_SMTP_TRANSMIT_ERROR (another transport failure).
 * nx_smtp_client_reply_code_status holds the code of the last reply. Either
 * way the connection is closed and the client is ready for the next call. */
UINT nx_smtp_mail_send(NX_SMTP_CLIENT *client_ptr, CHAR *recipient_address, UINT priority,
                       CHAR *subject, CHAR *mail_body, UINT mail_body_length);
/* The guide's prose name of nx_smtp_mail_send (chapter 1: "a recipient
 * address in the nx_smtp_client_mail call"): the same service, same
 * parameters and statuses. docs/netx-compat.md. */
UINT nx_smtp_client_mail(NX_SMTP_CLIENT *client_ptr, CHAR *recipient_address, UINT priority,
                         CHAR *subject, CHAR *mail_body, UINT mail_body_length);

/* Forgets the client (the password is wiped). NX_SUCCESS, NX_PTR_ERROR,
 * NX_SMTP_CLIENT_NOT_INTIALIZED. */
UINT nx_smtp_client_delete(NX_SMTP_CLIENT *client_ptr);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_NETX_NXD_SMTP_CLIENT_H */
