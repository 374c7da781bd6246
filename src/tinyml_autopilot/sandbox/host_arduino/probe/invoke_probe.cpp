// Cortex-M4 under QEMU with -icount shift=0 (one instruction per virtual nanosecond): linked with
// -Wl,--wrap on MicroInterpreter::Invoke, it reads SysTick (clocked at the board's 25 MHz, so one tick is
// 40 instructions) around each call and reports the instructions the inference took.
#ifdef TINYML_SEMIHOSTING
#include <stdint.h>
#include <stdio.h>
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tinyml_host.h"

namespace {
volatile uint32_t &syst_csr = *reinterpret_cast<volatile uint32_t *>(0xE000E010u);
volatile uint32_t &syst_rvr = *reinterpret_cast<volatile uint32_t *>(0xE000E014u);
volatile uint32_t &syst_cvr = *reinterpret_cast<volatile uint32_t *>(0xE000E018u);
const uint32_t kInstructionsPerTick = 40;  // 1 GHz of virtual time / 25 MHz
}  // namespace

extern "C" TfLiteStatus __real__ZN6tflite16MicroInterpreter6InvokeEv(tflite::MicroInterpreter *self);
extern "C" TfLiteStatus __wrap__ZN6tflite16MicroInterpreter6InvokeEv(tflite::MicroInterpreter *self) {
  if ((syst_csr & 1u) == 0) {  // free-running down-counter on the CPU clock, no interrupt
    syst_rvr = 0xFFFFFFu;
    syst_cvr = 0;
    syst_csr = 5u;
  }
  uint32_t before = syst_cvr;
  TfLiteStatus status = __real__ZN6tflite16MicroInterpreter6InvokeEv(self);
  uint32_t ticks = (before - syst_cvr) & 0xFFFFFFu;
  char line[64];
  snprintf(line, sizeof line, "INVOKE_INSTRUCTIONS %lu", (unsigned long)(ticks * kInstructionsPerTick));
  tinyml_event(line);
  return status;
}
#endif
