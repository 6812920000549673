/* lwIP options of the mps2-an386 firmware: NO_SYS (one polled main loop),
 * raw API only, IPv4 with ARP over the LAN9118, TCP sized for two mail
 * connections one after the other. */
#ifndef LWIPOPTS_H
#define LWIPOPTS_H

#define NO_SYS                    1
#define SYS_LIGHTWEIGHT_PROT      0
#define LWIP_TIMERS               1
#define LWIP_SOCKET               0
#define LWIP_NETCONN              0
#define LWIP_ALTCP                0

#define LWIP_IPV4                 1
#define LWIP_IPV6                 0
#define LWIP_ARP                  1
#define LWIP_ETHERNET             1
#define LWIP_ICMP                 1
#define LWIP_RAW                  0
#define LWIP_UDP                  0
#define LWIP_DHCP                 0
#define LWIP_DNS                  0
#define LWIP_IGMP                 0
#define LWIP_TCP                  1
#define IP_REASSEMBLY             0
#define IP_FRAG                   0

#define MEM_ALIGNMENT             4
#define MEM_SIZE                  (12 * 1024)
#define MEMP_NUM_PBUF             16
#define MEMP_NUM_TCP_PCB          4
#define MEMP_NUM_TCP_PCB_LISTEN   1
#define MEMP_NUM_TCP_SEG          32
#define PBUF_POOL_SIZE            16
#define PBUF_POOL_BUFSIZE         1536

#define TCP_MSS                   1460
#define TCP_WND                   (4 * TCP_MSS)  /* fits the controller's RX FIFO */
#define TCP_SND_BUF               (4 * TCP_MSS)
#define TCP_SND_QUEUELEN          (4 * TCP_SND_BUF / TCP_MSS)
#define LWIP_TCP_KEEPALIVE        0
#define TCP_QUEUE_OOSEQ           1

#define LWIP_NETIF_STATUS_CALLBACK 0
#define LWIP_NETIF_LINK_CALLBACK   0
#define LWIP_NETIF_LOOPBACK        0
#define LWIP_HAVE_LOOPIF           0
#define LWIP_STATS                 0
#define LWIP_DEBUG                 0
#define CHECKSUM_GEN_IP            1
#define CHECKSUM_CHECK_IP          1

/* initial sequence numbers and local ports */
unsigned board_rand32(void);
#define LWIP_RAND()               (board_rand32())

#endif
