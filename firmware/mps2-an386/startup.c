/*
 * Reset and exception entry for the mps2-an386 firmware: the vector table,
 * .data/.bss set-up, the stack painted with a pattern (for the high-water
 * mark), and faults reported on the UART and to the host as exit code 3.
 */
#include <stdint.h>
#include "board.h"

extern uint32_t __etext, __data_start, __data_end, __bss_start, __bss_end;
extern uint32_t __stack_bottom, __stack_top;
int main(void);

void Reset_Handler(void);
void Default_Handler(void);
void HardFault_Handler(void);
void SysTick_Handler(void);

#define STACK_PAINT 0xC5C5C5C5u

__attribute__((naked)) void Reset_Handler(void)
{
    /* The stack is painted before anything runs on it: the painting loop
     * itself uses registers only. */
    __asm volatile(
        "ldr r0, =__stack_bottom\n"
        "ldr r1, =__stack_top\n"
        "ldr r2, =0xC5C5C5C5\n"
        "1: cmp r0, r1\n"
        "bhs 2f\n"
        "str r2, [r0], #4\n"
        "b 1b\n"
        "2: ldr r0, =__stack_top\n"
        "msr msp, r0\n"
        "b board_reset_c\n");
}

void board_reset_c(void);
void board_reset_c(void)
{
    uint32_t *src = &__etext, *dst;

    for (dst = &__data_start; dst < &__data_end;) {
        *dst++ = *src++;
    }
    for (dst = &__bss_start; dst < &__bss_end;) {
        *dst++ = 0;
    }
    board_exit(main());
}

size_t board_stack_used(void)
{
    const uint32_t *p = &__stack_bottom;
    while (p < &__stack_top && *p == STACK_PAINT) {
        p++;
    }
    return (size_t)((const char *)&__stack_top - (const char *)p);
}

size_t board_stack_size(void)
{
    return (size_t)((const char *)&__stack_top - (const char *)&__stack_bottom);
}

void HardFault_Handler(void)
{
    uart_puts("FAULT hard fault: the firmware stops\r\n");
    board_exit(3);
}

void Default_Handler(void)
{
    uart_puts("FAULT unexpected exception: the firmware stops\r\n");
    board_exit(3);
}

__attribute__((section(".vectors"), used)) static void (*const vectors[16 + 32])(void) = {
    (void (*)(void))(uintptr_t)&__stack_top,
    Reset_Handler,
    Default_Handler,   /* NMI */
    HardFault_Handler,
    HardFault_Handler, /* MemManage */
    HardFault_Handler, /* BusFault */
    HardFault_Handler, /* UsageFault */
    0, 0, 0, 0,
    Default_Handler,   /* SVCall */
    Default_Handler,   /* DebugMon */
    0,
    Default_Handler,   /* PendSV */
    SysTick_Handler,
    /* external interrupts 0..31: none enabled (the network is polled) */
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
};
