/* Helpers shared by the postie_netx services (not installed). */
#ifndef POSTIE_NETX_INTERNAL_H
#define POSTIE_NETX_INTERNAL_H

#include <stddef.h>
#include "nx_api.h"

/* Writes the numeric host string of an NXD_ADDRESS (IPv4 or IPv6, host
 * order words) into out. Returns 0, or -1 for an unknown version. */
int nx_postie_address_string(const NXD_ADDRESS *a, char *out, size_t cap);

#endif
