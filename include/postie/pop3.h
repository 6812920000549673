/*
 * postie/pop3.h - blocking POP3 client (RFC 1939, RFC 2449 CAPA).
 *
 * No allocation: every byte lives in the postie_pop3 struct, which the caller
 * owns (static, on the stack, or wherever). One context is one session; two
 * contexts may be used from two threads at once.
 *
 * Feature switches (postie_config_defaults.h, docs/porting.md): built with a
 * feature off, the calls that need it return POSTIE_ERR_UNSUPPORTED before
 * anything is sent, besides the statuses listed below:
 * POSTIE_WITH_POP3_CAPA 0: postie_pop3_capa(), postie_pop3_stls(), and open()
 * under the TLS policies REQUIRED and OPPORTUNISTIC; POSTIE_WITH_POP3_SASL 0
 * (or no mechanism): postie_pop3_auth(); POSTIE_WITH_APOP 0: login with
 * POSTIE_POP3_LOGIN_APOP; POSTIE_WITH_POP3_PIPELINING 0: postie_pop3_queue_*(),
 * postie_pop3_flush(), postie_pop3_next().
 *
 * Typical use (TLS policy REQUIRED, the default: docs/tls.md):
 *     postie_tcp tcp; postie_openssl tls; postie_transport tr; postie_pop3 p;
 *     postie_tcp_connect(&tcp, "mail.example.org", "110", 10000);
 *     postie_openssl_init(&tls, tcp.fd, &opts); tcp.fd = -1;  plain until STLS
 *     postie_openssl_transport(&tls, &tr);
 *     postie_pop3_init(&p, &tr);
 *     postie_pop3_set_tls(&p, POSTIE_TLS_REQUIRED, "mail.example.org");
 *     postie_pop3_open(&p);                         greeting, CAPA, STLS, CAPA
 *     postie_pop3_login(&p, user, pass, POSTIE_POP3_LOGIN_AUTO);
 *       (or postie_pop3_auth(&p, POSTIE_SASL_PASSWORD_MECHS, user, pass))
 *     postie_pop3_stat(&p, &count, &octets);
 *     postie_pop3_retr_begin(&p, 1, NULL);
 *     while ((st = postie_pop3_read(&p, buf, sizeof buf, &n)) == POSTIE_OK) use(buf, n);
 *     postie_pop3_dele(&p, 1);
 *     postie_pop3_quit(&p, &committed);             also closes the transport
 *
 * Every call that talks to the server may also return the transport's
 * statuses: POSTIE_ERR_TIMEOUT, POSTIE_ERR_CLOSED, POSTIE_ERR_IO, POSTIE_ERR_TLS;
 * and the reply engine's: POSTIE_ERR_PROTOCOL (a reply that is neither +OK nor
 * -ERR), POSTIE_ERR_LINE_TOO_LONG. After any of these the session is dead:
 * later calls return POSTIE_ERR_STATE; call postie_pop3_close().
 * POSTIE_ERR_PARAM, POSTIE_ERR_STATE, POSTIE_ERR_BUSY, POSTIE_ERR_NO_SUCH_MESSAGE
 * and POSTIE_ERR_SERVER leave the session usable; nothing was sent for the
 * first four. After every call that got a reply, postie_pop3_reply_text()
 * gives the server's text after "+OK " or "-ERR ".
 */
#ifndef POSTIE_POP3_H
#define POSTIE_POP3_H

#include <stddef.h>
#include "postie/postie_config_defaults.h"
#include "postie/status.h"
#include "postie/transport.h"
#include "postie/line.h"
#include "postie/pop3_proto.h"
#include "postie/sasl.h"
#include "postie/sasl_exchange.h"
#include "postie/conn.h"
#include "postie/security.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Capabilities learned from CAPA: the POSTIE_POP3_CAP_* bits of pop3_proto.h
 * (postie_pop3_caps()). */

typedef enum postie_pop3_login_mode {
    POSTIE_POP3_LOGIN_AUTO = 0, /* APOP when the greeting has a timestamp; USER/PASS
                                   when there is none or APOP is refused (USER/PASS
                                   only over TLS or with the plaintext allowance) */
    POSTIE_POP3_LOGIN_USER,     /* USER/PASS only */
    POSTIE_POP3_LOGIN_APOP      /* APOP only */
} postie_pop3_login_mode;

typedef enum postie_pop3_state {
    POSTIE_POP3_STATE_CLOSED = 0, /* init'ed, not open; or after close/quit/fatal error */
    POSTIE_POP3_STATE_AUTHORIZATION,
    POSTIE_POP3_STATE_TRANSACTION
} postie_pop3_state;

/* Scratch room of AUTH: a decoded challenge and a raw response, half each. */
#define POSTIE_POP3_SASL_RAW_MAX POSTIE_SASL_RAW_MAX

typedef struct postie_pop3 {
    /* the scalars first: a Cortex-M reaches them with 16-bit loads */
    unsigned char op;            /* the operation in progress (internal) */
    unsigned char phase;         /* how far it got (internal) */
    unsigned char busy;          /* which multi-line reply is being read, 0: none (internal) */
    unsigned char tls_wanted;    /* POSTIE_START_TLS was returned, not yet reported */
    postie_pop3_state state;
    postie_pop3_body body;       /* multi-line un-stuffing state */
    unsigned char op_arg;        /* the operation's own flag (internal) */
    unsigned char fail;          /* status to report after a cancelled AUTH (negated) */
    unsigned char tls_policy;    /* postie_tls_policy */
    unsigned char tls_active;    /* the connection is encrypted (STLS done, or implicit) */
    unsigned char allow_plain;   /* credentials may cross an unencrypted connection */
    unsigned char no_pipelining; /* postie_pop3_set_pipelining(p, 0) */
    unsigned timeout_ms;
    unsigned caps;
    long count;                  /* messages in the maildrop, -1 until known */
    postie_transport tr;         /* recv NULL: the caller moves the bytes (event loop) */
    postie_random_fn random;     /* SCRAM nonces; NULL: SCRAM is never chosen */
    void *random_ctx;
#if POSTIE_WITH_APOP
    char timestamp[POSTIE_POP3_TIMESTAMP_MAX]; /* "<...>" from the greeting, or "" */
#endif
#if POSTIE_WITH_POP3_SASL
    char sasl[POSTIE_SASL_MECHS_MAX];          /* CAPA SASL mechanisms, space separated */
#endif
    char reply[POSTIE_REPLY_TEXT_MAX];         /* text of the last status line */
    postie_conn conn;            /* the connection engine: queues, framing, matching */
#if POSTIE_WITH_POP3_CAPA
    char server_name[POSTIE_SERVER_NAME_MAX]; /* for STLS in open() (none without STLS) */
#endif
#if POSTIE_WITH_POP3_SASL
    postie_sasl_x sx;            /* the SASL exchange of AUTH */
#endif
} postie_pop3;

/* Prepares p over transport t (copied; t->ctx must outlive p). Sends nothing.
 * Returns POSTIE_OK, or POSTIE_ERR_PARAM (p/t NULL, or t->send/recv NULL). */
postie_status postie_pop3_init(postie_pop3 *p, const postie_transport *t);

/* Prepares p for an event loop: no transport; the caller moves the bytes
 * through postie_pop3_conn() (docs/event-loop.md) and repeats each call
 * while it returns POSTIE_AGAIN (with the same arguments). STLS makes a call
 * return POSTIE_START_TLS: start TLS on the socket, then report it with
 * postie_pop3_tls_started() and repeat the call. Sends nothing.
 * Returns POSTIE_OK, or POSTIE_ERR_PARAM (p NULL). */
postie_status postie_pop3_init_nb(postie_pop3 *p);

/* The session's connection engine: the bytes to send and the room for the
 * bytes that arrive (conn.h). Owned by p; NULL for p NULL. */
postie_conn *postie_pop3_conn(postie_pop3 *p);

/* Reports the TLS handshake that POSTIE_START_TLS asked for: result
 * POSTIE_OK, or the handshake's failure (the session then ends with it).
 * Returns POSTIE_OK, that failure, POSTIE_ERR_STATE (nothing was asked) or
 * POSTIE_ERR_PARAM. */
postie_status postie_pop3_tls_started(postie_pop3 *p, postie_status result);

/* Overall deadline of every later call of the blocking API (conn.h,
 * postie_conn_set_deadline): POSTIE_ERR_TIMEOUT once a call has run longer
 * than deadline_ms plus 1 s for every min_rate bytes it moved; a message body or a listing read over several calls counts as one call. The
 * per-read timeout still bounds each wait. clock NULL or deadline_ms 0
 * (the default): no deadline. ports/posix gives postie_posix_clock_ms.
 * Returns POSTIE_OK, POSTIE_ERR_PARAM (p NULL), or POSTIE_ERR_UNSUPPORTED
 * (POSTIE_WITH_DEADLINE 0: nothing is set). */
postie_status postie_pop3_set_deadline(postie_pop3 *p, unsigned long deadline_ms,
                                       unsigned long min_rate, postie_clock_fn clock,
                                       void *clock_ctx);

/* Timeout of every network step of later calls (default POSTIE_DEFAULT_TIMEOUT_MS):
 * passed to each transport send/recv. Returns nothing; p NULL is ignored. */
void postie_pop3_set_timeout(postie_pop3 *p, unsigned timeout_ms);

/* TLS policy of the session (before open; default POSTIE_TLS_REQUIRED, see
 * security.h and docs/tls.md) and the server name the certificate is checked
 * against when open() upgrades with STLS (copied; NULL allowed for OFF and
 * IMPLICIT, required for REQUIRED and OPPORTUNISTIC). IMPLICIT declares that
 * the transport is already TLS (POP3S, port 995).
 * Returns POSTIE_OK; POSTIE_ERR_PARAM (p NULL, unknown policy, a name that
 * fails postie_server_name_ok(), or no name for REQUIRED/OPPORTUNISTIC);
 * POSTIE_ERR_STATE (the session is already open). */
postie_status postie_pop3_set_tls(postie_pop3 *p, postie_tls_policy policy,
                                  const char *server_name);

/* allow != 0: USER/PASS, AUTH PLAIN, LOGIN, XOAUTH2 and OAUTHBEARER may be
 * used on a connection that is not encrypted (default: refused with
 * POSTIE_ERR_INSECURE, nothing sent). For test servers and legacy set-ups
 * only. p NULL is ignored. */
void postie_pop3_allow_plaintext_credentials(postie_pop3 *p, int allow);

/* Random source for SCRAM-SHA-256 nonces (fn may be NULL: then SCRAM is
 * never chosen). fn and ctx must outlive p. p NULL is ignored. */
void postie_pop3_set_random(postie_pop3 *p, postie_random_fn fn, void *ctx);

/* 1 when the connection is encrypted (STLS succeeded, or IMPLICIT), else 0. */
int postie_pop3_tls_active(const postie_pop3 *p);

/* Reads the greeting (keeping an APOP timestamp) and sends CAPA; a server
 * without CAPA (-ERR) is fine: caps then has no POSTIE_POP3_CAP_CAPA.
 * Then applies the TLS policy: with REQUIRED or OPPORTUNISTIC on a plain
 * connection, when CAPA lists STLS and the transport has start_tls, it runs
 * postie_pop3_stls() with the name from postie_pop3_set_tls() (CAPA is sent
 * again over TLS). With REQUIRED and no STLS (or no start_tls in the
 * transport) the server is refused: QUIT is sent, the session is CLOSED and
 * the result is POSTIE_ERR_TLS_REQUIRED; nothing about the user was sent.
 * Returns POSTIE_OK; POSTIE_ERR_SERVER (greeting was -ERR: the server refuses
 * the session, so the transport is closed and the session is CLOSED; or,
 * with REQUIRED, -ERR to STLS: closed too); POSTIE_ERR_TLS_REQUIRED;
 * the statuses of postie_pop3_stls() (fatal ones close the session);
 * POSTIE_ERR_STATE (already open, or closed); POSTIE_ERR_PARAM (p NULL, or
 * REQUIRED/OPPORTUNISTIC with no server name: nothing read or sent);
 * transport/reply-engine statuses (fatal). */
postie_status postie_pop3_open(postie_pop3 *p);

/* postie_pop3_open() with flags. POSTIE_POP3_OPEN_NO_CAPA: read the greeting
 * only, send no CAPA (an exact RFC 1939 exchange, as the NetX Duo client
 * makes; caps then hold at most POSTIE_POP3_CAP_APOP; postie_pop3_capa() may
 * still be called later). The TLS policy is then not applied by open (no
 * CAPA, so no STLS): login and auth still refuse a plain connection under
 * REQUIRED (POSTIE_ERR_TLS_REQUIRED). Same statuses as postie_pop3_open(),
 * and POSTIE_ERR_PARAM for an unknown flag. */
#define POSTIE_POP3_OPEN_NO_CAPA 0x1u
postie_status postie_pop3_open_ex(postie_pop3 *p, unsigned flags);

/* STLS (RFC 2595) in the AUTHORIZATION state: sends STLS; on +OK the
 * client's receive buffer must hold nothing past the +OK line (bytes there
 * were sent in the clear after the go-ahead and would be read as if they came
 * over TLS: the CVE-2011-0411 injection class), else POSTIE_ERR_PROTOCOL and
 * the session is closed without calling start_tls. Then calls the
 * transport's start_tls(ctx, server_name) and sends CAPA again: every
 * capability learnt in plain text is replaced by what the server says over
 * TLS. The APOP timestamp of the greeting is kept (the server does not greet
 * again; a timestamp changed on the path can only make APOP fail, because
 * the digest then goes over TLS). server_name: only read during the call.
 * Returns POSTIE_OK; POSTIE_ERR_SERVER (-ERR to STLS; session usable, still
 * plain); POSTIE_ERR_UNSUPPORTED (CAPA did not list STLS, or the transport
 * has no start_tls; nothing sent); POSTIE_ERR_STATE (not AUTHORIZATION, or
 * already encrypted); POSTIE_ERR_BUSY; POSTIE_ERR_PARAM (p NULL, bad
 * server_name; nothing sent); POSTIE_ERR_PROTOCOL (bytes after +OK: fatal);
 * whatever start_tls returns (POSTIE_ERR_TLS, POSTIE_ERR_TLS_VERIFY,
 * POSTIE_ERR_PROTOCOL, POSTIE_ERR_TIMEOUT, POSTIE_ERR_CLOSED...: fatal);
 * transport/reply-engine statuses (fatal). */
postie_status postie_pop3_stls(postie_pop3 *p, const char *server_name);

/* Re-sends CAPA and replaces the capabilities (postie_pop3_stls() does it
 * after the upgrade); the POSTIE_POP3_CAP_APOP bit (from the greeting) is kept.
 * Returns POSTIE_OK; POSTIE_ERR_SERVER (-ERR: caps then hold only the APOP
 * bit); POSTIE_ERR_STATE (not open); POSTIE_ERR_BUSY; POSTIE_ERR_PARAM;
 * transport/reply-engine statuses (fatal). */
postie_status postie_pop3_capa(postie_pop3 *p);

/* Accessors: never fail; p NULL gives 0, "" or POSTIE_POP3_STATE_CLOSED. */
/* POSTIE_POP3_CAP_* bits. */
unsigned postie_pop3_caps(const postie_pop3 *p);
/* Mechanisms from CAPA's SASL line, space separated; "" when none (always ""
 * when built with POSTIE_WITH_POP3_SASL 0). Owned by p. */
const char *postie_pop3_sasl_mechs(const postie_pop3 *p);
/* APOP timestamp "<...>" from the greeting, or "" (always "" when built with
 * POSTIE_WITH_APOP 0). Owned by p. */
const char *postie_pop3_timestamp(const postie_pop3 *p);
/* Text of the server's last status line after "+OK "/"-ERR " (truncated to
 * POSTIE_REPLY_TEXT_MAX-1). Owned by p, valid until the next call. */
const char *postie_pop3_reply_text(const postie_pop3 *p);
postie_pop3_state postie_pop3_get_state(const postie_pop3 *p);

/* Logs in. user and pass: NUL-terminated; CR or LF in either (or an empty
 * user, or a command that would not fit POSTIE_CMD_MAX, or an unknown mode)
 * is POSTIE_ERR_PARAM and nothing is sent. The password is wiped from p->cmd
 * after use. AUTO falls back to USER/PASS after an APOP -ERR that is not
 * transient, but only when USER/PASS is allowed (TLS, or the plaintext
 * allowance); otherwise the APOP result stands.
 * Returns POSTIE_OK (now in TRANSACTION); POSTIE_ERR_AUTH (-ERR to PASS or
 * APOP; -ERR to USER too); POSTIE_ERR_TRANSIENT (-ERR [SYS/TEMP], [IN-USE] or
 * [LOGIN-DELAY]: try later); POSTIE_ERR_UNSUPPORTED (APOP mode and the greeting
 * has no timestamp); POSTIE_ERR_TLS_REQUIRED (policy REQUIRED and the
 * connection is not encrypted: nothing sent); POSTIE_ERR_INSECURE (USER/PASS
 * would go out without TLS and without the plaintext allowance: nothing
 * sent); POSTIE_ERR_STATE (not in AUTHORIZATION); POSTIE_ERR_PARAM;
 * transport/reply-engine statuses (fatal). After AUTH/TRANSIENT the session
 * stays in AUTHORIZATION and login may be tried again. */
postie_status postie_pop3_login(postie_pop3 *p, const char *user, const char *pass,
                                postie_pop3_login_mode mode);

/* AUTH (RFC 5034). mechs: the mechanisms the caller allows
 * (POSTIE_SASL_PASSWORD_MECHS with a password, POSTIE_SASL_TOKEN_MECHS with
 * an OAuth 2.0 token, or single POSTIE_SASL_* bits). Of those that CAPA's
 * SASL line offers, the strongest is used (postie_sasl_choose():
 * SCRAM-SHA-256 > OAUTHBEARER > XOAUTH2 > CRAM-MD5 > PLAIN > LOGIN), leaving
 * out SCRAM-SHA-256 when no random source is set, and - on a connection that
 * is not encrypted, without the plaintext allowance - every mechanism that
 * reveals the secret (PLAIN, LOGIN, XOAUTH2, OAUTHBEARER). PLAIN,
 * OAUTHBEARER and SCRAM send an initial response when the AUTH command fits
 * 255 octets (RFC 5034 sec. 4), otherwise they wait for the empty challenge;
 * XOAUTH2 always waits for it ("AUTH XOAUTH2", "+ ", then the token: the
 * exchange Microsoft's POP3 requires).
 * A challenge the mechanism cannot answer is cancelled with "*". For
 * SCRAM-SHA-256 the server's signature is verified: a wrong one is cancelled
 * and is POSTIE_ERR_AUTH; a server that says +OK without proving itself is
 * POSTIE_ERR_AUTH too and the session is closed. user and secret: only read
 * during the call; SCRAM wants printable ASCII (docs/scram.md).
 * Returns POSTIE_OK (TRANSACTION); POSTIE_ERR_AUTH (-ERR, or a failed
 * exchange: cancelled, session usable); POSTIE_ERR_TRANSIENT (-ERR with a
 * transient response code); POSTIE_ERR_UNSUPPORTED (no SASL in CAPA, or none
 * of mechs offered; nothing sent); POSTIE_ERR_INSECURE (only mechanisms that
 * reveal the secret are left and the connection is plain: nothing sent);
 * POSTIE_ERR_TLS_REQUIRED (policy REQUIRED, plain connection: nothing sent);
 * POSTIE_ERR_PARAM (NULL, empty user, CR/LF in user or secret, a SCRAM
 * password that is not printable ASCII; nothing sent); POSTIE_ERR_BUFFER (a
 * response longer than POSTIE_CMD_MAX; cancelled if the exchange had
 * started); POSTIE_ERR_DECODE (a challenge that is not base64: cancelled);
 * the random source's status (nothing sent); POSTIE_ERR_STATE; POSTIE_ERR_BUSY;
 * transport/reply-engine statuses (fatal). */
postie_status postie_pop3_auth(postie_pop3 *p, unsigned mechs, const char *user,
                               const char *secret);

/* STAT. Also records the count for message-number checks. *count, *octets may be NULL.
 * The reply must be "n m" (digits, spaces, digits, then end or a space).
 * Returns POSTIE_OK; POSTIE_ERR_SERVER (-ERR); POSTIE_ERR_STATE (not in
 * TRANSACTION); POSTIE_ERR_BUSY; POSTIE_ERR_PARAM (p NULL); POSTIE_ERR_PROTOCOL
 * (malformed reply, fatal); transport/reply-engine statuses (fatal). */
postie_status postie_pop3_stat(postie_pop3 *p, unsigned long *count, unsigned long *octets);

/* Message-number rules for every call taking msg: the maildrop count is learnt
 * from STAT or LIST (a STAT is sent first when it is not known yet);
 * msg outside 1..count is POSTIE_ERR_NO_SUCH_MESSAGE, nothing sent.
 * -ERR (e.g. message deleted) is POSTIE_ERR_SERVER. The count is the highest
 * message number known: a STAT after DELE (which leaves deleted messages out)
 * does not lower it, since message numbers never change within a session.
 *
 * Statuses of every command below, unless its comment says otherwise:
 * POSTIE_OK; POSTIE_ERR_SERVER (-ERR; session usable); POSTIE_ERR_STATE (not
 * in TRANSACTION, or closed); POSTIE_ERR_BUSY (a multi-line reply is still
 * being read, or pipelined commands are queued or awaiting replies);
 * POSTIE_ERR_NO_SUCH_MESSAGE (calls taking msg);
 * POSTIE_ERR_PARAM (p or a required pointer NULL); POSTIE_ERR_PROTOCOL
 * (malformed reply, fatal); transport/reply-engine statuses (fatal). */

/* LIST msg: *octets (may be NULL) = size. A reply naming another message is
 * POSTIE_ERR_PROTOCOL. */
postie_status postie_pop3_list(postie_pop3 *p, unsigned long msg, unsigned long *octets);

/* LIST of all, as an iterator: list_begin, then list_next until it returns
 * POSTIE_DONE (POSTIE_OK per entry). While iterating, other commands return
 * POSTIE_ERR_BUSY. list_next: POSTIE_OK, POSTIE_DONE, POSTIE_ERR_STATE (no
 * listing in progress), POSTIE_ERR_BUSY (a UIDL listing or a message is in
 * progress instead), POSTIE_ERR_PROTOCOL (bad entry, fatal), transport
 * statuses. Entries raise the known count to the highest number listed. */
postie_status postie_pop3_list_begin(postie_pop3 *p);
postie_status postie_pop3_list_next(postie_pop3 *p, unsigned long *msg, unsigned long *octets);

/* LIST of all through a callback; a non-zero return from cb stops early (the
 * rest of the reply is read and dropped) and is POSTIE_OK. */
typedef int (*postie_pop3_list_cb)(void *user, unsigned long msg, unsigned long octets);
postie_status postie_pop3_list_all(postie_pop3 *p, postie_pop3_list_cb cb, void *user);

/* UIDL msg: uid gets the unique-id, NUL-terminated (cap >= POSTIE_POP3_UID_MAX
 * always suffices; a smaller cap that does not fit is POSTIE_ERR_BUFFER, and
 * the session stays usable). uid NULL or cap 0: POSTIE_ERR_PARAM.
 * uidl_begin/uidl_next/uidl_all: as the LIST iterator; uidl_next may also
 * return POSTIE_ERR_BUFFER for an entry that does not fit cap (*msg is set,
 * uid is "", the listing goes on). A unique-id that is not 1..70 characters
 * of 0x21..0x7E is POSTIE_ERR_PROTOCOL. */
postie_status postie_pop3_uidl(postie_pop3 *p, unsigned long msg, char *uid, size_t cap);
postie_status postie_pop3_uidl_begin(postie_pop3 *p);
postie_status postie_pop3_uidl_next(postie_pop3 *p, unsigned long *msg, char *uid, size_t cap);
typedef int (*postie_pop3_uidl_cb)(void *user, unsigned long msg, const char *uid);
postie_status postie_pop3_uidl_all(postie_pop3 *p, postie_pop3_uidl_cb cb, void *user);

/* RETR msg / TOP msg lines: starts a message; read it with postie_pop3_read().
 * *octets (may be NULL) gets the size the server announced ("+OK 120 octets"),
 * or 0 when it gave none. Until the message is read to its end (or drained)
 * other commands return POSTIE_ERR_BUSY. TOP is sent even when CAPA did not
 * list it (the server's -ERR then says POSTIE_ERR_SERVER). */
postie_status postie_pop3_retr_begin(postie_pop3 *p, unsigned long msg, unsigned long *octets);
postie_status postie_pop3_top_begin(postie_pop3 *p, unsigned long msg, unsigned long lines);

/* Reads the next piece of the message into buf (any cap >= 1): dot-unstuffed,
 * line ends as the server sent them (CRLF), the terminating "." line removed.
 * Returns POSTIE_OK with *n >= 1; POSTIE_DONE with *n == 0 when the message
 * has ended (the session is free again); POSTIE_ERR_STATE when no message is
 * being read; POSTIE_ERR_BUSY when a listing is in progress instead;
 * POSTIE_ERR_PARAM (p, buf or n NULL, or cap 0); transport statuses (fatal:
 * a server that closes or stalls mid-message gives POSTIE_ERR_CLOSED or
 * POSTIE_ERR_TIMEOUT, never a hang). */
postie_status postie_pop3_read(postie_pop3 *p, void *buf, size_t cap, size_t *n);

/* Reads and drops the rest of a multi-line reply in progress (a message or a
 * listing). POSTIE_OK when done (or when nothing was in progress);
 * POSTIE_ERR_STATE (closed); POSTIE_ERR_PARAM; POSTIE_ERR_PROTOCOL and
 * transport statuses (fatal). */
postie_status postie_pop3_drain(postie_pop3 *p);

/* DELE msg, RSET, NOOP: the common statuses above. */
postie_status postie_pop3_dele(postie_pop3 *p, unsigned long msg);
postie_status postie_pop3_rset(postie_pop3 *p);
postie_status postie_pop3_noop(postie_pop3 *p);

/* ---- pipelining (RFC 2449 sec. 6.6) ---------------------------------------
 *
 * Several RETR/TOP/DELE/NOOP commands, and the LIST and UIDL listings of
 * every message, can be queued, sent together and their replies read in
 * order:
 *
 *     postie_pop3_queue_retr(&p, 1); postie_pop3_queue_retr(&p, 2);
 *     postie_pop3_queue_dele(&p, 7);
 *     postie_pop3_flush(&p);                        RETR 1, RETR 2, DELE 7: one send
 *     while ((st = postie_pop3_next(&p, &kind, &msg, &octets)) != POSTIE_DONE) {
 *         if (st == POSTIE_OK && kind == POSTIE_POP3_CMD_RETR)
 *             read the message with postie_pop3_read() until POSTIE_DONE;
 *         else if (st == POSTIE_OK && kind == POSTIE_POP3_CMD_UIDL)
 *             read the entries with postie_pop3_uidl_next() until POSTIE_DONE;
 *         else if (st != POSTIE_OK && st != POSTIE_ERR_SERVER)
 *             break;                                fatal: the session is closed
 *     }
 *
 * When CAPA listed PIPELINING (and postie_pop3_set_pipelining() did not
 * forbid it), flush sends every queued command in one transport write
 * (postie_transport_send_all). Otherwise the same calls work one command at a
 * time: flush sends only the oldest command, and next sends each following
 * one only after the reply before it was consumed (a message read to its end
 * or drained). So callers need one code path for both kinds of server.
 *
 * Bounds (RFC 2449 warns that a client which writes without reading can
 * deadlock with a server whose replies it does not read): at most
 * POSTIE_POP3_PIPELINE_MAX commands are queued or awaiting a reply, and the
 * commands not sent yet must fit POSTIE_CMD_MAX bytes together, so what the
 * client writes ahead of the replies is a few hundred bytes, far below any
 * socket buffer: a flush never waits for the server to read.
 *
 * While any command is queued or awaiting its reply, every other command
 * call (stat, retr_begin, dele, quit, ...) is POSTIE_ERR_BUSY with nothing
 * sent; read the replies with next first. The queue calls themselves are
 * POSTIE_ERR_BUSY while a message or listing is being read. */

/* What a queued command was (postie_pop3_next's *kind). */
typedef enum postie_pop3_cmd_kind {
    POSTIE_POP3_CMD_NONE = 0,
    POSTIE_POP3_CMD_RETR,
    POSTIE_POP3_CMD_TOP,
    POSTIE_POP3_CMD_DELE,
    POSTIE_POP3_CMD_NOOP,
    POSTIE_POP3_CMD_LIST, /* LIST without argument: a multi-line listing */
    POSTIE_POP3_CMD_UIDL  /* UIDL without argument: a multi-line listing */
} postie_pop3_cmd_kind;

/* allow == 0: never pipeline, even when CAPA lists PIPELINING (the queue
 * calls then work one command at a time). Default: pipeline when the server
 * announces it. Takes effect at the next flush. p NULL is ignored. */
void postie_pop3_set_pipelining(postie_pop3 *p, int allow);

/* 1 when flush sends every queued command at once: CAPA listed PIPELINING
 * and it was not forbidden. Else 0 (also for p NULL). */
int postie_pop3_pipelining(const postie_pop3 *p);

/* Queue RETR msg, TOP msg lines, DELE msg or NOOP: the command is built into
 * p->cmd and nothing is sent (unless the maildrop count is unknown and the
 * queue is empty: a STAT is sent first, as for the other calls taking msg).
 * The message-number rules above apply at queue time.
 * Returns POSTIE_OK (queued); POSTIE_ERR_BUFFER (POSTIE_POP3_PIPELINE_MAX
 * commands are already queued or awaiting replies, or the command buffer has
 * no room for this one: read replies with next first; nothing queued, the
 * session usable); POSTIE_ERR_NO_SUCH_MESSAGE (nothing queued);
 * POSTIE_ERR_BUSY (a message or listing is being read, or the count is
 * unknown while commands are queued); POSTIE_ERR_STATE (not in
 * TRANSACTION, or closed); POSTIE_ERR_PARAM (p NULL); and, when a STAT was
 * needed, its statuses (POSTIE_ERR_SERVER, POSTIE_ERR_PROTOCOL, transport
 * statuses). */
postie_status postie_pop3_queue_retr(postie_pop3 *p, unsigned long msg);
postie_status postie_pop3_queue_top(postie_pop3 *p, unsigned long msg, unsigned long lines);
postie_status postie_pop3_queue_dele(postie_pop3 *p, unsigned long msg);
postie_status postie_pop3_queue_noop(postie_pop3 *p);

/* Queue LIST or UIDL without argument: the listing of every message, e.g.
 * both in one flight (postie_pop3_queue_uidl, postie_pop3_queue_list,
 * postie_pop3_flush: one round trip for the two instead of two). No message
 * number is involved, so no STAT is ever sent first. When next returns
 * POSTIE_OK for one, read its entries with postie_pop3_list_next() or
 * postie_pop3_uidl_next() until POSTIE_DONE (or postie_pop3_drain()),
 * exactly as after postie_pop3_list_begin() / postie_pop3_uidl_begin(); the
 * entries raise the known message count as there. A -ERR (a server without
 * UIDL) is POSTIE_ERR_SERVER from next, with no entries to read.
 * Returns POSTIE_OK (queued); POSTIE_ERR_BUFFER, POSTIE_ERR_BUSY,
 * POSTIE_ERR_STATE, POSTIE_ERR_PARAM as the calls above;
 * POSTIE_ERR_UNSUPPORTED when POSTIE_WITH_POP3_PIPELINING is 0. */
postie_status postie_pop3_queue_list(postie_pop3 *p);
postie_status postie_pop3_queue_uidl(postie_pop3 *p);

/* Sends queued commands that have not gone out: all of them in one write
 * when pipelining (see postie_pop3_pipelining()), else only the oldest, and
 * only when no reply is outstanding (otherwise next sends it in its turn).
 * Nothing queued: POSTIE_OK, nothing sent. Allowed while a message is being
 * read (when pipelining, the commands then overlap the transfer).
 * Returns POSTIE_OK; POSTIE_ERR_STATE (not in TRANSACTION, or closed);
 * POSTIE_ERR_PARAM (p NULL); transport statuses (fatal). */
postie_status postie_pop3_flush(postie_pop3 *p);

/* Reads the reply of the oldest queued command (sending it first if it has
 * not gone out, as flush would). *kind, *msg (message number, 0 for NOOP)
 * and *octets (RETR: the size announced in "+OK 120 octets", else 0) may be
 * NULL; they describe the entry the status belongs to, whatever the status.
 * After POSTIE_OK for RETR or TOP the message follows: read it with
 * postie_pop3_read() until POSTIE_DONE (or postie_pop3_drain()), exactly as
 * after postie_pop3_retr_begin(); after POSTIE_OK for LIST or UIDL its
 * entries follow (postie_pop3_list_next() / postie_pop3_uidl_next()); the
 * next call to next is POSTIE_ERR_BUSY until then. postie_pop3_reply_text() gives the reply's text.
 * Returns POSTIE_OK (+OK); POSTIE_ERR_SERVER (-ERR: that entry failed, the
 * later ones are unaffected); POSTIE_DONE (nothing queued; *kind NONE);
 * POSTIE_ERR_BUSY (a message or listing is being read); POSTIE_ERR_STATE
 * (not in TRANSACTION, or closed); POSTIE_ERR_PARAM (p NULL);
 * POSTIE_ERR_PROTOCOL, transport and reply-engine statuses (fatal: the
 * session is closed and the rest of the queue is forgotten). */
postie_status postie_pop3_next(postie_pop3 *p, postie_pop3_cmd_kind *kind, unsigned long *msg,
                               unsigned long *octets);

/* Number of commands queued or awaiting their reply (0 for p NULL). */
unsigned postie_pop3_queued(const postie_pop3 *p);

/* QUIT, then closes the transport. *committed (may be NULL) is 1 when the
 * server answered +OK in the TRANSACTION state (deletions done), else 0.
 * Returns POSTIE_OK, or POSTIE_ERR_SERVER when the server answered -ERR (it
 * could not remove the deleted messages), or a transport status (the
 * deletions then may or may not have happened: *committed is 0);
 * POSTIE_ERR_STATE (not open), POSTIE_ERR_BUSY (a multi-line reply is in
 * progress, or pipelined commands are queued: nothing sent), POSTIE_ERR_PARAM (p NULL). QUIT is also accepted in
 * AUTHORIZATION (*committed 0). The session is CLOSED afterwards in every case
 * but STATE/BUSY/PARAM. */
postie_status postie_pop3_quit(postie_pop3 *p, int *committed);

/* Drops the connection without QUIT (no deletion is committed). Safe to call
 * in any state, more than once. */
void postie_pop3_close(postie_pop3 *p);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_POP3_H */
