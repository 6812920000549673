/* lwIP's compiler/platform glue for arm-none-eabi-gcc and newlib. */
#ifndef LWIP_ARCH_CC_H
#define LWIP_ARCH_CC_H

#include <stdlib.h>

void uart_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void board_exit(int code) __attribute__((noreturn));

#define LWIP_PLATFORM_DIAG(x) do { uart_printf x; } while (0)
#define LWIP_PLATFORM_ASSERT(x) do { \
        uart_printf("FAULT lwIP assertion \"%s\" at %s:%d\r\n", x, __FILE__, __LINE__); \
        board_exit(4); \
    } while (0)

#define LWIP_NO_UNISTD_H 1

#endif
