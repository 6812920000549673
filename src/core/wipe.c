/* Clearing secrets that go out of scope (wipe.h). */
#include "wipe.h"

void postie_wipe(void *p, size_t n)
{
    volatile unsigned char *v = (volatile unsigned char *)p;

    while (n-- > 0) {
        *v++ = 0;
    }
}
