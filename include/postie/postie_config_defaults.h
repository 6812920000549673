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
 * Any size from 1 works; larger means fewer transport calls. */
#ifndef POSTIE_RECV_BUF_SIZE
#define POSTIE_RECV_BUF_SIZE 1024
#endif
#if POSTIE_RECV_BUF_SIZE < 1
#error "POSTIE_RECV_BUF_SIZE must be at least 1"
#endif

/* Longest command line a client builds, counting CRLF. RFC 1939 bounds a
 * POP3 command at 255 octets with keyword and arguments; SASL responses and
 * SMTP commands may be longer (RFC 5321: 512; AUTH lines longer still), so the
 * default is larger. Minimum 512. */
#ifndef POSTIE_CMD_MAX
#define POSTIE_CMD_MAX 2048
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
 * commands may be queued or awaiting their reply at once. The queue is a
 * fixed array in postie_pop3 (a message number and two bytes per entry);
 * the queued commands themselves wait in the command buffer, so their bytes
 * are also bounded by POSTIE_CMD_MAX. Minimum 1 (no overlap at all). */
#ifndef POSTIE_POP3_PIPELINE_MAX
#define POSTIE_POP3_PIPELINE_MAX 32
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
 * Minimum 4 (SMTP's MAIL, RCPT, DATA and a spare). */
#ifndef POSTIE_PIPELINE_MAX
#define POSTIE_PIPELINE_MAX (POSTIE_POP3_PIPELINE_MAX < 4 ? 4 : POSTIE_POP3_PIPELINE_MAX)
#endif
#if POSTIE_PIPELINE_MAX < 4
#error "POSTIE_PIPELINE_MAX must be at least 4"
#endif
#if POSTIE_PIPELINE_MAX > 255
#error "POSTIE_PIPELINE_MAX must be at most 255"
#endif

#endif /* POSTIE_CONFIG_DEFAULTS_H */
