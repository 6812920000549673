/* bench/apps/app_stub.c - the stack the applications would run on: stubs
 * the size table does not count (only Postie's objects are summed). */
#include "app_common.h"

static volatile long sink_v;

long app_send(void *ctx, const void *buf, size_t len, unsigned timeout_ms)
{
    (void)ctx; (void)timeout_ms;
    sink_v += (long)len + ((const char *)buf)[0];
    return (long)len;
}

long app_recv(void *ctx, void *buf, size_t len, unsigned timeout_ms)
{
    (void)ctx; (void)timeout_ms;
    ((char *)buf)[0] = (char)sink_v;
    return (long)(len > 0 ? 1 : 0);
}

void app_close(void *ctx)
{
    (void)ctx;
}

void app_sink(const void *buf, size_t len)
{
    sink_v += (long)len + (buf != NULL);
}
