/*
 * nx_ip.h - NX_IP of the postie_netx host shim. Included by nx_api.h.
 *
 * nx_ip_create accepts the same arguments as on NetX Duo; the link driver is
 * recorded but never called: on a host, the services use the host's own
 * TCP/IP stack through sockets. The enable calls only record the request.
 */
#ifndef POSTIE_NETX_NX_IP_H
#define POSTIE_NETX_NX_IP_H

#include "nx_api.h"

#ifdef __cplusplus
extern "C" {
#endif

struct NX_IP_STRUCT;

typedef struct NX_IP_DRIVER_STRUCT {
    UINT nx_ip_driver_command;
    UINT nx_ip_driver_status;
    ULONG nx_ip_driver_physical_address_msw;
    ULONG nx_ip_driver_physical_address_lsw;
    NX_PACKET *nx_ip_driver_packet;
    ULONG *nx_ip_driver_return_ptr;
    struct NX_IP_STRUCT *nx_ip_driver_ptr;
    VOID *nx_ip_driver_interface;
} NX_IP_DRIVER;

typedef struct NX_IP_STRUCT {
    ULONG nx_ip_id;
    CHAR *nx_ip_name;
    ULONG nx_ip_address;           /* as given (host order) */
    ULONG nx_ip_network_mask;
    NX_PACKET_POOL *nx_ip_default_packet_pool;
    VOID (*nx_ip_link_driver_entry)(struct NX_IP_DRIVER_STRUCT *);
    UINT nx_ip_arp_enabled, nx_ip_tcp_enabled, nx_ip_icmp_enabled, nx_ip_udp_enabled;
} NX_IP;

#define NX_IP_ID ((ULONG)0x49502020UL)

/* NX_SUCCESS, NX_PTR_ERROR (NULL ip, pool or driver, or ip already created). */
UINT nx_ip_create(NX_IP *ip_ptr, CHAR *name, ULONG ip_address, ULONG network_mask,
                  NX_PACKET_POOL *default_pool, VOID (*ip_link_driver)(struct NX_IP_DRIVER_STRUCT *),
                  VOID *memory_ptr, ULONG memory_size, UINT priority);
/* NX_SUCCESS, NX_PTR_ERROR. */
UINT nx_ip_delete(NX_IP *ip_ptr);
/* NX_SUCCESS, NX_PTR_ERROR, NX_ALREADY_ENABLED. */
UINT nx_arp_enable(NX_IP *ip_ptr, VOID *arp_cache_memory, ULONG arp_cache_size);
UINT nx_tcp_enable(NX_IP *ip_ptr);
UINT nx_udp_enable(NX_IP *ip_ptr);
UINT nx_icmp_enable(NX_IP *ip_ptr);

/* The RAM driver the samples name: on the host it answers every request with
 * NX_SUCCESS and does nothing. */
VOID _nx_ram_network_driver(struct NX_IP_DRIVER_STRUCT *driver_req_ptr);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_NETX_NX_IP_H */
