/*
 * base64_trusted.h - base64 decoding for callers inside the core that pass
 * arguments known to be valid (internal: postie_base64_decode() in
 * base64.h checks its arguments, then runs this).
 */
#ifndef POSTIE_CORE_BASE64_TRUSTED_H
#define POSTIE_CORE_BASE64_TRUSTED_H

#include <stddef.h>
#include "postie/status.h"

/* postie_base64_decode() without its POSTIE_ERR_PARAM checks: in[0..n)
 * readable, out non-NULL (or cap 0). The same other statuses and bytes. */
postie_status postie_base64_decode_trusted(const char *in, size_t n, void *out, size_t cap,
                                           size_t *outlen);

#endif
