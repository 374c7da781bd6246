// Harvard_TinyMLx style (TFLM 2.4, ErrorReporter API).
#include <TensorFlowLite.h>
#include "tensorflow/lite/micro/micro_error_reporter.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"
#include "tensorflow/lite/version.h"
#include "model_data.h"

namespace {
tflite::ErrorReporter* error_reporter = nullptr;
const tflite::Model* model = nullptr;
tflite::MicroInterpreter* interpreter = nullptr;
constexpr int kTensorArenaSize = 4 * 1024;
uint8_t tensor_arena[kTensorArenaSize];
constexpr int label_count = 3;
const char* labels[label_count] = {"idle", "walk", "run"};
const float feature_mean[4] = {512, 300, 20, 5};
const float feature_std[4] = {100, 50, 4, 2};
}  // namespace

void setup() {
  Serial.begin(9600);
  static tflite::MicroErrorReporter micro_error_reporter;
  error_reporter = &micro_error_reporter;
  model = tflite::GetModel(g_model_data);
  if (model->version() != TFLITE_SCHEMA_VERSION) {
    TF_LITE_REPORT_ERROR(error_reporter, "schema mismatch");
    return;
  }
  static tflite::MicroMutableOpResolver<2> micro_op_resolver;
  micro_op_resolver.AddFullyConnected();
  micro_op_resolver.AddSoftmax();
  static tflite::MicroInterpreter static_interpreter(
      model, micro_op_resolver, tensor_arena, kTensorArenaSize, error_reporter);
  interpreter = &static_interpreter;
  interpreter->AllocateTensors();
}

void loop() {
  TfLiteTensor* model_input = interpreter->input(0);
  for (int i = 0; i < 4; ++i) {
    float x = (analogRead(A0 + i) - feature_mean[i]) / feature_std[i];
    model_input->data.int8[i] = (int8_t)(x / model_input->params.scale + model_input->params.zero_point);
  }
  interpreter->Invoke();
  TfLiteTensor* output = interpreter->output(0);
  int max_index = 0;
  for (int i = 1; i < label_count; ++i) {
    if (output->data.int8[i] > output->data.int8[max_index]) max_index = i;
  }
  TF_LITE_REPORT_ERROR(error_reporter, "Found %s", labels[max_index]);
}
