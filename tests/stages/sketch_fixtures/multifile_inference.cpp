// Second tab of an ESP32 sketch: the model pasted as C next to the code that runs it.
#include <Chirale_TensorFlowLite.h>
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"
#include "inference.h"

{{MODEL_ARRAY}}
namespace {
constexpr size_t kArenaSize = 16384;
alignas(16) uint8_t arena[kArenaSize];
const float kMu[] = {512.0f, 300.0f, 20.0f, 5.0f};
const float kSigma[] = {100.0f, 50.0f, 4.0f, 2.0f};
const char *kActivities[] = {"idle", "walk", "run"};
constexpr float kInQuantScale = {{IN_SCALE}}f;
constexpr int kInQuantZp = {{IN_ZP}};
tflite::MicroInterpreter *interp = nullptr;
}  // namespace

bool inference_setup() {
  static tflite::MicroMutableOpResolver<3> ops;  // one spare slot
  ops.AddFullyConnected();
  ops.AddSoftmax();
  static tflite::MicroInterpreter i(tflite::GetModel(activity_model), ops, arena, kArenaSize);
  interp = &i;
  return interp->AllocateTensors() == kTfLiteOk;
}

const char *classify(const float *x) {
  TfLiteTensor *t = interp->input(0);
  for (int k = 0; k < 4; k++) {
    float z = (x[k] - kMu[k]) / kSigma[k];
    long q = lroundf(z / kInQuantScale) + kInQuantZp;
    t->data.int8[k] = (int8_t)(q < -128 ? -128 : q > 127 ? 127 : q);
  }
  if (interp->Invoke() != kTfLiteOk) return "error";
  int8_t *o = interp->output(0)->data.int8;
  int best = 0;
  for (int k = 1; k < 3; k++) if (o[k] > o[best]) best = k;
  return kActivities[best];
}
