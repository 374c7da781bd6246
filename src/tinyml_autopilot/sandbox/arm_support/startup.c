/* Minimal Cortex-M4F start-up for QEMU mps2-an386 with newlib semihosting (rdimon).
 * Vector table, .data copy, .bss clear, FPU enable, then newlib's _start (which calls main
 * and exits through semihosting, so the program's exit code becomes QEMU's). */
#include <stdint.h>

extern uint32_t __stack_top, __etext, __data_start__, __data_end__, __bss_start__, __bss_end__;
extern void _start(void);

void Reset_Handler(void);
void Fault_Handler(void);

__attribute__((section(".isr_vector"), used))
void (*const vector_table[16])(void) = {
    (void (*)(void))(&__stack_top), Reset_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, Fault_Handler, Fault_Handler, 0, 0, 0, 0,
    Fault_Handler, Fault_Handler, 0, Fault_Handler, Fault_Handler};

void Reset_Handler(void) {
  uint32_t *src = &__etext, *dst = &__data_start__;
  while (dst < &__data_end__) *dst++ = *src++;
  for (dst = &__bss_start__; dst < &__bss_end__;) *dst++ = 0;
  *(volatile uint32_t *)0xE000ED88u |= (0xFu << 20); /* CPACR: full access to CP10/CP11 */
  __asm volatile("dsb\n\tisb");
  _start();
  for (;;) {
  }
}

/* Any fault: leave QEMU through semihosting SYS_EXIT with a run-time-error reason (exit 1). */
void Fault_Handler(void) {
  register uint32_t r0 __asm("r0") = 0x18u;
  register uint32_t r1 __asm("r1") = 0x20023u;
  __asm volatile("bkpt 0xab" : : "r"(r0), "r"(r1) : "memory");
  for (;;) {
  }
}
