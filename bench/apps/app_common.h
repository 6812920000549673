/*
 * bench/apps/app_common.h - the transport and random source of the small
 * applications bench/size-link.sh links for Cortex-M. They stand for the
 * firmware's own TCP stack (not Postie's code, so not counted in the table).
 */
#ifndef POSTIE_APP_COMMON_H
#define POSTIE_APP_COMMON_H

#include <stddef.h>
#include "postie/transport.h"

long app_send(void *ctx, const void *buf, size_t len, unsigned timeout_ms);
long app_recv(void *ctx, void *buf, size_t len, unsigned timeout_ms);
void app_close(void *ctx);
void app_sink(const void *buf, size_t len);

static const postie_transport app_transport = {NULL, app_send, app_recv, NULL, app_close};

#endif /* POSTIE_APP_COMMON_H */
