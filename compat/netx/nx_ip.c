/* NX_IP shim: records what the application asked for; the host's own TCP/IP
 * stack does the work, so the link driver is never called. */
#include "nx_api.h"

#include <arpa/inet.h>
#include <string.h>

#include "nx_postie_internal.h"

UINT nx_ip_create(NX_IP *ip_ptr, CHAR *name, ULONG ip_address, ULONG network_mask,
                  NX_PACKET_POOL *default_pool, VOID (*ip_link_driver)(struct NX_IP_DRIVER_STRUCT *),
                  VOID *memory_ptr, ULONG memory_size, UINT priority)
{
    NX_PARAMETER_NOT_USED(memory_ptr);
    NX_PARAMETER_NOT_USED(memory_size);
    NX_PARAMETER_NOT_USED(priority);
    if (ip_ptr == NULL || default_pool == NULL || ip_link_driver == NULL ||
        ip_ptr->nx_ip_id == NX_IP_ID) {
        return NX_PTR_ERROR;
    }
    memset(ip_ptr, 0, sizeof *ip_ptr);
    ip_ptr->nx_ip_name = name;
    ip_ptr->nx_ip_address = ip_address;
    ip_ptr->nx_ip_network_mask = network_mask;
    ip_ptr->nx_ip_default_packet_pool = default_pool;
    ip_ptr->nx_ip_link_driver_entry = ip_link_driver;
    ip_ptr->nx_ip_id = NX_IP_ID;
    return NX_SUCCESS;
}

UINT nx_ip_delete(NX_IP *ip_ptr)
{
    if (ip_ptr == NULL || ip_ptr->nx_ip_id != NX_IP_ID) {
        return NX_PTR_ERROR;
    }
    ip_ptr->nx_ip_id = 0;
    return NX_SUCCESS;
}

static UINT enable(NX_IP *ip_ptr, UINT *flag)
{
    if (ip_ptr == NULL || ip_ptr->nx_ip_id != NX_IP_ID) {
        return NX_PTR_ERROR;
    }
    if (*flag) {
        return NX_ALREADY_ENABLED;
    }
    *flag = NX_TRUE;
    return NX_SUCCESS;
}

UINT nx_arp_enable(NX_IP *ip_ptr, VOID *arp_cache_memory, ULONG arp_cache_size)
{
    NX_PARAMETER_NOT_USED(arp_cache_size);
    if (arp_cache_memory == NULL || ip_ptr == NULL) {
        return NX_PTR_ERROR;
    }
    return enable(ip_ptr, &ip_ptr->nx_ip_arp_enabled);
}

UINT nx_tcp_enable(NX_IP *ip_ptr)
{
    return ip_ptr == NULL ? NX_PTR_ERROR : enable(ip_ptr, &ip_ptr->nx_ip_tcp_enabled);
}

UINT nx_udp_enable(NX_IP *ip_ptr)
{
    return ip_ptr == NULL ? NX_PTR_ERROR : enable(ip_ptr, &ip_ptr->nx_ip_udp_enabled);
}

UINT nx_icmp_enable(NX_IP *ip_ptr)
{
    return ip_ptr == NULL ? NX_PTR_ERROR : enable(ip_ptr, &ip_ptr->nx_ip_icmp_enabled);
}

VOID _nx_ram_network_driver(struct NX_IP_DRIVER_STRUCT *driver_req_ptr)
{
    if (driver_req_ptr != NULL) {
        driver_req_ptr->nx_ip_driver_status = NX_SUCCESS;
    }
}

int nx_postie_address_string(const NXD_ADDRESS *a, char *out, size_t cap)
{
    unsigned char b[16];
    int i;

    if (a == NULL || out == NULL) {
        return -1;
    }
    if (a->nxd_ip_version == NX_IP_VERSION_V4) {
        ULONG w = a->nxd_ip_address.v4;
        b[0] = (unsigned char)(w >> 24);
        b[1] = (unsigned char)(w >> 16);
        b[2] = (unsigned char)(w >> 8);
        b[3] = (unsigned char)w;
        return inet_ntop(AF_INET, b, out, (socklen_t)cap) != NULL ? 0 : -1;
    }
    if (a->nxd_ip_version == NX_IP_VERSION_V6) {
        for (i = 0; i < 4; i++) {
            ULONG w = a->nxd_ip_address.v6[i];
            b[4 * i] = (unsigned char)(w >> 24);
            b[4 * i + 1] = (unsigned char)(w >> 16);
            b[4 * i + 2] = (unsigned char)(w >> 8);
            b[4 * i + 3] = (unsigned char)w;
        }
        return inet_ntop(AF_INET6, b, out, (socklen_t)cap) != NULL ? 0 : -1;
    }
    return -1;
}
