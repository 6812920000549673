/* lwIP for tests/firmware/test_lwip_raw.c on the host: NO_SYS, raw API,
 * the loopback interface only (client and server in one lwIP), small
 * segments and windows so that data arrives in many pieces. */
#ifndef LWIPOPTS_H
#define LWIPOPTS_H
#define NO_SYS                    1
#define SYS_LIGHTWEIGHT_PROT      0
#define LWIP_TIMERS               1
#define LWIP_SOCKET               0
#define LWIP_NETCONN              0
#define LWIP_IPV4                 1
#define LWIP_IPV6                 0
#define LWIP_ARP                  0
#define LWIP_ETHERNET             0
#define LWIP_ICMP                 1
#define LWIP_RAW                  0
#define LWIP_UDP                  0
#define LWIP_DHCP                 0
#define LWIP_DNS                  0
#define LWIP_TCP                  1
#define LWIP_NETIF_LOOPBACK       1
#define LWIP_HAVE_LOOPIF          1
#define LWIP_LOOPBACK_MAX_PBUFS   0
#define MEM_ALIGNMENT             8
#define MEM_SIZE                  (256 * 1024)
#define MEMP_NUM_PBUF             64
#define MEMP_NUM_TCP_PCB          8
#define MEMP_NUM_TCP_SEG          128
#define PBUF_POOL_SIZE            64
#define TCP_MSS                   536
#define TCP_WND                   (2 * TCP_MSS)
#define TCP_SND_BUF               (4 * TCP_MSS)
#define TCP_SND_QUEUELEN          64
#define LWIP_STATS                1
#define MEMP_STATS                1
#define LWIP_STATS_DISPLAY        0
#define LWIP_DEBUG                0
unsigned test_rand(void);
#define LWIP_RAND()               (test_rand())
#endif
