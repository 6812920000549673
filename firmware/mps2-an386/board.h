/* Board support of the mps2-an386 firmware: CMSDK UART0, SysTick
 * milliseconds, Arm semihosting (exit code, host time, host files). */
#ifndef BOARD_H
#define BOARD_H

#include <stddef.h>
#include <stdint.h>

void uart_init(void);
void uart_putc(char c);
void uart_puts(const char *s);
/* printf-like, to the UART (newlib's vsnprintf into a 256-byte buffer) */
void uart_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void board_clock_init(void);
uint32_t board_ms(void);               /* milliseconds since boot (SysTick) */

/* semihosting */
int64_t semi_time(void);               /* host wall clock: seconds since 1970 */
int semi_cmdline(char *buf, size_t cap);  /* 0 and buf filled, or -1 */
int semi_open(const char *name, int mode); /* mode 4: "wb"; returns handle or -1 */
int semi_write(int fh, const void *buf, size_t len);  /* 0 when all written */
void semi_close(int fh);
void board_exit(int code) __attribute__((noreturn));

size_t board_stack_used(void);         /* painted-stack high-water mark */
size_t board_stack_size(void);

#endif
