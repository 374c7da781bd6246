/* Minimal Cortex-M4F start-up for QEMU mps2-an386 with newlib semihosting (rdimon).
 * Vector table, .data copy, .bss clear, FPU enable, then newlib's _start (which calls main
 * and exits through semihosting, so the program's exit code becomes QEMU's); a fault prints its name
 * and cause on the semihosting console and exits with code 1. */
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

/* Any fault: say which on the semihosting console, then leave QEMU through SYS_EXIT with a
 * run-time-error reason (exit 1), so a fault is a named verdict instead of a hang. One line:
 *   CRASH HardFault (UsageFault: unaligned access) pc=0x... cfsr=0x... hfsr=0x... [addr=0x...]
 * No library call here: the fault may have come from inside newlib or with a broken heap. */
static void semihost(uint32_t op, const void *arg) {
  register uint32_t r0 __asm("r0") = op;
  register const void *r1 __asm("r1") = arg;
  __asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
}

static char *put(char *p, const char *s) {
  while (*s) *p++ = *s++;
  return p;
}

static char *put_hex(char *p, const char *name, uint32_t v) {
  p = put(p, name);
  p = put(p, "=0x");
  for (int i = 28; i >= 0; i -= 4) *p++ = "0123456789abcdef"[(v >> i) & 0xFu];
  return p;
}

static const char *fault_cause(uint32_t cfsr) {
  static const struct { uint32_t bit; const char *what; } causes[] = {
      {1u << 24, "UsageFault: unaligned access"}, {1u << 25, "UsageFault: divide by zero"},
      {1u << 16, "UsageFault: undefined instruction"}, {1u << 17, "UsageFault: invalid state"},
      {1u << 18, "UsageFault: invalid return address"}, {1u << 19, "UsageFault: no coprocessor"},
      {1u << 1, "MemManage: data access violation"}, {1u << 0, "MemManage: instruction access violation"},
      {1u << 12, "BusFault: stack overflow on exception entry"}, {1u << 9, "BusFault: invalid data address"},
      {1u << 10, "BusFault: invalid data address (imprecise)"}, {1u << 8, "BusFault: invalid instruction address"}};
  for (unsigned i = 0; i < sizeof causes / sizeof causes[0]; i++)
    if (cfsr & causes[i].bit) return causes[i].what;
  return "no fault status";
}

__attribute__((used)) void fault_report(const uint32_t *frame) {
  static const char *names[] = {"Fault", "Fault", "NMI", "HardFault", "MemManage", "BusFault", "UsageFault"};
  uint32_t active = *(volatile uint32_t *)0xE000ED04u & 0x1FFu; /* ICSR.VECTACTIVE */
  uint32_t cfsr = *(volatile uint32_t *)0xE000ED28u, hfsr = *(volatile uint32_t *)0xE000ED2Cu;
  static char line[160];
  char *p = put(line, "\nCRASH ");
  p = put(p, active < 7 ? names[active] : "Fault");
  p = put(p, " (");
  p = put(p, fault_cause(cfsr));
  p = put_hex(put(p, ") "), "pc", frame[6]);
  p = put_hex(put(p, " "), "cfsr", cfsr);
  p = put_hex(put(p, " "), "hfsr", hfsr);
  if (cfsr & (1u << 15)) p = put_hex(put(p, " "), "addr", *(volatile uint32_t *)0xE000ED38u); /* BFAR */
  else if (cfsr & (1u << 7)) p = put_hex(put(p, " "), "addr", *(volatile uint32_t *)0xE000ED34u); /* MMFAR */
  p = put(p, "\n");
  *p = 0;
  semihost(0x04u, line);                  /* SYS_WRITE0 */
  semihost(0x18u, (const void *)0x20023u); /* SYS_EXIT, ADP_Stopped_RunTimeErrorUnknown */
  for (;;) {
  }
}

/* The exception frame (r0-r3, r12, lr, pc, xpsr) is on the stack that was in use: MSP or PSP. */
__attribute__((naked)) void Fault_Handler(void) {
  __asm volatile("tst lr, #4\n\tite eq\n\tmrseq r0, msp\n\tmrsne r0, psp\n\tb fault_report");
}
