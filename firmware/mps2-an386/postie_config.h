/* Postie's sizes for the mps2-an386 firmware (postie_config_defaults.h
 * explains each): the RFC minimums where they suffice, a receive buffer of
 * one TCP segment. */
#ifndef POSTIE_CONFIG_H
#define POSTIE_CONFIG_H
#define POSTIE_LINE_MAX            1024
#define POSTIE_RECV_BUF_SIZE       1024
#define POSTIE_CMD_MAX             512
#define POSTIE_REPLY_TEXT_MAX      128
#define POSTIE_POP3_TIMESTAMP_MAX  128
#define POSTIE_SASL_MECHS_MAX      64
#define POSTIE_DEFAULT_TIMEOUT_MS  20000u

#define POSTIE_POP3_PIPELINE_MAX   8
#endif
