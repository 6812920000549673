/*
 * decimal.h - unsigned numbers as decimal text, without a 64-bit division
 * (internal to the core: the connection engine's command arguments and the
 * composer's Date and Message-ID use it).
 */
#ifndef POSTIE_CORE_DECIMAL_H
#define POSTIE_CORE_DECIMAL_H

#include <stddef.h>

/* Room for the longest number: 2^64 - 1 has 20 digits. */
#define POSTIE_DECIMAL_MAX 24

/* Writes v's digits at the end of buf[0..POSTIE_DECIMAL_MAX) and returns
 * how many: the text starts at buf + POSTIE_DECIMAL_MAX - n. */
size_t postie_decimal(char buf[POSTIE_DECIMAL_MAX], unsigned long long v);

#endif
