// Linked with -Wl,--wrap on MicroInterpreter::AllocateTensors: reports the arena the sketch's interpreter
// actually uses (arena_used_bytes()) and whether allocation failed, whatever the sketch prints.
#include <stdio.h>
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tinyml_host.h"

extern "C" TfLiteStatus __real__ZN6tflite16MicroInterpreter15AllocateTensorsEv(tflite::MicroInterpreter *self);
extern "C" TfLiteStatus __wrap__ZN6tflite16MicroInterpreter15AllocateTensorsEv(tflite::MicroInterpreter *self) {
  TfLiteStatus status = __real__ZN6tflite16MicroInterpreter15AllocateTensorsEv(self);
  char line[64];
  if (status == kTfLiteOk) {
    snprintf(line, sizeof line, "ARENA_USED %u", (unsigned)self->arena_used_bytes());
    tinyml_event(line);
  } else {
    tinyml_event("ALLOCATE_FAILED");
  }
  return status;
}
