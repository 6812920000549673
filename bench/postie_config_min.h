/*
 * bench/postie_config_min.h - a minimal firmware configuration: every size at
 * or near its documented minimum (include/postie/postie_config_defaults.h,
 * docs/porting.md sec. 6, include/postie/scram.h). Used by
 * `bench/size-arm.sh --config bench/postie_config_min.h` and bench_sizes_min
 * to show the RAM of a session on a small target. Costs: server lines longer
 * than the RFC 512 octets fail with POSTIE_ERR_LINE_TOO_LONG; AUTH responses
 * must fit 512-octet commands; more recv calls.
 */
#ifndef POSTIE_CONFIG_MIN_H
#define POSTIE_CONFIG_MIN_H

#define POSTIE_LINE_MAX            512   /* RFC 1939 / RFC 5321 minimum */
#define POSTIE_RECV_BUF_SIZE       256   /* any size from 1 works */
#define POSTIE_CMD_MAX             512   /* documented minimum */
#define POSTIE_REPLY_TEXT_MAX      128   /* minimum 64 */
#define POSTIE_POP3_TIMESTAMP_MAX  128
#define POSTIE_SASL_MECHS_MAX       64
#define POSTIE_COMPOSE_BUF_SIZE    512   /* documented minimum */
#define POSTIE_COMPOSE_IN_SIZE      57   /* one base64 line of input; minimum 3 */
#define POSTIE_SCRAM_AUTH_MAX      256   /* documented minimum */
#define POSTIE_SCRAM_SALT_MAX       64
#define POSTIE_POP3_PIPELINE_MAX     4   /* minimum 1 (no overlap); 4 RETR/DELE in flight */
#define POSTIE_DEFAULT_TIMEOUT_MS  15000u

#endif /* POSTIE_CONFIG_MIN_H */
