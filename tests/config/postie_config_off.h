/*
 * tests/config/postie_config_off.h - every feature switch of
 * postie_config_defaults.h off and every size at its minimum: the smallest
 * build there is. tests/config/test_config_off.c checks that each call that
 * needs a feature says POSTIE_ERR_UNSUPPORTED and that what is left works.
 */
#ifndef POSTIE_CONFIG_OFF_H
#define POSTIE_CONFIG_OFF_H

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
#define POSTIE_WITH_DEADLINE          0
#define POSTIE_WITH_SMTP_BATCH        0
#define POSTIE_WITH_SMTP_MULTI_RCPT   0
#define POSTIE_SHARED_BUFFERS         1

#define POSTIE_LINE_MAX             512
#define POSTIE_RECV_BUF_SIZE          1
#define POSTIE_CMD_MAX              512
#define POSTIE_REPLY_TEXT_MAX        64
#define POSTIE_SASL_RAW_MAX         128
#define POSTIE_SMTP_DOMAIN_MAX       64
#define POSTIE_SERVER_NAME_MAX       16
#define POSTIE_POP3_PIPELINE_MAX      1
#define POSTIE_PIPELINE_MAX           2

#endif /* POSTIE_CONFIG_OFF_H */
