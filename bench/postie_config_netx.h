/*
 * bench/postie_config_netx.h - the NetX Duo clients' feature set, for a
 * firmware that replaces them (docs/porting.md, "Feature switches";
 * docs/performance.md for what it links and the RAM it takes):
 *   POP3: APOP or USER/PASS, STAT, LIST, RETR, DELE, QUIT (no CAPA, STLS,
 *         AUTH or pipelining queue: set the TLS policy POSTIE_TLS_OFF, or
 *         POSTIE_TLS_IMPLICIT over a TLS transport);
 *   SMTP: EHLO (no STARTTLS: TLS policy OFF, or IMPLICIT), AUTH PLAIN /
 *         LOGIN / CRAM-MD5, mail to one recipient (an envelope of more is
 *         POSTIE_ERR_UNSUPPORTED, as nx_smtp_mail_send() takes one: no
 *         POSTIE_WITH_SMTP_MULTI_RCPT), one composed mail with a
 *         subject, a body and a priority (no attachments, no encoded words,
 *         no quoted-printable: the body must be ASCII with lines of at most
 *         998 octets, or 8-bit text to a server with 8BITMIME; the simple
 *         header writer: addresses without display names, a subject of
 *         printable ASCII on one line, at most 67 characters; no caller
 *         header fields);
 *   short status names instead of postie_strerror()'s messages; no
 *   postie_smtp_send_batch() and no per-call deadline (each wait is bounded
 *   by its timeout, as in the NetX Duo clients).
 * Buffers at the RFC minimums: a reply line of 512 octets (RFC 1939, RFC
 * 5321), a command line of 512; POSTIE_SHARED_BUFFERS makes the line buffer
 * the SASL scratch too, so AUTH PLAIN takes a user and password of up to
 * 379 octets together (its response must fit one 512-octet line).
 * docs/performance.md: 1336 (POP3) and 1536 (SMTP) bytes of context.
 */
#ifndef POSTIE_CONFIG_NETX_H
#define POSTIE_CONFIG_NETX_H

#define POSTIE_WITH_SASL_PLAIN        1
#define POSTIE_WITH_SASL_LOGIN        1
#define POSTIE_WITH_SASL_CRAM_MD5     1
#define POSTIE_WITH_SASL_XOAUTH2      0
#define POSTIE_WITH_SASL_OAUTHBEARER  0
#define POSTIE_WITH_SASL_SCRAM        0
#define POSTIE_WITH_POP3_SASL         0
#define POSTIE_WITH_POP3_CAPA         0
#define POSTIE_WITH_SMTP_STARTTLS     0
#define POSTIE_WITH_APOP              1
#define POSTIE_WITH_COMPOSE           1
#define POSTIE_WITH_COMPOSE_MIME      0
#define POSTIE_WITH_ENCODED_WORDS     0
#define POSTIE_WITH_COMPOSE_RICH_HEADERS 0
#define POSTIE_WITH_COMPOSE_HEADERS   0  /* no caller header fields */
#define POSTIE_WITH_QP                0
#define POSTIE_WITH_POP3_PIPELINING   0
#define POSTIE_WITH_SMTP_PIPELINING   0
#define POSTIE_WITH_CHUNKING          0
#define POSTIE_WITH_SMTPUTF8          0
#define POSTIE_WITH_STATUS_MESSAGES   0
#define POSTIE_WITH_DEADLINE          0
#define POSTIE_WITH_SMTP_BATCH        0
#define POSTIE_WITH_SMTP_MULTI_RCPT   0  /* one recipient per mail, as nx_smtp_mail_send() */
#define POSTIE_SHARED_BUFFERS         1  /* buffers whose lifetimes never overlap share memory */

#define POSTIE_LINE_MAX             512  /* RFC 1939 / RFC 5321 minimum */
#define POSTIE_RECV_BUF_SIZE         64  /* any size from 1 works: more recv calls */
#define POSTIE_CMD_MAX              512  /* documented minimum */
#define POSTIE_REPLY_TEXT_MAX        64  /* minimum */
#define POSTIE_POP3_TIMESTAMP_MAX    64  /* APOP <...>; a longer one means USER/PASS */
#define POSTIE_SASL_MECHS_MAX        48  /* EHLO AUTH list kept */
#define POSTIE_SMTP_DOMAIN_MAX       64  /* EHLO argument */
#define POSTIE_SERVER_NAME_MAX       64  /* TLS server name (STLS/STARTTLS) */
#define POSTIE_POP3_PIPELINE_MAX      1
#define POSTIE_PIPELINE_MAX           2  /* minimum without pipelining */
#define POSTIE_COMPOSE_BUF_SIZE     512  /* documented minimum */
#define POSTIE_COMPOSE_IN_SIZE       57

#endif /* POSTIE_CONFIG_NETX_H */
