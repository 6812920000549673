/*
 * Board support: CMSDK APB UART0 (0x40004000), SysTick at the 25 MHz system
 * clock of the mps2 FPGA images, Arm semihosting calls (BKPT 0xAB).
 */
#include "board.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- CMSDK UART0 ---------------------------------------------------------- */
#define UART0_BASE 0x40004000u
#define UART_DATA  (*(volatile uint32_t *)(UART0_BASE + 0x00))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x04)) /* bit 0: TX full */
#define UART_CTRL  (*(volatile uint32_t *)(UART0_BASE + 0x08)) /* bit 0: TX enable */
#define UART_BAUD  (*(volatile uint32_t *)(UART0_BASE + 0x10))

void uart_init(void)
{
    UART_BAUD = 25000000u / 115200u;
    UART_CTRL = 1u;
}

void uart_putc(char c)
{
    while (UART_STATE & 1u) {
    }
    UART_DATA = (uint32_t)(unsigned char)c;
}

void uart_puts(const char *s)
{
    while (*s != '\0') {
        uart_putc(*s++);
    }
}

void uart_printf(const char *fmt, ...)
{
    char buf[256];
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    uart_puts(buf);
}

/* ---- SysTick: 1 ms ---------------------------------------------------------- */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYSCLK_HZ 25000000u

static volatile uint32_t ms_ticks;

void SysTick_Handler(void);
void SysTick_Handler(void)
{
    ms_ticks++;
}

void board_clock_init(void)
{
    SYST_RVR = SYSCLK_HZ / 1000u - 1u;
    SYST_CVR = 0;
    SYST_CSR = 7u; /* processor clock, interrupt, enable */
}

uint32_t board_ms(void)
{
    return ms_ticks;
}

/* ---- semihosting ------------------------------------------------------------ */
static int semihost(int op, void *arg)
{
    register int r0 __asm("r0") = op;
    register void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

#define SYS_OPEN  0x01
#define SYS_CLOSE 0x02
#define SYS_WRITE 0x05
#define SYS_TIME  0x11
#define SYS_GET_CMDLINE 0x15
#define SYS_EXIT_EXTENDED 0x20
#define ADP_Stopped_ApplicationExit 0x20026

int64_t semi_time(void)
{
    return (int64_t)(uint32_t)semihost(SYS_TIME, NULL);
}

int semi_cmdline(char *buf, size_t cap)
{
    uint32_t block[2];
    block[0] = (uint32_t)(uintptr_t)buf;
    block[1] = (uint32_t)cap;
    if (semihost(SYS_GET_CMDLINE, block) != 0) {
        return -1;
    }
    buf[block[1] < cap ? block[1] : cap - 1] = '\0';
    return 0;
}

int semi_open(const char *name, int mode)
{
    uint32_t block[3];
    block[0] = (uint32_t)(uintptr_t)name;
    block[1] = (uint32_t)mode;
    block[2] = (uint32_t)strlen(name);
    return semihost(SYS_OPEN, block);
}

int semi_write(int fh, const void *buf, size_t len)
{
    uint32_t block[3];
    block[0] = (uint32_t)fh;
    block[1] = (uint32_t)(uintptr_t)buf;
    block[2] = (uint32_t)len;
    return semihost(SYS_WRITE, block); /* bytes NOT written */
}

void semi_close(int fh)
{
    uint32_t block[1];
    block[0] = (uint32_t)fh;
    (void)semihost(SYS_CLOSE, block);
}

void board_exit(int code)
{
    uint32_t block[2];
    block[0] = ADP_Stopped_ApplicationExit;
    block[1] = (uint32_t)code;
    for (;;) {
        (void)semihost(SYS_EXIT_EXTENDED, block);
    }
}
