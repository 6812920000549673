/*
 * postie/smtp.h - blocking SMTP submission client (RFC 5321, RFC 4954 AUTH,
 * RFC 2920 PIPELINING, RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 6531 SMTPUTF8,
 * RFC 3207 STARTTLS, RFC 2034/3463 enhanced status codes).
 *
 * No allocation: every byte lives in the postie_smtp struct, which the caller
 * owns (static, on the stack, or wherever). One context is one session; two
 * contexts may be used from two threads at once.
 *
 * Typical use:
 *     postie_smtp s; postie_smtp_rcpt to[2] = {{"a@example.org"}, {"b@example.org"}};
 *     postie_smtp_envelope env = {0};
 *     postie_smtp_init(&s, &transport);
 *     postie_smtp_set_domain(&s, "client.example.org");   (or set_local_addr)
 *     postie_smtp_set_tls(&s, POSTIE_TLS_REQUIRED, "mx.example.org"); (the default
 *                                                          policy; it needs the name)
 *     postie_smtp_open(&s);                                greeting, EHLO, STARTTLS, EHLO
 *     postie_smtp_auth(&s, POSTIE_SASL_PASSWORD_MECHS, user, pass);
 *     env.from = "me@example.org"; env.rcpts = to; env.nrcpts = 2;
 *     postie_smtp_mail(&s, &env);                          MAIL, RCPT..., [DATA]
 *     postie_smtp_data_begin(&s);                          DATA, 354
 *     postie_smtp_data_write(&s, chunk, n);                ... any number of times
 *     postie_smtp_data_end(&s);                            "." -> 250: sent
 *     postie_smtp_quit(&s);                                also closes the transport
 * or, for the middle part, postie_smtp_send() with a reader callback (e.g. the
 * message composer, compose.h) or postie_smtp_send_buf() with a buffer.
 *
 * Server replies: after every call that got a reply, postie_smtp_reply_code(),
 * postie_smtp_reply_enhanced() and postie_smtp_reply_text() give the last
 * reply (for postie_smtp_mail(): the reply that decided the result). A 4xx
 * reply is POSTIE_ERR_TRANSIENT (try again later), a 5xx reply
 * POSTIE_ERR_SERVER (permanent), unless a call documents a more precise status.
 *
 * Statuses every call that talks to the server may also return, after which
 * the session is dead (state CLOSED; later calls return POSTIE_ERR_STATE;
 * call postie_smtp_close()):
 *   transport: POSTIE_ERR_TIMEOUT, POSTIE_ERR_CLOSED (peer closed, also in the
 *     middle of a reply), POSTIE_ERR_IO, POSTIE_ERR_TLS;
 *   reply engine: POSTIE_ERR_PROTOCOL (not a reply line, a code that is not 3
 *     digits, inconsistent codes in one reply, an unexpected code class),
 *     POSTIE_ERR_LINE_TOO_LONG;
 *   a 421 reply (service closing) to any command: POSTIE_ERR_TRANSIENT, and
 *     the session is dead too.
 * Every call returns POSTIE_ERR_PARAM when s is NULL.
 * POSTIE_ERR_PARAM, POSTIE_ERR_STATE, POSTIE_ERR_UNSUPPORTED and
 * POSTIE_ERR_TOO_BIG returned before anything was sent leave the session as
 * it was. Every network step is bounded by the timeout (set_timeout): a
 * server that stalls or closes gives an error, never a hang.
 * Feature switches (postie_config_defaults.h, docs/porting.md): built with a
 * feature off, the calls that need it return POSTIE_ERR_UNSUPPORTED before
 * anything is sent: POSTIE_WITH_SMTP_STARTTLS 0: postie_smtp_starttls(), and
 * open() under the TLS policies REQUIRED and OPPORTUNISTIC; a SASL mechanism
 * off: postie_smtp_auth() asked only for mechanisms not built;
 * POSTIE_WITH_SMTPUTF8 0: an envelope that needs SMTPUTF8.
 * POSTIE_WITH_SMTP_PIPELINING 0 and POSTIE_WITH_CHUNKING 0 fail nothing: each
 * command then waits for its reply, and messages go with DATA.
 */
#ifndef POSTIE_SMTP_H
#define POSTIE_SMTP_H

#include <stddef.h>
#include "postie/postie_config_defaults.h"
#include "postie/status.h"
#include "postie/transport.h"
#include "postie/line.h"
#include "postie/sasl.h"
#include "postie/security.h"
#include "postie/smtp_proto.h"
#include "postie/conn.h"
#include "postie/sasl_exchange.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Scratch room for a raw SASL response before base64 (it must then fit in
 * one command line of POSTIE_CMD_MAX with "AUTH XOAUTH2 " and CRLF). */
#define POSTIE_SMTP_SASL_RAW_MAX POSTIE_SASL_RAW_MAX

typedef enum postie_smtp_state {
    POSTIE_SMTP_STATE_CLOSED = 0, /* init'ed and not open; or after quit/close/fatal error */
    POSTIE_SMTP_STATE_READY,      /* greeted with EHLO/HELO; no mail transaction */
    POSTIE_SMTP_STATE_MAIL,       /* MAIL and RCPTs accepted; DATA not yet sent */
    POSTIE_SMTP_STATE_DATA        /* 354 received: message content goes out */
} postie_smtp_state;

/* One recipient of an envelope. The caller fills addr (and params); the
 * client fills the rest when the RCPT got its reply. */
typedef struct postie_smtp_rcpt {
    const char *addr;      /* in: forward-path without <>, NUL-terminated */
    const char *params;    /* in: extra RCPT parameters ("NOTIFY=FAILURE"), or NULL */
    int code;              /* out: the RCPT reply code; 0 when not answered */
    char enhanced[POSTIE_SMTP_ENHANCED_MAX]; /* out: its enhanced status, or "" */
    postie_status status;  /* out: POSTIE_OK (accepted), POSTIE_ERR_TRANSIENT
                              (4xx), POSTIE_ERR_SERVER (5xx), or
                              POSTIE_ERR_STATE when not answered */
} postie_smtp_rcpt;

/* What to do when some (not all) recipients are refused. */
typedef enum postie_smtp_refused {
    POSTIE_SMTP_REFUSED_ABORT = 0,   /* RSET, nothing is sent (default) */
    POSTIE_SMTP_REFUSED_CONTINUE     /* send to the recipients that were accepted */
} postie_smtp_refused;

/* Message flags of an envelope. */
#define POSTIE_SMTP_MSG_8BIT 0x01u   /* content has bytes >= 0x80: BODY=8BITMIME
                                        when the server offers 8BITMIME */
#define POSTIE_SMTP_MSG_UTF8 0x02u   /* headers hold UTF-8 (RFC 6532): ask for
                                        SMTPUTF8 even with ASCII addresses */
#define POSTIE_SMTP_MSG_BINARY 0x04u /* content that text transfer would change
                                        (postie_smtp_needs_binary): in a batch, a
                                        server with BINARYMIME and CHUNKING gets it
                                        by BDAT as it is, BODY=BINARYMIME (RFC 3030);
                                        elsewhere it goes as text, line ends made CRLF */

typedef struct postie_smtp_envelope {
    const char *from;          /* reverse-path without <>; "" or NULL for the
                                  null path "<>" (bounces) */
    const char *mail_params;   /* extra MAIL parameters ("RET=HDRS ENVID=x"), or NULL */
    postie_smtp_rcpt *rcpts;   /* nrcpts >= 1 entries (exactly 1 with
                                  POSTIE_WITH_SMTP_MULTI_RCPT 0); results
                                  written back */
    size_t nrcpts;
    unsigned long long size;   /* message size in octets when known, 0 if not:
                                  sent as SIZE= when the server has SIZE, and
                                  checked against its limit */
    unsigned flags;            /* POSTIE_SMTP_MSG_* */
    postie_smtp_refused on_refused;
    size_t accepted;           /* out: how many recipients were accepted */
} postie_smtp_envelope;

/* One message of postie_smtp_send_batch(). */
typedef struct postie_smtp_msg {
    postie_smtp_envelope *env; /* in: sender, recipients (on_refused must be
                                  CONTINUE); out: each recipient's reply */
    const void *data;          /* in: the message (any line ends; owned by
                                  the caller until the call returns) */
    size_t len;
    postie_status status;      /* out: POSTIE_OK (accepted: 250 to its end);
                                  ERR_TRANSIENT, ERR_SERVER, ERR_TOO_BIG,
                                  ERR_RECIPIENTS (refused: not delivered);
                                  ERR_OUTCOME_UNKNOWN (it went out whole and
                                  the reply was lost: it may have been
                                  delivered); the connection's status
                                  (ERR_CLOSED, ERR_TIMEOUT, ...) when it
                                  never went out whole (not delivered) */
    int code;                  /* out: the reply that decided it, 0 if none */
    char enhanced[POSTIE_SMTP_ENHANCED_MAX];
    unsigned long wire_end;    /* internal: output offset past its last byte */
    unsigned char flags;       /* internal */
} postie_smtp_msg;

/* Reader of message bytes for postie_smtp_send(): fills buf[0..cap) and sets
 * *n; returns POSTIE_OK with *n > 0, POSTIE_DONE (with *n == 0, or with the
 * last bytes in *n > 0) at the end, or a negative status to abort the
 * message (the client then drops the connection: a message already in DATA
 * cannot be taken back any other way). */
typedef postie_status (*postie_smtp_reader)(void *user, char *buf, size_t cap, size_t *n);

typedef struct postie_smtp {
    /* the byte-sized scalars first: a Cortex-M reaches them with 16-bit
     * loads and stores (offsets below 32) */
    unsigned timeout_ms;
    unsigned char op;            /* the operation in progress (internal) */
    unsigned char phase;         /* how far it got (internal) */
    unsigned char reply_open;    /* a reply is being assembled (internal) */
    unsigned char tls_wanted;    /* POSTIE_START_TLS was returned, not yet reported */
    postie_smtp_state state;
    unsigned char fail;          /* status to report at the end of the operation (negated) */
    unsigned char sub_op, sub_phase; /* send(): the part in progress (internal; a pair,
                                    as op and phase, so they move together) */
    unsigned char mflags;        /* the mail transaction's flags (internal) */
    unsigned char connected;     /* transport not yet closed */
    unsigned char greeted;       /* open() already ran (once per connection) */
    unsigned char data_opened;   /* 354 already received by a pipelined DATA */
    unsigned char helo;          /* 1 when the server got HELO, not EHLO */
    unsigned char connected_abort; /* send(): the reader failed, drop the connection */
    unsigned char saved_rank;    /* which reply decided the transaction (internal) */
    signed char mail_st, data_st; /* MAIL's and a pipelined DATA's statuses (internal) */
    unsigned char tls_policy;    /* postie_tls_policy */
    unsigned char tls_active;    /* the connection is encrypted (STARTTLS done, or implicit) */
    unsigned char allow_plain;   /* credentials may cross an unencrypted connection */
    size_t m_sent, m_replied, m_total; /* MAIL/RCPT/DATA sent, answered, in all (internal) */
    size_t wr_done;              /* bytes of the current data_write() taken (internal) */
    size_t chunk_len, chunk_off; /* send(): the reader's chunk (internal) */
    size_t sb_off;               /* send_buf(): bytes of the message read (internal) */
    postie_transport tr;         /* recv NULL: the caller moves the bytes (event loop) */
#if POSTIE_WITH_SMTP_BATCH
    size_t b_queued;             /* send_batch(): messages queued (internal) */
    size_t b_done;               /* send_batch(): messages decided (internal) */
    size_t b_off;                /* send_batch(): body bytes of b_queued queued */
    size_t b_rcpt;               /* send_batch(): next recipient reply (internal) */
    unsigned char b_phase;       /* send_batch(): what is being queued (internal) */
    struct postie_smtp_msg *b_msgs; /* send_batch(): the messages (internal) */
    size_t b_n;
#endif
    postie_smtp_ext ext;
    char domain[POSTIE_SMTP_DOMAIN_MAX]; /* EHLO argument */
    postie_smtp_reply reply;     /* last complete reply */
#if POSTIE_SHARED_BUFFERS
    /* Never live at the same time: the saved reply within one MAIL, DATA,
     * AUTH or refused open() call, the DATA encoder from a 354 to the
     * reply to the final dot, the SASL exchange within AUTH (whose scratch
     * is then the line buffer, as is send()'s chunk buffer). */
    union {
        postie_smtp_reply saved;
        postie_smtp_dot dot;
        postie_sasl_x sx;
    } sh;
#else
    postie_smtp_reply saved;     /* the reply that decided a multi-reply call */
    postie_smtp_dot dot;         /* DATA encoder of the message in progress */
#endif
    unsigned long messages_sent; /* messages that got 250 to their final dot */
    postie_conn conn;            /* the connection engine: queues, framing, matching */
#if POSTIE_WITH_SMTP_STARTTLS
    char server_name[POSTIE_SERVER_NAME_MAX]; /* for STARTTLS in open() (none without it) */
#endif
    postie_random_fn random;     /* SCRAM nonces; NULL: SCRAM is never chosen */
    void *random_ctx;
#if !POSTIE_SHARED_BUFFERS
    postie_sasl_x sx;            /* the SASL exchange of AUTH; send()'s chunk buffer */
#endif
} postie_smtp;

/* Prepares s over transport t (copied; t->ctx must outlive s). Sends
 * nothing. The EHLO argument defaults to "[127.0.0.1]" until set_domain or
 * set_local_addr is called.
 * Returns POSTIE_OK, or POSTIE_ERR_PARAM (s/t NULL, or t->send/recv NULL). */
postie_status postie_smtp_init(postie_smtp *s, const postie_transport *t);

/* Prepares s for an event loop: no transport; the caller moves the bytes
 * through postie_smtp_conn() (docs/event-loop.md) and repeats each call
 * while it returns POSTIE_AGAIN (with the same arguments). STARTTLS makes a
 * call return POSTIE_START_TLS: start TLS on the socket, then report it
 * with postie_smtp_tls_started() and repeat the call. Sends nothing.
 * Returns POSTIE_OK, or POSTIE_ERR_PARAM (s NULL). */
postie_status postie_smtp_init_nb(postie_smtp *s);

/* The session's connection engine (conn.h). Owned by s; NULL for s NULL. */
postie_conn *postie_smtp_conn(postie_smtp *s);

/* Reports the TLS handshake POSTIE_START_TLS asked for: result POSTIE_OK,
 * or the handshake's failure (the session then ends with it). Returns
 * POSTIE_OK, that failure, POSTIE_ERR_STATE (nothing was asked) or
 * POSTIE_ERR_PARAM. */
postie_status postie_smtp_tls_started(postie_smtp *s, postie_status result);

/* Overall deadline of every later call of the blocking API (conn.h,
 * postie_conn_set_deadline): POSTIE_ERR_TIMEOUT once a call has run longer
 * than deadline_ms plus 1 s for every min_rate bytes it moved; each call counts alone (a message body written in pieces: each piece). The
 * per-read timeout still bounds each wait. clock NULL or deadline_ms 0
 * (the default): no deadline. ports/posix gives postie_posix_clock_ms.
 * Returns POSTIE_OK, POSTIE_ERR_PARAM (s NULL), or POSTIE_ERR_UNSUPPORTED
 * (POSTIE_WITH_DEADLINE 0: nothing is set). */
postie_status postie_smtp_set_deadline(postie_smtp *s, unsigned long deadline_ms,
                                       unsigned long min_rate, postie_clock_fn clock,
                                       void *clock_ctx);

/* Timeout of every later network step, in ms (default POSTIE_DEFAULT_TIMEOUT_MS). */
void postie_smtp_set_timeout(postie_smtp *s, unsigned timeout_ms);

/* The client's domain for EHLO/HELO (copied; "client.example.org", or an
 * address literal "[192.0.2.1]"). Returns POSTIE_OK, or POSTIE_ERR_PARAM
 * (NULL, empty, longer than POSTIE_SMTP_DOMAIN_MAX-1, CR/LF/space/control
 * bytes or other characters not allowed by postie_smtp_domain_ok()). */
postie_status postie_smtp_set_domain(postie_smtp *s, const char *domain);

/* Uses the client's own IP address (text, as getsockname()+inet_ntop give
 * it: "192.0.2.1" or "2001:db8::1") as the EHLO argument in address-literal
 * form ("[192.0.2.1]", "[IPv6:2001:db8::1]"), for clients with no domain
 * name (RFC 5321 sec. 4.1.4). Returns POSTIE_OK or POSTIE_ERR_PARAM. */
postie_status postie_smtp_set_local_addr(postie_smtp *s, const char *ip);

/* TLS policy of the session (before open; default POSTIE_TLS_REQUIRED, see
 * security.h and docs/tls.md) and the server name the certificate is checked
 * against when open() upgrades with STARTTLS (copied; may be NULL for OFF and
 * IMPLICIT, required for REQUIRED and OPPORTUNISTIC). IMPLICIT declares that
 * the transport is already TLS (submissions, port 465).
 * Returns POSTIE_OK; POSTIE_ERR_PARAM (s NULL, unknown policy, a name that
 * fails postie_server_name_ok(), no name for REQUIRED/OPPORTUNISTIC);
 * POSTIE_ERR_STATE (already open). */
postie_status postie_smtp_set_tls(postie_smtp *s, postie_tls_policy policy,
                                  const char *server_name);

/* allow != 0: AUTH PLAIN, LOGIN, XOAUTH2 and OAUTHBEARER may be used on a
 * connection that is not encrypted (default: POSTIE_ERR_INSECURE, nothing
 * sent). For test servers and legacy set-ups only. s NULL is ignored. */
void postie_smtp_allow_plaintext_credentials(postie_smtp *s, int allow);

/* Random source for SCRAM-SHA-256 nonces (NULL: SCRAM is never chosen).
 * fn and ctx must outlive s. s NULL is ignored. */
void postie_smtp_set_random(postie_smtp *s, postie_random_fn fn, void *ctx);

/* 1 when the connection is encrypted (STARTTLS succeeded, or IMPLICIT). */
int postie_smtp_tls_active(const postie_smtp *s);

/*
 * Reads the greeting (single or multi-line) and says EHLO; when the server
 * answers EHLO with 500 or 502 it says HELO instead (no extensions then).
 * Then applies the TLS policy: with REQUIRED or OPPORTUNISTIC on a plain
 * connection, when EHLO lists STARTTLS and the transport has start_tls, it
 * runs postie_smtp_starttls() with the name from postie_smtp_set_tls() (EHLO
 * is said again over TLS). With REQUIRED and no STARTTLS (a HELO server has
 * none) the server is refused: QUIT, session closed, POSTIE_ERR_TLS_REQUIRED;
 * nothing but EHLO/HELO was sent. A STARTTLS refused with 4xx/5xx is
 * POSTIE_ERR_TRANSIENT / POSTIE_ERR_SERVER with REQUIRED (session closed
 * with QUIT) and ignored with OPPORTUNISTIC (the session stays plain).
 * Returns POSTIE_OK (state READY); POSTIE_ERR_SERVER / POSTIE_ERR_TRANSIENT
 * (greeting 554/4xx, or EHLO and HELO refused: the session is closed with
 * QUIT); POSTIE_ERR_PROTOCOL (greeting not 220 nor an error code);
 * POSTIE_ERR_TLS_REQUIRED; the statuses of postie_smtp_starttls() (fatal
 * ones close the session); POSTIE_ERR_PARAM (REQUIRED/OPPORTUNISTIC with no
 * server name: nothing read or sent); POSTIE_ERR_STATE (not CLOSED, or
 * already used); the common statuses above.
 */
postie_status postie_smtp_open(postie_smtp *s);

/* Says EHLO again (HELO if the session started with HELO) and replaces the
 * extensions. Only in state READY. Returns POSTIE_OK, POSTIE_ERR_STATE,
 * POSTIE_ERR_SERVER/TRANSIENT, the common statuses. */
postie_status postie_smtp_ehlo(postie_smtp *s);

/*
 * STARTTLS (RFC 3207): sends STARTTLS, on 220 calls the transport's
 * start_tls(ctx, server_name), then forgets the extensions and says EHLO
 * again. Bytes the server sent after its 220 (before the handshake) are a
 * command-injection attempt: POSTIE_ERR_PROTOCOL, session closed.
 * server_name: NUL-terminated, only read during the call (SNI/verification).
 * Only the extensions of the EHLO said over TLS are kept (RFC 3207 sec. 4.2).
 * Returns POSTIE_OK; POSTIE_ERR_PARAM (server_name NULL, empty, or holding a
 * space or control byte; nothing sent); POSTIE_ERR_UNSUPPORTED (server did not offer STARTTLS,
 * or the transport has no start_tls; nothing sent); POSTIE_ERR_STATE (not
 * READY, or already encrypted); POSTIE_ERR_SERVER/TRANSIENT (STARTTLS refused; session usable);
 * whatever start_tls returns (POSTIE_ERR_TLS, POSTIE_ERR_TLS_VERIFY: session
 * dead); the common statuses.
 */
postie_status postie_smtp_starttls(postie_smtp *s, const char *server_name);

/*
 * AUTH (RFC 4954). mechs: the mechanisms the caller allows
 * (POSTIE_SASL_PASSWORD_MECHS with a password, POSTIE_SASL_TOKEN_MECHS with
 * an OAuth 2.0 access token, or one POSTIE_SASL_* bit). Of those the server
 * offers, the strongest is used (postie_sasl_choose():
 * SCRAM-SHA-256 > OAUTHBEARER > XOAUTH2 > CRAM-MD5 > PLAIN > LOGIN), leaving
 * out SCRAM-SHA-256 when no random source is set (postie_smtp_set_random),
 * and - on a connection that is not encrypted, without
 * postie_smtp_allow_plaintext_credentials() - every mechanism that reveals
 * the secret (PLAIN, LOGIN, XOAUTH2, OAUTHBEARER). PLAIN, XOAUTH2,
 * OAUTHBEARER and SCRAM-SHA-256 go with an initial response; LOGIN answers
 * the server's prompts; CRAM-MD5 answers the challenge. For SCRAM-SHA-256
 * the server's signature (its second 334) is verified before the empty
 * response that asks for 235: a wrong one is cancelled with "*" and is
 * POSTIE_ERR_AUTH; a 235 without a verified signature is POSTIE_ERR_AUTH and
 * the session is dead. user and secret (password or token): NUL-terminated,
 * only read during the call; SCRAM wants printable ASCII (docs/scram.md).
 * Returns POSTIE_OK (235); POSTIE_ERR_UNSUPPORTED (the server does not
 * advertise AUTH, or offers none of mechs: nothing sent);
 * POSTIE_ERR_INSECURE (of mechs, the server offers only mechanisms that
 * reveal the secret and the connection is plain: nothing sent);
 * POSTIE_ERR_TLS_REQUIRED (policy REQUIRED, plain connection: nothing sent);
 * the random source's status (nothing sent); POSTIE_ERR_AUTH
 * (535 or any other 5xx to the exchange; the text is the server's, from
 * postie_smtp_reply_text()); POSTIE_ERR_TRANSIENT (454 and other 4xx);
 * POSTIE_ERR_PARAM (NULL, empty user, CR/LF in user or secret, ^A in a
 * token; nothing sent); POSTIE_ERR_BUFFER (the response does not fit in
 * POSTIE_CMD_MAX; nothing sent); POSTIE_ERR_DECODE (a challenge that is not
 * base64: the exchange is cancelled with "*"); POSTIE_ERR_AUTH also when the
 * server sends a challenge the mechanism has no answer for (one to PLAIN,
 * an unknown LOGIN prompt after two, more than four): cancelled with "*";
 * POSTIE_ERR_STATE (not READY); the common statuses (a reply other than
 * 235, 334, 4xx or 5xx is POSTIE_ERR_PROTOCOL).
 */
postie_status postie_smtp_auth(postie_smtp *s, unsigned mechs, const char *user,
                               const char *secret);

/*
 * Starts a mail transaction: MAIL FROM (with SIZE= when the server has SIZE
 * and env->size > 0; BODY=8BITMIME when POSTIE_SMTP_MSG_8BIT and the server
 * offers 8BITMIME; SMTPUTF8 when an address is not ASCII or
 * POSTIE_SMTP_MSG_UTF8 is set), then one RCPT TO per recipient. Each
 * recipient's code, enhanced status and status are stored in env->rcpts[i]
 * and env->accepted counts the accepted ones.
 *
 * With PIPELINING, MAIL, every RCPT and - when env->on_refused is CONTINUE -
 * DATA go out in one write (more than one only when they do not fit in
 * POSTIE_CMD_MAX: then each full batch is sent and its replies read before
 * the next), and the replies are matched in order (RFC 2920). When DATA got
 * its 354 that way, the state is DATA at once: the message must follow
 * (postie_smtp_data_begin() then sends nothing) or the connection be
 * dropped (postie_smtp_close()); RSET is no longer possible.
 * With ABORT, DATA is never pipelined (after a 354 nothing could take the
 * message back).
 *
 * Returns:
 *   POSTIE_OK  MAIL accepted and at least one recipient accepted, and (with
 *              ABORT) none refused: state MAIL (or DATA when pipelined);
 *   POSTIE_ERR_RECIPIENTS  every recipient refused, or some with ABORT: RSET
 *              was sent (state READY); see env->rcpts for who and why;
 *   POSTIE_ERR_TOO_BIG  env->size above the server's SIZE limit (nothing
 *              sent), or MAIL got 552 (RFC 1870); state READY;
 *   POSTIE_ERR_TRANSIENT / POSTIE_ERR_SERVER  MAIL refused (4xx / 5xx; 452
 *              is transient), or a pipelined DATA refused while recipients
 *              were accepted; RSET sent, state READY;
 *   POSTIE_ERR_UNSUPPORTED  an address is not ASCII (or MSG_UTF8 set) and
 *              the server does not offer SMTPUTF8 (nothing sent); or, built
 *              with POSTIE_WITH_SMTP_MULTI_RCPT 0, nrcpts above 1 (checked
 *              right after rcpts NULL and nrcpts 0, before any address;
 *              nothing sent and nothing written into env);
 *   POSTIE_ERR_PARAM  env/rcpts NULL, nrcpts 0, an empty recipient, CR, LF,
 *              '<', '>' or a control byte in an address or parameter, or a
 *              command longer than POSTIE_CMD_MAX (nothing sent);
 *   POSTIE_ERR_STATE  not READY;
 *   POSTIE_ERR_TLS_REQUIRED  policy REQUIRED and the connection is plain
 *              (nothing sent);
 *   the common statuses.
 * env and its strings are only read during the call; results are written
 * into env->rcpts and env->accepted before it returns. Whatever the call
 * returns other than POSTIE_ERR_PARAM (and the UNSUPPORTED of nrcpts above 1
 * without POSTIE_WITH_SMTP_MULTI_RCPT), a recipient without a reply reads as
 * not answered (code 0, POSTIE_ERR_STATE), also when nothing was sent
 * (POSTIE_ERR_STATE, _UNSUPPORTED, _TOO_BIG), and env->accepted counts only
 * this call's acceptances.
 */
postie_status postie_smtp_mail(postie_smtp *s, postie_smtp_envelope *env);

/*
 * Sends DATA and waits for 354 (nothing is sent when a pipelined DATA
 * already got it). Returns POSTIE_OK (state DATA); POSTIE_ERR_TRANSIENT /
 * POSTIE_ERR_SERVER (DATA refused: RSET sent, state READY);
 * POSTIE_ERR_STATE (not MAIL); the common statuses.
 */
postie_status postie_smtp_data_begin(postie_smtp *s);

/*
 * Message content, any number of calls with chunks of any size (n may be 0).
 * Line ends are normalised to CRLF and leading dots doubled
 * (postie_smtp_dot_feed()) across chunk boundaries; output is buffered in
 * the context and sent when the buffer is full, never one send per line.
 * buf is only read during the call.
 * Returns POSTIE_OK; POSTIE_ERR_STATE (not DATA); POSTIE_ERR_PARAM (buf NULL
 * with n > 0); transport statuses (session dead).
 */
postie_status postie_smtp_data_write(postie_smtp *s, const void *buf, size_t n);

/*
 * Ends the message: adds CRLF when the content did not end with a line end,
 * sends ".\r\n" with what is still buffered, and reads the reply. The
 * message counts as sent only on 250 (messages_sent is then incremented).
 * Returns POSTIE_OK (sent; state READY: another postie_smtp_mail() may
 * follow); POSTIE_ERR_TOO_BIG (552); POSTIE_ERR_TRANSIENT (4xx, e.g. 452 or
 * 451) / POSTIE_ERR_SERVER (other 5xx): not sent, state READY;
 * POSTIE_ERR_STATE (not DATA); the common statuses (then whether the
 * message was delivered is unknown: treat it as not sent).
 */
postie_status postie_smtp_data_end(postie_smtp *s);

/*
 * One message: postie_smtp_mail(), postie_smtp_data_begin(), then reads the
 * message from read(user, ...) and writes it, then postie_smtp_data_end().
 * Returns what the first failing step returned, or POSTIE_OK (sent).
 * When read returns a negative status mid-message, the connection is
 * dropped without the final dot (so nothing is delivered; state CLOSED) and
 * that status is returned; a reader reporting *n > cap is POSTIE_ERR_PARAM,
 * handled the same way. The reader must end with POSTIE_DONE (POSTIE_OK with
 * *n == 0 is allowed but never ends the message). read is called with a
 * buffer inside s (cap = POSTIE_SMTP_SASL_RAW_MAX, or POSTIE_LINE_MAX with
 * POSTIE_SHARED_BUFFERS), valid during that call.
 * The size and 8-bit flags come from env (a reader cannot be scanned twice).
 * Built with POSTIE_WITH_SMTP_MULTI_RCPT 0, an envelope of more than one
 * recipient is POSTIE_ERR_UNSUPPORTED, as from postie_smtp_mail() (the
 * reader is not called).
 */
postie_status postie_smtp_send(postie_smtp *s, postie_smtp_envelope *env,
                               postie_smtp_reader read, void *user);

/* postie_smtp_send() for a message in memory (msg[0..len), only read
 * during the call): env->size (when 0) and POSTIE_SMTP_MSG_8BIT are set from
 * a scan of the bytes first. The size is the RFC 1870 one: line ends counted
 * as CRLF (as they go on the wire, final CRLF included), stuffing dots and
 * the "." line not counted. Same statuses. */
postie_status postie_smtp_send_buf(postie_smtp *s, postie_smtp_envelope *env,
                                   const void *msg, size_t len);

/*
 * Sends n messages over the session, as few round trips as the server
 * allows (docs/smtp.md, "Batches"): with CHUNKING and PIPELINING, BDAT and
 * several messages in flight at once (no 354 wait, no dot-stuffing); with
 * PIPELINING only, the end of one message and the MAIL, RCPT and DATA of the
 * next in one flight; else one command at a time. Each message gets its own
 * outcome in msgs[i].status, each recipient its reply in the envelope.
 * Returns POSTIE_OK when the session is still usable (whatever the messages'
 * outcomes: read them); POSTIE_ERR_PARAM (bad arguments, an envelope with
 * on_refused ABORT, a value with CR/LF); POSTIE_ERR_STATE (not READY);
 * POSTIE_ERR_TLS_REQUIRED; or the status that ended the connection, each
 * message then saying whether it was accepted, refused, never sent whole,
 * or sent whole with its reply lost (ERR_OUTCOME_UNKNOWN). The state is
 * READY again after POSTIE_OK. POSTIE_ERR_UNSUPPORTED (nothing sent, no
 * message touched) when built with POSTIE_WITH_SMTP_BATCH 0. Built with
 * POSTIE_WITH_SMTP_MULTI_RCPT 0, a message whose envelope has more than one
 * recipient is refused on its own, as one that needs SMTPUTF8 without it:
 * its status is POSTIE_ERR_UNSUPPORTED (code 0), nothing of it is sent and
 * its recipients are not written (its addresses are not checked either);
 * the other messages go.
 */
postie_status postie_smtp_send_batch(postie_smtp *s, postie_smtp_msg *msgs, size_t n);

/* RSET: ends a mail transaction (state MAIL or READY -> READY).
 * Returns POSTIE_OK, POSTIE_ERR_STATE (CLOSED or DATA), server/common statuses. */
postie_status postie_smtp_rset(postie_smtp *s);

/* NOOP (state READY or MAIL). Returns POSTIE_OK, POSTIE_ERR_STATE, server/common statuses. */
postie_status postie_smtp_noop(postie_smtp *s);

/*
 * QUIT, then closes the transport (always, whatever the outcome). Messages
 * that got their 250 stay sent whatever QUIT returns: its status is only
 * about QUIT. Returns POSTIE_OK (221, or any 2xx); POSTIE_ERR_SERVER /
 * POSTIE_ERR_TRANSIENT; POSTIE_ERR_STATE (state CLOSED: nothing sent, the
 * transport is closed if still open; or state DATA: the message is abandoned
 * and the connection dropped without QUIT); the transport/reply statuses
 * (e.g. POSTIE_ERR_CLOSED when the server hung up before answering).
 */
postie_status postie_smtp_quit(postie_smtp *s);

/* Drops the connection without QUIT. Safe in any state, more than once. */
void postie_smtp_close(postie_smtp *s);

/* Accessors. Strings are owned by s and valid until the next call on s. */
postie_smtp_state postie_smtp_get_state(const postie_smtp *s);
int postie_smtp_reply_code(const postie_smtp *s);          /* 0 before any reply */
const char *postie_smtp_reply_enhanced(const postie_smtp *s); /* "5.7.8" or "" */
const char *postie_smtp_reply_text(const postie_smtp *s);  /* lines joined by '\n' */
const postie_smtp_reply *postie_smtp_last_reply(const postie_smtp *s);
const postie_smtp_ext *postie_smtp_extensions(const postie_smtp *s);
int postie_smtp_has(const postie_smtp *s, unsigned ext_flag);  /* POSTIE_SMTP_EXT_* */
unsigned long postie_smtp_messages_sent(const postie_smtp *s);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_SMTP_H */
