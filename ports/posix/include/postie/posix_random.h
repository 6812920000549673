/*
 * postie/posix_random.h - random source for POSIX hosts (ports/posix/random.c),
 * to hand to postie_pop3_set_random() / postie_smtp_set_random() (SCRAM nonces).
 */
#ifndef POSTIE_POSIX_RANDOM_H
#define POSTIE_POSIX_RANDOM_H

#include <stddef.h>
#include "postie/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fills buf[0..len) from the kernel's generator (/dev/urandom). ctx is
 * unused (may be NULL). Returns POSTIE_OK; POSTIE_ERR_PARAM (buf NULL with
 * len > 0); POSTIE_ERR_IO (the device cannot be opened or read). */
postie_status postie_posix_random(void *ctx, void *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* POSTIE_POSIX_RANDOM_H */
