/*
 * postie/pop3.h - blocking POP3 client (RFC 1939, RFC 2449 CAPA).
 *
 * No allocation: every byte lives in the postie_pop3 struct, which the caller
 * owns (static, on the stack, or wherever). One context is one session; two
 * contexts may be used from two threads at once.
 *
 * Typical use:
 *     postie_tcp tcp; postie_transport tr; postie_pop3 p;
 *     postie_tcp_connect(&tcp, "mail.example.org", "110", 10000);
 *     postie_tcp_transport(&tcp, &tr);
 *     postie_pop3_init(&p, &tr);
 *     postie_pop3_open(&p);                         greeting + CAPA
 *     postie_pop3_login(&p, user, pass, POSTIE_POP3_LOGIN_AUTO);
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

#ifdef __cplusplus
extern "C" {
#endif

/* Capabilities learned from CAPA (RFC 2449); postie_pop3_caps(). */
#define POSTIE_POP3_CAP_CAPA        0x0001u /* the server answered CAPA at all */
#define POSTIE_POP3_CAP_TOP         0x0002u
#define POSTIE_POP3_CAP_UIDL        0x0004u
#define POSTIE_POP3_CAP_USER        0x0008u
#define POSTIE_POP3_CAP_SASL        0x0010u /* mechanisms: postie_pop3_sasl_mechs() */
#define POSTIE_POP3_CAP_STLS        0x0020u
#define POSTIE_POP3_CAP_PIPELINING  0x0040u
#define POSTIE_POP3_CAP_RESP_CODES  0x0080u
#define POSTIE_POP3_CAP_AUTH_RESP_CODE 0x0100u
#define POSTIE_POP3_CAP_UTF8        0x0200u
#define POSTIE_POP3_CAP_EXPIRE      0x0400u
#define POSTIE_POP3_CAP_LOGIN_DELAY 0x0800u
#define POSTIE_POP3_CAP_APOP        0x1000u /* the greeting carried a <timestamp> */

typedef enum postie_pop3_login_mode {
    POSTIE_POP3_LOGIN_AUTO = 0, /* APOP when the greeting has a timestamp; USER/PASS
                                   when there is none or APOP is refused */
    POSTIE_POP3_LOGIN_USER,     /* USER/PASS only */
    POSTIE_POP3_LOGIN_APOP      /* APOP only */
} postie_pop3_login_mode;

typedef enum postie_pop3_state {
    POSTIE_POP3_STATE_CLOSED = 0, /* init'ed, not open; or after close/quit/fatal error */
    POSTIE_POP3_STATE_AUTHORIZATION,
    POSTIE_POP3_STATE_TRANSACTION
} postie_pop3_state;

typedef struct postie_pop3 {
    postie_transport tr;
    unsigned timeout_ms;
    postie_pop3_state state;
    unsigned char busy;          /* 1 while a multi-line reply is being read */
    unsigned char busy_kind;     /* which multi-line reply (internal) */
    unsigned caps;
    long count;                  /* messages in the maildrop, -1 until known */
    char timestamp[POSTIE_POP3_TIMESTAMP_MAX]; /* "<...>" from the greeting, or "" */
    char sasl[POSTIE_SASL_MECHS_MAX];          /* CAPA SASL mechanisms, space separated */
    char reply[POSTIE_REPLY_TEXT_MAX];         /* text of the last status line */
    postie_line line;
    postie_pop3_body body;       /* multi-line un-stuffing state */
    char rbuf[POSTIE_RECV_BUF_SIZE];
    size_t rpos, rlen;
    char cmd[POSTIE_CMD_MAX];
} postie_pop3;

/* Prepares p over transport t (copied; t->ctx must outlive p). Sends nothing.
 * Returns POSTIE_OK, or POSTIE_ERR_PARAM (p/t NULL, or t->send/recv NULL). */
postie_status postie_pop3_init(postie_pop3 *p, const postie_transport *t);

/* Timeout of every network step of later calls (default POSTIE_DEFAULT_TIMEOUT_MS):
 * passed to each transport send/recv. Returns nothing; p NULL is ignored. */
void postie_pop3_set_timeout(postie_pop3 *p, unsigned timeout_ms);

/* Reads the greeting (keeping an APOP timestamp) and sends CAPA; a server
 * without CAPA (-ERR) is fine: caps then has no POSTIE_POP3_CAP_CAPA.
 * Returns POSTIE_OK; POSTIE_ERR_SERVER (greeting was -ERR: the server refuses
 * the session, so the transport is closed and the session is CLOSED);
 * POSTIE_ERR_STATE (already open, or closed); POSTIE_ERR_PARAM (p NULL);
 * transport/reply-engine statuses (fatal). */
postie_status postie_pop3_open(postie_pop3 *p);

/* postie_pop3_open() with flags. POSTIE_POP3_OPEN_NO_CAPA: read the greeting
 * only, send no CAPA (an exact RFC 1939 exchange, as the NetX Duo client
 * makes; caps then hold at most POSTIE_POP3_CAP_APOP; postie_pop3_capa() may
 * still be called later). Same statuses as postie_pop3_open(), and
 * POSTIE_ERR_PARAM for an unknown flag. */
#define POSTIE_POP3_OPEN_NO_CAPA 0x1u
postie_status postie_pop3_open_ex(postie_pop3 *p, unsigned flags);

/* Re-sends CAPA and replaces the capabilities (used again after STLS); the
 * POSTIE_POP3_CAP_APOP bit (from the greeting) is kept.
 * Returns POSTIE_OK; POSTIE_ERR_SERVER (-ERR: caps then hold only the APOP
 * bit); POSTIE_ERR_STATE (not open); POSTIE_ERR_BUSY; POSTIE_ERR_PARAM;
 * transport/reply-engine statuses (fatal). */
postie_status postie_pop3_capa(postie_pop3 *p);

/* Accessors: never fail; p NULL gives 0, "" or POSTIE_POP3_STATE_CLOSED. */
/* POSTIE_POP3_CAP_* bits. */
unsigned postie_pop3_caps(const postie_pop3 *p);
/* Mechanisms from CAPA's SASL line, space separated; "" when none. Owned by p. */
const char *postie_pop3_sasl_mechs(const postie_pop3 *p);
/* APOP timestamp "<...>" from the greeting, or "". Owned by p. */
const char *postie_pop3_timestamp(const postie_pop3 *p);
/* Text of the server's last status line after "+OK "/"-ERR " (truncated to
 * POSTIE_REPLY_TEXT_MAX-1). Owned by p, valid until the next call. */
const char *postie_pop3_reply_text(const postie_pop3 *p);
postie_pop3_state postie_pop3_get_state(const postie_pop3 *p);

/* Logs in. user and pass: NUL-terminated; CR or LF in either (or an empty
 * user, or a command that would not fit POSTIE_CMD_MAX, or an unknown mode)
 * is POSTIE_ERR_PARAM and nothing is sent. The password is wiped from p->cmd
 * after use. AUTO falls back to USER/PASS after an APOP -ERR that is not
 * transient.
 * Returns POSTIE_OK (now in TRANSACTION); POSTIE_ERR_AUTH (-ERR to PASS or
 * APOP; -ERR to USER too); POSTIE_ERR_TRANSIENT (-ERR [SYS/TEMP], [IN-USE] or
 * [LOGIN-DELAY]: try later); POSTIE_ERR_UNSUPPORTED (APOP mode and the greeting
 * has no timestamp); POSTIE_ERR_STATE (not in AUTHORIZATION); POSTIE_ERR_PARAM;
 * transport/reply-engine statuses (fatal). After AUTH/TRANSIENT the session
 * stays in AUTHORIZATION and login may be tried again. */
postie_status postie_pop3_login(postie_pop3 *p, const char *user, const char *pass,
                                postie_pop3_login_mode mode);

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
 * being read); POSTIE_ERR_NO_SUCH_MESSAGE (calls taking msg);
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

/* QUIT, then closes the transport. *committed (may be NULL) is 1 when the
 * server answered +OK in the TRANSACTION state (deletions done), else 0.
 * Returns POSTIE_OK, or POSTIE_ERR_SERVER when the server answered -ERR (it
 * could not remove the deleted messages), or a transport status (the
 * deletions then may or may not have happened: *committed is 0);
 * POSTIE_ERR_STATE (not open), POSTIE_ERR_BUSY (a multi-line reply is in
 * progress: nothing sent), POSTIE_ERR_PARAM (p NULL). QUIT is also accepted in
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
