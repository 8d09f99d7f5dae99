/* Arm semihosting calls: operation number in r0, argument in r1, then BKPT 0xAB (Armv7-M). */
#include "semihosting.h"

#define SYS_WRITE0 0x04
#define SYS_EXIT 0x18
#define ADP_STOPPED_APPLICATION_EXIT 0x20026
#define ADP_STOPPED_RUN_TIME_ERROR 0x20023

static int semihosting_call(int operation, const void *argument) {
    register int r0 __asm__("r0") = operation;
    register const void *r1 __asm__("r1") = argument;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void semihosting_print(const char *text) {
    semihosting_call(SYS_WRITE0, text);
}

void semihosting_print_uint(unsigned long value) {
    char digits[12];
    int i = (int)sizeof digits - 1;
    digits[i] = '\0';
    do {
        digits[--i] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0 && i > 0);
    semihosting_print(&digits[i]);
}

void semihosting_exit(int status) {
    /* 32-bit SYS_EXIT takes the reason itself: "application exit" is success, anything else a failure. */
    semihosting_call(SYS_EXIT, (const void *)(status == 0 ? ADP_STOPPED_APPLICATION_EXIT : ADP_STOPPED_RUN_TIME_ERROR));
    for (;;) {
    }
}
