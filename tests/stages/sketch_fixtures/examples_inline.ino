/* Activity classifier in the style of tflite-micro-arduino-examples: its own model header,
   quantization constants copied from the converter, scaling written inline. */
#include <TensorFlowLite.h>

#include "activity_model_data.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_log.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/micro/system_setup.h"
#include "tensorflow/lite/schema/schema_generated.h"

namespace {
const tflite::Model* model = nullptr;
tflite::MicroInterpreter* interpreter = nullptr;
TfLiteTensor* input = nullptr;
TfLiteTensor* output = nullptr;

constexpr int kCategoryCount = 3;
const char* kCategoryLabels[kCategoryCount] = {
    "idle",
    "walk",
    "run",
};

// Quantization parameters printed by the converter notebook.
constexpr float kInputScale = {{IN_SCALE}}f;
constexpr int kInputZeroPoint = {{IN_ZP}};
constexpr float kOutputScale = 1.0f / 256;
constexpr int kOutputZeroPoint = -128;

constexpr int kTensorArenaSize = 4 * 1024;
// Keep aligned to 16 bytes for CMSIS
alignas(16) uint8_t tensor_arena[kTensorArenaSize];
}  // namespace

void setup() {
  tflite::InitializeTarget();
  model = tflite::GetModel(g_activity_model);
  if (model->version() != TFLITE_SCHEMA_VERSION) {
    MicroPrintf("Model schema %d not equal to supported version %d.", model->version(), TFLITE_SCHEMA_VERSION);
    return;
  }
  // NOLINTNEXTLINE(runtime-global-variables)
  static tflite::MicroMutableOpResolver<2> micro_op_resolver;
  micro_op_resolver.AddFullyConnected(tflite::Register_FULLY_CONNECTED_INT8());
  micro_op_resolver.AddSoftmax();
  static tflite::MicroInterpreter static_interpreter(
      model, micro_op_resolver, tensor_arena, kTensorArenaSize);
  interpreter = &static_interpreter;
  if (interpreter->AllocateTensors() != kTfLiteOk) {
    MicroPrintf("AllocateTensors() failed");
    return;
  }
  input = interpreter->input(0);
  output = interpreter->output(0);
}

static int8_t Quantize(float v) {
  int32_t q = static_cast<int32_t>(roundf(v / kInputScale)) + kInputZeroPoint;
  return static_cast<int8_t>(q < -128 ? -128 : (q > 127 ? 127 : q));
}

void loop() {
  int a0 = analogRead(A0), a1 = analogRead(A1), a2 = analogRead(A2), a3 = analogRead(A3);
  // standardise as in training
  input->data.int8[0] = Quantize((a0 - 512.0f) / 100.0f);
  input->data.int8[1] = Quantize((a1 - 300.0f) / 50.0f);
  input->data.int8[2] = Quantize((a2 - 20.0f) * 0.25f);
  input->data.int8[3] = Quantize((a3 - 5.0f) / 2.0f);
  if (kTfLiteOk != interpreter->Invoke()) {
    MicroPrintf("Invoke failed.");
    return;
  }
  int best = 0;
  float best_score = -1.0f;
  for (int i = 0; i < kCategoryCount; ++i) {
    float score = (output->data.int8[i] - kOutputZeroPoint) * kOutputScale;
    if (score > best_score) {
      best_score = score;
      best = i;
    }
  }
  MicroPrintf("%s %d%%", kCategoryLabels[best], static_cast<int>(best_score * 100));
  delay(200);
}
