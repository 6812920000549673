/*
 * nx_api.h - host shim of the NetX Duo names and layouts an application of
 * the POP3 and SMTP client services touches (part of postie_netx).
 *
 * It is not a TCP/IP stack: on a POSIX host the services use the host's own
 * sockets. What it gives is what the NetX Duo sample programs need to build
 * and run unchanged: the basic types, NX_PACKET and the packet pool (carved
 * from the caller's memory as on NetX, thread-safe), NX_IP and its create /
 * enable calls (accepted, no effect on the host), NXD_ADDRESS and the status
 * values. See docs/netx-compat.md.
 */
#ifndef POSTIE_NETX_NX_API_H
#define POSTIE_NETX_NX_API_H

#include <pthread.h>
#include "tx_api.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NX_SUCCESS              0x00u
#define NX_NO_PACKET            0x01u
#define NX_UNDERFLOW            0x02u
#define NX_OVERFLOW             0x03u
#define NX_NO_MAPPING           0x04u
#define NX_DELETED              0x05u
#define NX_POOL_ERROR           0x06u
#define NX_PTR_ERROR            0x07u
#define NX_WAIT_ERROR           0x08u
#define NX_SIZE_ERROR           0x09u
#define NX_OPTION_ERROR         0x0Au
#define NX_DELETE_ERROR         0x10u
#define NX_CALLER_ERROR         0x11u
#define NX_INVALID_PACKET       0x12u
#define NX_INVALID_SOCKET       0x13u
#define NX_NOT_ENABLED          0x14u
#define NX_ALREADY_ENABLED      0x15u
#define NX_ENTRY_NOT_FOUND      0x16u
#define NX_NO_MORE_ENTRIES      0x17u
#define NX_WAIT_ABORTED         0x1Au
#define NX_IP_INTERNAL_ERROR    0x20u
#define NX_IP_ADDRESS_ERROR     0x21u
#define NX_ALREADY_BOUND        0x22u
#define NX_PORT_UNAVAILABLE     0x23u
#define NX_NOT_BOUND            0x24u
#define NX_SOCKET_UNBOUND       0x26u
#define NX_NOT_CREATED          0x27u
#define NX_SOCKETS_BOUND        0x28u
#define NX_NO_RESPONSE          0x29u
#define NX_POOL_DELETED         0x30u
#define NX_ALREADY_RELEASED     0x31u
#define NX_MAX_LISTEN           0x33u
#define NX_DUPLICATE_LISTEN     0x34u
#define NX_NOT_CLOSED           0x35u
#define NX_NOT_LISTEN_STATE     0x36u
#define NX_IN_PROGRESS          0x37u
#define NX_NOT_CONNECTED        0x38u
#define NX_WINDOW_OVERFLOW      0x39u
#define NX_ALREADY_SUSPENDED    0x40u
#define NX_DISCONNECT_FAILED    0x41u
#define NX_STILL_BOUND          0x42u
#define NX_NOT_SUCCESSFUL       0x43u
#define NX_UNHANDLED_COMMAND    0x44u
#define NX_NO_FREE_PORTS        0x45u
#define NX_INVALID_PORT         0x46u
#define NX_INVALID_RELISTEN     0x47u
#define NX_CONNECTION_PENDING   0x48u
#define NX_TX_QUEUE_DEPTH       0x49u
#define NX_NOT_IMPLEMENTED      0x4Au
#define NX_NOT_SUPPORTED        0x4Bu
#define NX_INVALID_INTERFACE    0x4Cu
#define NX_INVALID_PARAMETERS   0x4Du
#define NX_NOT_FOUND            0x4Eu
#define NX_CANNOT_START         0x4Fu

#define NX_TRUE   1
#define NX_FALSE  0
#define NX_NULL   0

#define NX_NO_WAIT          TX_NO_WAIT
#define NX_WAIT_FOREVER     TX_WAIT_FOREVER
#define NX_IP_PERIODIC_RATE TX_TIMER_TICKS_PER_SECOND

#define NX_PARAMETER_NOT_USED(p) ((void)(p))

#define NX_IP_VERSION_V4 0x4u
#define NX_IP_VERSION_V6 0x6u

/* An IPv4 address in host byte order, as NetX keeps them. */
#define IP_ADDRESS(a, b, c, d) \
    ((((ULONG)(a) & 0xFFUL) << 24) | (((ULONG)(b) & 0xFFUL) << 16) | \
     (((ULONG)(c) & 0xFFUL) << 8) | ((ULONG)(d) & 0xFFUL))

/* Packet types: how many bytes nx_packet_allocate leaves before
 * nx_packet_prepend_ptr for headers (physical + IP + transport). */
#define NX_PHYSICAL_HEADER   16UL
#define NX_RECEIVE_PACKET    0UL
#define NX_IPv4_PACKET       (NX_PHYSICAL_HEADER + 20UL)
#define NX_IPv6_PACKET       (NX_PHYSICAL_HEADER + 40UL)
#define NX_IP_PACKET         NX_IPv6_PACKET
#define NX_IPv4_TCP_PACKET   (NX_IPv4_PACKET + 20UL)
#define NX_IPv6_TCP_PACKET   (NX_IPv6_PACKET + 20UL)
#define NX_TCP_PACKET        NX_IPv6_TCP_PACKET
#define NX_IPv4_UDP_PACKET   (NX_IPv4_PACKET + 8UL)
#define NX_IPv6_UDP_PACKET   (NX_IPv6_PACKET + 8UL)
#define NX_UDP_PACKET        NX_IPv6_UDP_PACKET

/* An IPv4 or IPv6 address; v6 words in host order, most significant first. */
typedef struct NXD_ADDRESS_STRUCT {
    UINT nxd_ip_version;
    union {
        ULONG v4;
        ULONG v6[4];
    } nxd_ip_address;
} NXD_ADDRESS;

struct NX_PACKET_POOL_STRUCT;

typedef struct NX_PACKET_STRUCT {
    struct NX_PACKET_POOL_STRUCT *nx_packet_pool_owner;
    struct NX_PACKET_STRUCT *nx_packet_queue_next;
    struct NX_PACKET_STRUCT *nx_packet_next;  /* next packet of a chain */
    struct NX_PACKET_STRUCT *nx_packet_last;  /* last packet of a chain */
    UCHAR *nx_packet_data_start;              /* payload area */
    UCHAR *nx_packet_data_end;
    UCHAR *nx_packet_prepend_ptr;             /* first byte of data */
    UCHAR *nx_packet_append_ptr;              /* one past the last byte */
    ULONG nx_packet_length;                   /* bytes of the whole chain */
    ULONG nx_packet_host_allocated;           /* internal: NX_TRUE while out */
} NX_PACKET;

typedef struct NX_PACKET_POOL_STRUCT {
    ULONG nx_packet_pool_id;
    CHAR *nx_packet_pool_name;
    ULONG nx_packet_pool_available;
    ULONG nx_packet_pool_total;
    ULONG nx_packet_pool_empty_requests;
    ULONG nx_packet_pool_empty_suspensions;
    ULONG nx_packet_pool_invalid_releases;
    NX_PACKET *nx_packet_pool_available_list;
    CHAR *nx_packet_pool_start;
    ULONG nx_packet_pool_size;
    ULONG nx_packet_pool_payload_size;
    /* host side (internal) */
    pthread_mutex_t nx_packet_pool_host_mutex;
    pthread_cond_t nx_packet_pool_host_cond;
    ULONG nx_packet_pool_host_waiters;
} NX_PACKET_POOL;

#define NX_PACKET_POOL_ID ((ULONG)0x5041434BUL)

VOID nx_system_initialize(VOID);

/* Carves payload_size-byte packets from memory_ptr[0..memory_size): as many
 * as fit whole (each takes sizeof(NX_PACKET) + payload_size rounded up to a
 * multiple of sizeof(ULONG); the area's start is aligned first).
 * NX_SUCCESS, NX_PTR_ERROR (NULL pool or memory, or pool already created),
 * NX_SIZE_ERROR (not even one packet fits, or payload_size 0). */
UINT nx_packet_pool_create(NX_PACKET_POOL *pool_ptr, CHAR *name, ULONG payload_size,
                           VOID *memory_ptr, ULONG memory_size);
/* NX_SUCCESS, NX_PTR_ERROR. Threads waiting in nx_packet_allocate get
 * NX_POOL_DELETED. */
UINT nx_packet_pool_delete(NX_PACKET_POOL *pool_ptr);
/* Any output pointer may be NULL. NX_SUCCESS, NX_PTR_ERROR. */
UINT nx_packet_pool_info_get(NX_PACKET_POOL *pool_ptr, ULONG *total_packets, ULONG *free_packets,
                             ULONG *empty_pool_requests, ULONG *empty_pool_suspensions,
                             ULONG *invalid_packet_releases);
/* Takes a packet; prepend_ptr = append_ptr = data start + packet_type, length 0.
 * With an empty pool: NX_NO_WAIT returns NX_NO_PACKET at once, NX_WAIT_FOREVER
 * waits, another value waits at most that many ticks then NX_NO_PACKET.
 * NX_SUCCESS, NX_PTR_ERROR, NX_INVALID_PARAMETERS (packet_type larger than
 * the payload), NX_NO_PACKET, NX_POOL_DELETED. */
UINT nx_packet_allocate(NX_PACKET_POOL *pool_ptr, NX_PACKET **packet_ptr, ULONG packet_type,
                        ULONG wait_option);
/* Returns a packet (and the packets chained after it) to its pool.
 * NX_SUCCESS, NX_PTR_ERROR (NULL or not from a pool), NX_INVALID_PACKET
 * (already released). */
UINT nx_packet_release(NX_PACKET *packet_ptr);
/* Copies the data of the packet chain to buffer_start; *bytes_copied gets the
 * count. NX_SUCCESS, NX_PTR_ERROR, NX_INVALID_PACKET (no data: *bytes_copied 0). */
UINT nx_packet_data_retrieve(NX_PACKET *packet_ptr, VOID *buffer_start, ULONG *bytes_copied);
/* Appends size bytes to the packet, chaining packets from pool_ptr when the
 * last one is full. NX_SUCCESS, NX_PTR_ERROR, NX_NO_PACKET. */
UINT nx_packet_data_append(NX_PACKET *packet_ptr, VOID *data_start, ULONG data_size,
                           NX_PACKET_POOL *pool_ptr, ULONG wait_option);

#include "nx_ip.h"

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_NETX_NX_API_H */
