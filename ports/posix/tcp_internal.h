/*
 * ports/posix/tcp_internal.h - not public API: the address loop of
 * postie_tcp_connect(), exposed so the unit tests can hand it an address list
 * of their own (a refused address before a listening one, a silent one, ...)
 * instead of depending on what the host's resolver returns for a name.
 */
#ifndef POSTIE_PORTS_POSIX_TCP_INTERNAL_H
#define POSTIE_PORTS_POSIX_TCP_INTERNAL_H

#include "postie/posix_tcp.h"

#ifdef __cplusplus
extern "C" {
#endif

struct addrinfo;

/* Tries each address of list in order (ai_next), each connect bounded by
 * timeout_ms; list stays owned by the caller. On success t->fd is the
 * connected socket (non-blocking, close-on-exec) and t->last_errno is 0.
 * Returns POSTIE_OK, POSTIE_ERR_PARAM (t or list NULL),
 * POSTIE_ERR_RESOLVE (no entry of list has an address),
 * POSTIE_ERR_TIMEOUT (every address timed out; last_errno ETIMEDOUT) or
 * POSTIE_ERR_CONNECT (any other failure; last_errno is the errno of the last
 * address that failed other than by timing out). */
postie_status postie_tcp_connect_addrs(postie_tcp *t, const struct addrinfo *list,
                                       unsigned timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
