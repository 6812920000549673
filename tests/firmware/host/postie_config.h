/* Postie for the host test of ports/lwip: a receive buffer far smaller than
 * what lwIP hands over, so the port must keep pbufs and offer them again. */
#ifndef POSTIE_CONFIG_H
#define POSTIE_CONFIG_H
#define POSTIE_RECV_BUF_SIZE       64
#define POSTIE_LINE_MAX            512
#define POSTIE_CMD_MAX             512
#define POSTIE_POP3_PIPELINE_MAX   8
#endif
