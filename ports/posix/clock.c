/* ports/posix/clock.c - CLOCK_MONOTONIC in milliseconds (posix_clock.h). */
#include "postie/posix_clock.h"

#include <time.h>

unsigned long postie_posix_clock_ms(void *ctx)
{
    struct timespec ts;

    (void)ctx;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        return 0;
    }
    return (unsigned long)ts.tv_sec * 1000UL + (unsigned long)(ts.tv_nsec / 1000000L);
}
