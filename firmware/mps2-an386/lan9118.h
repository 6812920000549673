/* LAN9118 Ethernet controller (SMSC/Microchip) as an lwIP netif, polled. */
#ifndef LAN9118_H
#define LAN9118_H

#include "lwip/err.h"
#include "lwip/netif.h"

/* netif_add()'s init function: resets the chip, reads its MAC address,
 * enables the transmitter and receiver. ERR_IF when the chip does not
 * answer (wrong ID or byte-order test, or it never leaves reset). */
err_t lan9118_netif_init(struct netif *netif);

/* Moves every received frame into lwIP (netif->input) and drains the
 * transmit status FIFO. Call from the main loop. Returns the frames moved. */
int lan9118_poll(struct netif *netif);

/* Frames dropped because no pbuf was free, or the chip flagged an error. */
unsigned lan9118_rx_dropped(void);

#endif
