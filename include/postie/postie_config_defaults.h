/*
 * postie/postie_config_defaults.h - compile-time sizes and limits.
 *
 * Every buffer Postie uses lives inside a context struct the caller owns; its
 * size comes from here. To change one, define it in your own `postie_config.h`
 * and build with -DPOSTIE_HAVE_CONFIG_H (that header is included first, and
 * these #ifndef defaults fill in the rest).
 */
#ifndef POSTIE_CONFIG_DEFAULTS_H
#define POSTIE_CONFIG_DEFAULTS_H

#ifdef POSTIE_HAVE_CONFIG_H
#include "postie_config.h"
#endif

/* Longest server reply line, counting its CRLF. RFC 1939 (sec. 3) and RFC 5321
 * (sec. 4.5.3.1.5) bound a reply line at 512 octets: that is the minimum.
 * The default leaves room for servers that exceed the RFC a little. */
#ifndef POSTIE_LINE_MAX
#define POSTIE_LINE_MAX 1024
#endif
#if POSTIE_LINE_MAX < 512
#error "POSTIE_LINE_MAX must be at least 512 (RFC 1939, RFC 5321)"
#endif

/* Receive buffer of each client: bytes read from the transport in one call.
 * Any size from 1 works; larger means fewer transport calls. The default
 * suits hosts (a 10 KB message in one or two reads, and as few writes into
 * a Maildir); a firmware sets a few hundred bytes (bench/postie_config_*.h). */
#ifndef POSTIE_RECV_BUF_SIZE
#define POSTIE_RECV_BUF_SIZE 16384
#endif
#if POSTIE_RECV_BUF_SIZE < 1
#error "POSTIE_RECV_BUF_SIZE must be at least 1"
#endif

/* Longest command line a client builds, counting CRLF. RFC 1939 bounds a
 * POP3 command at 255 octets with keyword and arguments; SASL responses and
 * SMTP commands may be longer (RFC 5321: 512; AUTH lines longer still), so the
 * default is larger: 8192 carries an OAuth 2.0 access token of up to about
 * 6,000 octets (Microsoft's are 1.5-3 KB, base64 then adds a third).
 * Minimum 512. */
#ifndef POSTIE_CMD_MAX
#define POSTIE_CMD_MAX 8192
#endif
#if POSTIE_CMD_MAX < 512
#error "POSTIE_CMD_MAX must be at least 512"
#endif

/* Room kept for the server's last reply text (POP3 text after +OK/-ERR; SMTP
 * text of all lines of a multi-line reply, joined with '\n', truncated). */
#ifndef POSTIE_REPLY_TEXT_MAX
#define POSTIE_REPLY_TEXT_MAX 512
#endif
#if POSTIE_REPLY_TEXT_MAX < 64
#error "POSTIE_REPLY_TEXT_MAX must be at least 64"
#endif

/* POP3 APOP timestamp <...> from the greeting, with brackets. */
#ifndef POSTIE_POP3_TIMESTAMP_MAX
#define POSTIE_POP3_TIMESTAMP_MAX 256
#endif

/* POP3 unique-id (RFC 1939: 1 to 70 characters) plus NUL. */
#define POSTIE_POP3_UID_MAX 71

/* Room for the SASL mechanism list (POP3 CAPA "SASL", SMTP EHLO "AUTH"). */
#ifndef POSTIE_SASL_MECHS_MAX
#define POSTIE_SASL_MECHS_MAX 128
#endif

/* Default timeout of each network step, in milliseconds. */
#ifndef POSTIE_DEFAULT_TIMEOUT_MS
#define POSTIE_DEFAULT_TIMEOUT_MS 30000u
#endif

/* Message composer (compose.h): staged output. It must hold the longest unit
 * the composer stages at once: a header token (an address of up to 254
 * octets with its folding, a Message-ID with a 253-octet domain, a caller
 * header word of up to 300 octets). Minimum 512. */
#ifndef POSTIE_COMPOSE_BUF_SIZE
#define POSTIE_COMPOSE_BUF_SIZE 512
#endif
#if POSTIE_COMPOSE_BUF_SIZE < 512
#error "POSTIE_COMPOSE_BUF_SIZE must be at least 512"
#endif

/* Message composer: bytes pulled from a body or attachment reader in one
 * call. Any size from 3 works; 228 (3 lines of base64) is a good fit. */
#ifndef POSTIE_COMPOSE_IN_SIZE
#define POSTIE_COMPOSE_IN_SIZE 228
#endif
#if POSTIE_COMPOSE_IN_SIZE < 3
#error "POSTIE_COMPOSE_IN_SIZE must be at least 3"
#endif

/* POP3 pipelining (RFC 2449 sec. 6.6, postie_pop3_queue_*): how many
 * commands may be queued or awaiting their reply at once; it also sizes the
 * connection engine's ring (POSTIE_PIPELINE_MAX: a message number, an offset
 * and a tag per entry). The queued commands themselves wait in the command
 * buffer, so their bytes are also bounded by POSTIE_CMD_MAX. 255 (the most
 * the ring's one-byte indices allow) keeps a 20 ms link full of 10 kB
 * messages: postie-fetch's 2 MiB window of octets is then the bound, not the
 * count (32 cost about 31 round trips for 1,000 messages, 128 about nine;
 * docs/performance.md). A host default: each entry costs 24 bytes on a
 * 64-bit host, 12 on a 32-bit MCU, and a firmware sets its own (the
 * configurations in bench/ and firmware/). Minimum 1 (no overlap at all). */
#ifndef POSTIE_POP3_PIPELINE_MAX
#define POSTIE_POP3_PIPELINE_MAX 255
#endif
#if POSTIE_POP3_PIPELINE_MAX < 1
#error "POSTIE_POP3_PIPELINE_MAX must be at least 1"
#endif
#if POSTIE_POP3_PIPELINE_MAX > 255
#error "POSTIE_POP3_PIPELINE_MAX must be at most 255"
#endif

/* Commands the connection engine keeps awaiting their reply (conn.h): the
 * depth of POP3 and SMTP pipelining. The POP3 queue is bounded by
 * POSTIE_POP3_PIPELINE_MAX too; an SMTP envelope with more recipients than
 * fit goes out in several flights. Each entry costs two longs and a byte.
 * Minimum 4 (SMTP's MAIL, RCPT, DATA and a spare); 2 when both pipelining
 * switches below are off (every command then waits for the reply before
 * it, so one awaits its reply while at most one more is queued: the QUIT
 * or "*" that ends a refused exchange). The features are decided further
 * down, so the check is at the end of this file. */
#ifndef POSTIE_PIPELINE_MAX
#define POSTIE_PIPELINE_MAX (POSTIE_POP3_PIPELINE_MAX < 4 ? 4 : POSTIE_POP3_PIPELINE_MAX)
#endif
#if POSTIE_PIPELINE_MAX > 255
#error "POSTIE_PIPELINE_MAX must be at most 255"
#endif

/* ---- Features ------------------------------------------------------------------
 *
 * Each switch is 1 (compiled in, the default: hosts see no change) or 0 (not
 * compiled, so not linked: a firmware carries only what it uses). A call that
 * needs a feature switched off returns a clear status, never a different
 * behaviour: POSTIE_ERR_UNSUPPORTED unless said otherwise below.
 * docs/porting.md ("Feature switches") lists what each costs and saves, and
 * bench/postie_config_netx.h is a configuration with the NetX Duo clients'
 * feature set.
 */

/* SASL mechanisms of postie_pop3_auth() and postie_smtp_auth() (sasl.h).
 * A mechanism switched off is never chosen: asked only for mechanisms that
 * are not compiled in, AUTH returns POSTIE_ERR_UNSUPPORTED before sending
 * anything, and its postie_sasl_<mech>() builder returns the same.
 * SCRAM-SHA-256 brings SHA-256 and HMAC-SHA-256 (scram.h) and the largest
 * part of the exchange's state (postie_scram); CRAM-MD5 brings MD5. */
#ifndef POSTIE_WITH_SASL_PLAIN
#define POSTIE_WITH_SASL_PLAIN 1
#endif
#ifndef POSTIE_WITH_SASL_LOGIN
#define POSTIE_WITH_SASL_LOGIN 1
#endif
#ifndef POSTIE_WITH_SASL_CRAM_MD5
#define POSTIE_WITH_SASL_CRAM_MD5 1
#endif
#ifndef POSTIE_WITH_SASL_XOAUTH2
#define POSTIE_WITH_SASL_XOAUTH2 1
#endif
#ifndef POSTIE_WITH_SASL_OAUTHBEARER
#define POSTIE_WITH_SASL_OAUTHBEARER 1
#endif
#ifndef POSTIE_WITH_SASL_SCRAM
#define POSTIE_WITH_SASL_SCRAM 1
#endif
/* Any SASL mechanism at all: without one, AUTH (both protocols) and the
 * exchange's state are not compiled (postie_*_auth: POSTIE_ERR_UNSUPPORTED). */
#define POSTIE_WITH_SASL                                                                   \
    (POSTIE_WITH_SASL_PLAIN || POSTIE_WITH_SASL_LOGIN || POSTIE_WITH_SASL_CRAM_MD5 ||      \
     POSTIE_WITH_SASL_XOAUTH2 || POSTIE_WITH_SASL_OAUTHBEARER || POSTIE_WITH_SASL_SCRAM)

/* POP3 AUTH (RFC 5034, postie_pop3_auth()). Off: postie_pop3_auth() returns
 * POSTIE_ERR_UNSUPPORTED and postie_pop3 holds no SASL state (the NetX Duo
 * POP3 client logs in with APOP or USER/PASS only). SMTP AUTH is unaffected. */
#ifndef POSTIE_WITH_POP3_SASL
#define POSTIE_WITH_POP3_SASL (POSTIE_WITH_SASL && POSTIE_WITH_POP3_CAPA)
#endif

/* POP3 CAPA (RFC 2449) and, with it, STLS (RFC 2595): the NetX Duo POP3
 * client has neither. Off: open() reads the greeting only (as with
 * POSTIE_POP3_OPEN_NO_CAPA); postie_pop3_capa() and postie_pop3_stls() return
 * POSTIE_ERR_UNSUPPORTED; so does open() under the TLS policies REQUIRED (the
 * default) and OPPORTUNISTIC, which would need STLS: set POSTIE_TLS_OFF, or
 * POSTIE_TLS_IMPLICIT over a transport that is TLS from the start. No
 * capability is ever known, so POP3 pipelining and AUTH are never used. */
#ifndef POSTIE_WITH_POP3_CAPA
#define POSTIE_WITH_POP3_CAPA 1
#endif

/* SMTP STARTTLS (RFC 3207): the NetX Duo SMTP client has none. Off:
 * postie_smtp_starttls() returns POSTIE_ERR_UNSUPPORTED, and so does open()
 * under the TLS policies REQUIRED (the default) and OPPORTUNISTIC: set
 * POSTIE_TLS_OFF, or POSTIE_TLS_IMPLICIT over a transport that is TLS from
 * the start (port 465). */
#ifndef POSTIE_WITH_SMTP_STARTTLS
#define POSTIE_WITH_SMTP_STARTTLS 1
#endif

/* POP3 APOP (RFC 1939 sec. 7, MD5 of the greeting's timestamp). Off:
 * POSTIE_POP3_LOGIN_APOP returns POSTIE_ERR_UNSUPPORTED, POSTIE_POP3_LOGIN_AUTO
 * logs in with USER/PASS, the greeting's timestamp is not kept. */
#ifndef POSTIE_WITH_APOP
#define POSTIE_WITH_APOP 1
#endif

/* The message composer (compose.h). Off: postie_compose_begin(),
 * postie_compose_read(), postie_compose_size() and
 * postie_compose_format_date() return POSTIE_ERR_UNSUPPORTED. */
#ifndef POSTIE_WITH_COMPOSE
#define POSTIE_WITH_COMPOSE 1
#endif
/* The composer's MIME attachments (multipart/mixed, base64 parts, RFC 2231
 * file names). Off: a message with attachments is POSTIE_ERR_UNSUPPORTED. */
#ifndef POSTIE_WITH_COMPOSE_MIME
#define POSTIE_WITH_COMPOSE_MIME POSTIE_WITH_COMPOSE
#endif
/* The composer's full header writer: display names ("Ann Lee" <a@x>,
 * quoted when they hold specials), and subjects and caller header values
 * folded over several lines. Off: the simple writer writes each text as it
 * is on its field's first line, which is what the full writer would write
 * for it too: printable ASCII words separated by single spaces, no "=?",
 * "<name>: <text>" at most 76 columns (a 67-character subject); an address
 * list is still folded between addresses. A display name, or a text that
 * would have to be folded, quoted or encoded, is POSTIE_ERR_UNSUPPORTED
 * from postie_compose_begin(). Needs POSTIE_WITH_ENCODED_WORDS 0. */
#ifndef POSTIE_WITH_COMPOSE_RICH_HEADERS
#define POSTIE_WITH_COMPOSE_RICH_HEADERS POSTIE_WITH_COMPOSE
#endif
/* The caller's own header fields in the composer (postie_compose_message's
 * headers[]: name checks, the reserved names, the value's writer). Off: a
 * message with header_count > 0 is POSTIE_ERR_UNSUPPORTED from
 * postie_compose_begin() (the NetX Duo client writes none either). */
#ifndef POSTIE_WITH_COMPOSE_HEADERS
#define POSTIE_WITH_COMPOSE_HEADERS POSTIE_WITH_COMPOSE
#endif
/* Encoded words (RFC 2047) in the composer's headers: display names and
 * subjects that are not printable ASCII, or too long to fold. Off: such a
 * header is POSTIE_ERR_UNSUPPORTED. */
#ifndef POSTIE_WITH_ENCODED_WORDS
#define POSTIE_WITH_ENCODED_WORDS POSTIE_WITH_COMPOSE
#endif
/* Quoted-printable bodies in the composer (RFC 2045 sec. 6.7). Off: a body
 * that would need it (8-bit bytes without allow_8bit, NUL, bare CR, a line over
 * 998 octets, or any body from a reader) is POSTIE_ERR_UNSUPPORTED. */
#ifndef POSTIE_WITH_QP
#define POSTIE_WITH_QP POSTIE_WITH_COMPOSE
#endif

/* POP3 pipelining (RFC 2449 sec. 6.6): the command queue of
 * postie_pop3_queue_*(), postie_pop3_flush() and postie_pop3_next(). Off:
 * those return POSTIE_ERR_UNSUPPORTED and every command waits for the
 * previous reply. */
#ifndef POSTIE_WITH_POP3_PIPELINING
#define POSTIE_WITH_POP3_PIPELINING 1
#endif
/* SMTP pipelining (RFC 2920). Off: MAIL, each RCPT and DATA each wait for
 * the previous reply even when the server offers PIPELINING (the same
 * result, more round trips). */
#ifndef POSTIE_WITH_SMTP_PIPELINING
#define POSTIE_WITH_SMTP_PIPELINING 1
#endif
/* SMTP CHUNKING (RFC 3030): BDAT in postie_smtp_send_batch(). Off: every
 * message goes with DATA even when the server offers CHUNKING (the same
 * result; BDAT saves the dot-stuffing pass and a round trip per message). */
#ifndef POSTIE_WITH_CHUNKING
#define POSTIE_WITH_CHUNKING 1
#endif
/* postie_smtp_send_batch() (several messages per flight, one outcome each).
 * Off: it returns POSTIE_ERR_UNSUPPORTED without sending anything or
 * touching the messages, and postie_smtp holds none of its state (28 bytes
 * less on a 32-bit target); postie_smtp_send() and _send_buf() are there. */
#ifndef POSTIE_WITH_SMTP_BATCH
#define POSTIE_WITH_SMTP_BATCH 1
#endif
/* Envelopes of more than one recipient (postie_smtp_mail(), _send(),
 * _send_buf(), _send_batch()). Off: an envelope whose nrcpts is above 1 is
 * POSTIE_ERR_UNSUPPORTED before anything is sent or written into it (nrcpts
 * 0 stays POSTIE_ERR_PARAM), and the MAIL/RCPT/DATA machine is compiled for
 * exactly one recipient, the one the NetX Duo client's nx_smtp_mail_send()
 * takes; a one-recipient mail goes as with it on. */
#ifndef POSTIE_WITH_SMTP_MULTI_RCPT
#define POSTIE_WITH_SMTP_MULTI_RCPT 1
#endif
/* SMTPUTF8 (RFC 6531): non-ASCII addresses and POSTIE_SMTP_MSG_UTF8. Off:
 * such an envelope is POSTIE_ERR_UNSUPPORTED (as with a server without
 * SMTPUTF8). */
#ifndef POSTIE_WITH_SMTPUTF8
#define POSTIE_WITH_SMTPUTF8 1
#endif

/* Per-call deadlines (postie_pop3_set_deadline(), postie_smtp_set_deadline(),
 * postie_conn_set_deadline()): a call's total time bounded by a clock, however
 * slowly the bytes trickle in. Off: those calls return POSTIE_ERR_UNSUPPORTED
 * and change nothing, the connection engine holds no clock (24 bytes less on
 * a 32-bit target), and each transport call is bounded by the per-step
 * timeout alone (as in the NetX Duo clients, whose every wait has its own
 * timeout). */
#ifndef POSTIE_WITH_DEADLINE
#define POSTIE_WITH_DEADLINE 1
#endif

/* The long messages of postie_strerror(). Off: postie_strerror() returns the
 * status's short name, as postie_status_name() does ("ERR_TIMEOUT"). */
#ifndef POSTIE_WITH_STATUS_MESSAGES
#define POSTIE_WITH_STATUS_MESSAGES 1
#endif

/* ---- Buffer sharing ----------------------------------------------------------
 *
 * POSTIE_SHARED_BUFFERS 1: the SASL exchange's scratch (sasl_exchange.h) and
 * the chunk buffer postie_smtp_send() reads messages into are the
 * connection's line buffer, idle at those times (a reply's text is copied
 * out before a response is built; no reply is framed while a message body
 * goes out), instead of POSTIE_SASL_RAW_MAX bytes of their own in each
 * context: postie_smtp is that much smaller, and both get POSTIE_LINE_MAX
 * bytes of room. Same behaviour, same bytes on the wire. Needs SCRAM and
 * POP3 AUTH off (SCRAM keeps its first message across a reply; POP3 reads
 * its challenge out of the line buffer itself). Default 0 (the layout hosts
 * have always had); bench/postie_config_netx.h sets 1. */
#ifndef POSTIE_SHARED_BUFFERS
#define POSTIE_SHARED_BUFFERS 0
#endif
#if POSTIE_SHARED_BUFFERS && (POSTIE_WITH_SASL_SCRAM || POSTIE_WITH_POP3_SASL)
#error "POSTIE_SHARED_BUFFERS needs POSTIE_WITH_SASL_SCRAM 0 and POSTIE_WITH_POP3_SASL 0"
#endif

#if !POSTIE_WITH_COMPOSE && (POSTIE_WITH_COMPOSE_MIME || POSTIE_WITH_ENCODED_WORDS || POSTIE_WITH_QP)
#error "POSTIE_WITH_COMPOSE_MIME, _ENCODED_WORDS and _QP need POSTIE_WITH_COMPOSE"
#endif
#if !POSTIE_WITH_COMPOSE && POSTIE_WITH_COMPOSE_RICH_HEADERS
#error "POSTIE_WITH_COMPOSE_RICH_HEADERS needs POSTIE_WITH_COMPOSE"
#endif
#if !POSTIE_WITH_COMPOSE && POSTIE_WITH_COMPOSE_HEADERS
#error "POSTIE_WITH_COMPOSE_HEADERS needs POSTIE_WITH_COMPOSE"
#endif
#if POSTIE_WITH_ENCODED_WORDS && !POSTIE_WITH_COMPOSE_RICH_HEADERS
#error "POSTIE_WITH_ENCODED_WORDS needs POSTIE_WITH_COMPOSE_RICH_HEADERS"
#endif
#if POSTIE_WITH_POP3_SASL && !POSTIE_WITH_SASL
#error "POSTIE_WITH_POP3_SASL needs at least one SASL mechanism"
#endif
#if POSTIE_WITH_POP3_SASL && !POSTIE_WITH_POP3_CAPA
#error "POSTIE_WITH_POP3_SASL needs POSTIE_WITH_POP3_CAPA (the mechanisms come from CAPA)"
#endif

#if POSTIE_WITH_POP3_PIPELINING || POSTIE_WITH_SMTP_PIPELINING
#if POSTIE_PIPELINE_MAX < 4
#error "POSTIE_PIPELINE_MAX must be at least 4 (2 without POP3 and SMTP pipelining)"
#endif
#elif POSTIE_PIPELINE_MAX < 2
#error "POSTIE_PIPELINE_MAX must be at least 2 (4 with POP3 or SMTP pipelining)"
#endif

#endif /* POSTIE_CONFIG_DEFAULTS_H */
