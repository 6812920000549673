/*
 * bench/postie_config_fetch.h - a fetch-only firmware (bench/apps/app_fetch.c:
 * USER/PASS, RETR, DELE): no SASL, no APOP, no composer, no pipelining queue,
 * short status names; buffers as bench/postie_config_netx.h. Used by
 * bench/size-link.sh.
 */
#ifndef POSTIE_CONFIG_FETCH_H
#define POSTIE_CONFIG_FETCH_H

#define POSTIE_WITH_SASL_PLAIN        0
#define POSTIE_WITH_SASL_LOGIN        0
#define POSTIE_WITH_SASL_CRAM_MD5     0
#define POSTIE_WITH_SASL_XOAUTH2      0
#define POSTIE_WITH_SASL_OAUTHBEARER  0
#define POSTIE_WITH_SASL_SCRAM        0
#define POSTIE_WITH_POP3_CAPA         0
#define POSTIE_WITH_SMTP_STARTTLS     0
#define POSTIE_WITH_APOP              0
#define POSTIE_WITH_COMPOSE           0
#define POSTIE_WITH_POP3_PIPELINING   0
#define POSTIE_WITH_SMTP_PIPELINING   0
#define POSTIE_WITH_CHUNKING          0
#define POSTIE_WITH_SMTPUTF8          0
#define POSTIE_WITH_STATUS_MESSAGES   0

#define POSTIE_LINE_MAX             512  /* RFC 1939 / RFC 5321 minimum */
#define POSTIE_RECV_BUF_SIZE         64  /* any size from 1 works: more recv calls */
#define POSTIE_CMD_MAX              512  /* documented minimum */
#define POSTIE_REPLY_TEXT_MAX        64  /* minimum */
#define POSTIE_SASL_MECHS_MAX        48
#define POSTIE_SASL_RAW_MAX         192
#define POSTIE_SMTP_DOMAIN_MAX       64
#define POSTIE_SERVER_NAME_MAX       64
#define POSTIE_POP3_PIPELINE_MAX      1
#define POSTIE_PIPELINE_MAX           4

#endif /* POSTIE_CONFIG_FETCH_H */
