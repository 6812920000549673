/* Helpers over the transport contract. */
#include "postie/transport.h"

postie_status postie_transport_send_all(const postie_transport *t, const void *buf,
                                        size_t len, unsigned timeout_ms)
{
    const char *p = (const char *)buf;

    if (t == NULL || t->send == NULL || (buf == NULL && len > 0)) {
        return POSTIE_ERR_PARAM;
    }
    while (len > 0) {
        long r = t->send(t->ctx, p, len, timeout_ms);
        if (r < 0) {
            return (postie_status)r;
        }
        if (r == 0 || (size_t)r > len) {
            return POSTIE_ERR_IO;
        }
        p += r;
        len -= (size_t)r;
    }
    return POSTIE_OK;
}
