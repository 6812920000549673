/*
 * decimal.c - unsigned numbers as decimal text (decimal.h).
 *
 * The 64-bit value is divided by 10 as two 32-bit halves in 16-bit pieces:
 * a Cortex-M divides 32 bits in hardware, and a 64-bit division would link
 * the C library's (about 800 bytes on a Cortex-M4).
 */
#include "decimal.h"

size_t postie_decimal(char buf[POSTIE_DECIMAL_MAX], unsigned long long v)
{
    size_t pos = POSTIE_DECIMAL_MAX;
    unsigned long hi = (unsigned long)(v >> 32), lo = (unsigned long)(v & 0xFFFFFFFFu), r, m;

    do {
        r = hi % 10;
        hi /= 10;
        m = (r << 16) | (lo >> 16);
        r = m % 10;
        m /= 10;
        r = (r << 16) | (lo & 0xFFFFu);
        lo = (m << 16) | (r / 10);
        buf[--pos] = (char)('0' + (int)(r % 10));
    } while ((hi != 0 || lo != 0) && pos > 0);
    return POSTIE_DECIMAL_MAX - pos;
}
