/* Start-up code for a Cortex-M4F: the vector table, and a reset handler that copies .data from flash, zeroes
 * .bss, turns the FPU on (the library is built for the hard-float ABI), runs main and reports its status
 * through semihosting. Faults print a line and fail. */
#include <stdint.h>

#include "semihosting.h"

extern uint32_t _stack_top;
extern uint32_t _data_start, _data_end, _data_load, _bss_start, _bss_end;

int main(void);
void reset_handler(void) __attribute__((noreturn));
static void fault_handler(void) __attribute__((noreturn));

/* Coprocessor Access Control Register: full access to CP10 and CP11 (the FPU). */
#define CPACR (*(volatile uint32_t *)0xE000ED88u)

void reset_handler(void) {
    uint32_t *src = &_data_load;
    uint32_t *dst;
    for (dst = &_data_start; dst < &_data_end;) {
        *dst++ = *src++;
    }
    for (dst = &_bss_start; dst < &_bss_end;) {
        *dst++ = 0;
    }
    CPACR |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    semihosting_exit(main());
}

static void fault_handler(void) {
    semihosting_print("fault: the firmware stopped in an exception handler\n");
    semihosting_exit(1);
}

/* Initial stack pointer, then the 15 system exceptions (reset, NMI, HardFault, MemManage, BusFault,
 * UsageFault, 4 reserved, SVCall, DebugMonitor, reserved, PendSV, SysTick). No interrupts are used. */
__attribute__((section(".vectors"), used)) static const void *const vector_table[16] = {
    &_stack_top,
    (const void *)reset_handler,
    (const void *)fault_handler, /* NMI */
    (const void *)fault_handler, /* HardFault */
    (const void *)fault_handler, /* MemManage */
    (const void *)fault_handler, /* BusFault */
    (const void *)fault_handler, /* UsageFault */
    0,
    0,
    0,
    0,
    (const void *)fault_handler, /* SVCall */
    (const void *)fault_handler, /* DebugMonitor */
    0,
    (const void *)fault_handler, /* PendSV */
    (const void *)fault_handler, /* SysTick */
};
