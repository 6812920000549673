/*
 * LAN9118 driver for lwIP (NO_SYS, polled), written for the mps2 boards'
 * controller at 0x40200000 as QEMU models it. From the datasheet: direct
 * registers on the bus, MAC registers through MAC_CSR_CMD/DATA, frames
 * through the RX/TX data FIFOs in 32-bit words, one status word per frame
 * in the RX/TX status FIFOs. No interrupts: lan9118_poll() looks at the
 * RX status FIFO level.
 */
#include "lan9118.h"

#include <string.h>
#include "lwip/etharp.h"
#include "lwip/pbuf.h"
#include "netif/ethernet.h"

#define LAN_BASE 0x40200000u
#define REG(off) (*(volatile uint32_t *)(LAN_BASE + (off)))

#define RX_DATA_FIFO   0x00
#define TX_DATA_FIFO   0x20
#define RX_STATUS_FIFO 0x40
#define TX_STATUS_FIFO 0x48
#define ID_REV         0x50
#define IRQ_CFG        0x54
#define INT_STS        0x58
#define INT_EN         0x5C
#define BYTE_TEST      0x64
#define RX_CFG         0x6C
#define TX_CFG         0x70
#define HW_CFG         0x74
#define RX_FIFO_INF    0x7C
#define TX_FIFO_INF    0x80
#define PMT_CTRL       0x84
#define MAC_CSR_CMD    0xA4
#define MAC_CSR_DATA   0xA8
#define AFC_CFG        0xAC

#define CSR_BUSY   0x80000000u
#define CSR_READ   0x40000000u
#define MAC_CR     1
#define MAC_ADDRH  2
#define MAC_ADDRL  3

#define MAC_CR_RXEN (1u << 2)
#define MAC_CR_TXEN (1u << 3)
#define MAC_CR_FDPX (1u << 20)

#define TX_CFG_TX_ON (1u << 1)
#define TX_CFG_TXSAO (1u << 15)   /* status FIFO overrun allowed */
#define HW_CFG_SRST  (1u << 0)
#define PMT_READY    (1u << 0)

#define TXA_LAST  (1u << 12)
#define TXA_FIRST (1u << 13)
#define RXS_ES    (1u << 15)      /* error summary */

#define FRAME_MAX 1536

static uint32_t frame[FRAME_MAX / 4];  /* one frame on its way in or out */
static unsigned rx_dropped;
static uint16_t tx_tag;

static int mac_wait(void)
{
    unsigned i;
    for (i = 0; i < 100000u; i++) {
        if ((REG(MAC_CSR_CMD) & CSR_BUSY) == 0) {
            return 0;
        }
    }
    return -1;
}

static uint32_t mac_read(unsigned reg)
{
    (void)mac_wait();
    REG(MAC_CSR_CMD) = CSR_BUSY | CSR_READ | (reg & 0xFFu);
    (void)mac_wait();
    return REG(MAC_CSR_DATA);
}

static void mac_write(unsigned reg, uint32_t v)
{
    (void)mac_wait();
    REG(MAC_CSR_DATA) = v;
    REG(MAC_CSR_CMD) = CSR_BUSY | (reg & 0xFFu);
    (void)mac_wait();
}

static err_t linkoutput(struct netif *netif, struct pbuf *p)
{
    uint16_t len = p->tot_len;
    unsigned words, i, spins;

    (void)netif;
    if (len > FRAME_MAX) {
        return ERR_BUF;
    }
    (void)pbuf_copy_partial(p, frame, len, 0);
    words = (len + 3u) / 4u;
    /* room for the two command words and the data (TDFREE, bytes) */
    for (spins = 0; (REG(TX_FIFO_INF) & 0xFFFFu) < words * 4u + 8u; spins++) {
        if (spins > 1000000u) {
            return ERR_IF;
        }
    }
    tx_tag++;
    REG(TX_DATA_FIFO) = TXA_FIRST | TXA_LAST | len;            /* command A: one buffer */
    REG(TX_DATA_FIFO) = ((uint32_t)tx_tag << 16) | len;        /* command B */
    for (i = 0; i < words; i++) {
        REG(TX_DATA_FIFO) = frame[i];
    }
    return ERR_OK;
}

int lan9118_poll(struct netif *netif)
{
    int moved = 0;

    while ((REG(TX_FIFO_INF) >> 16) & 0xFFu) {
        (void)REG(TX_STATUS_FIFO); /* nothing to learn from it: drained */
    }
    while ((REG(RX_FIFO_INF) >> 16) & 0xFFu) {
        uint32_t status = REG(RX_STATUS_FIFO);
        unsigned len = (status >> 16) & 0x3FFFu; /* with the 4-byte FCS */
        unsigned words = (len + 3u) / 4u, i;
        struct pbuf *p = NULL;

        if (words > FRAME_MAX / 4) {
            for (i = 0; i < words; i++) {
                (void)REG(RX_DATA_FIFO);
            }
            rx_dropped++;
            continue;
        }
        for (i = 0; i < words; i++) {
            frame[i] = REG(RX_DATA_FIFO);
        }
        if ((status & RXS_ES) != 0 || len < 14u + 4u) {
            rx_dropped++;
            continue;
        }
        p = pbuf_alloc(PBUF_RAW, (u16_t)(len - 4u), PBUF_POOL);
        if (p == NULL) {
            rx_dropped++;
            continue;
        }
        (void)pbuf_take(p, frame, (u16_t)(len - 4u));
        if (netif->input(p, netif) != ERR_OK) {
            pbuf_free(p);
            rx_dropped++;
            continue;
        }
        moved++;
    }
    return moved;
}

unsigned lan9118_rx_dropped(void)
{
    return rx_dropped;
}

err_t lan9118_netif_init(struct netif *netif)
{
    uint32_t hi, lo;
    unsigned i;

    if (REG(BYTE_TEST) != 0x87654321u || (REG(ID_REV) >> 16) != 0x0118u) {
        return ERR_IF;
    }
    REG(HW_CFG) = HW_CFG_SRST;
    for (i = 0; (REG(HW_CFG) & HW_CFG_SRST) != 0 || (REG(PMT_CTRL) & PMT_READY) == 0; i++) {
        if (i > 1000000u) {
            return ERR_IF;
        }
    }
    REG(INT_EN) = 0;           /* polled */
    REG(INT_STS) = 0xFFFFFFFFu;
    REG(IRQ_CFG) = 0;
    REG(RX_CFG) = 0;           /* no offset, no end padding */
    REG(TX_CFG) = TX_CFG_TX_ON | TX_CFG_TXSAO;

    /* the address the board was given (QEMU: -nic ...,mac=...) */
    hi = mac_read(MAC_ADDRH);
    lo = mac_read(MAC_ADDRL);
    netif->hwaddr[0] = (u8_t)lo;
    netif->hwaddr[1] = (u8_t)(lo >> 8);
    netif->hwaddr[2] = (u8_t)(lo >> 16);
    netif->hwaddr[3] = (u8_t)(lo >> 24);
    netif->hwaddr[4] = (u8_t)hi;
    netif->hwaddr[5] = (u8_t)(hi >> 8);
    netif->hwaddr_len = ETH_HWADDR_LEN;
    mac_write(MAC_CR, mac_read(MAC_CR) | MAC_CR_TXEN | MAC_CR_RXEN | MAC_CR_FDPX);

    netif->name[0] = 'e';
    netif->name[1] = 'n';
    netif->mtu = 1500;
    netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET |
                   NETIF_FLAG_LINK_UP;
    netif->output = etharp_output;
    netif->linkoutput = linkoutput;
    return ERR_OK;
}
