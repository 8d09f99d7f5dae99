/* Arm semihosting: the firmware talks to the debugger or emulator (QEMU with -semihosting-config). */
#ifndef SEMIHOSTING_H
#define SEMIHOSTING_H

/* Print a NUL-terminated string on the host's console. */
void semihosting_print(const char *text);

/* Print an unsigned number in decimal. */
void semihosting_print_uint(unsigned long value);

/* End the emulation: QEMU exits with status 0 when `status` is 0, and 1 otherwise. */
void semihosting_exit(int status) __attribute__((noreturn));

#endif /* SEMIHOSTING_H */
