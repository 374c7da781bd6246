// Hand-written classifier for the fixture model: reads params from the tensors at run time.
#include <Chirale_TensorFlowLite.h>
#include "model_data.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"

#define NUM_FEATURES 4
constexpr int kTensorArenaSize = 10 * 1024;   /* "arena" */
alignas(16) uint8_t tensor_arena[kTensorArenaSize];

static const float kMean[NUM_FEATURES] = {512.0f, 300.0f, 20.0f, 5.0f};
static const float kStd[NUM_FEATURES] = {100.0f, 50.0f, 4.0f, 2.0f};
const char* kLabels[] = {"idle", "walk", "run"};

const tflite::Model* model = nullptr;
tflite::MicroInterpreter* interpreter = nullptr;
TfLiteTensor* input = nullptr;
TfLiteTensor* output = nullptr;

void setup() {
  Serial.begin(115200);
  model = tflite::GetModel(g_model_data);
  static tflite::MicroMutableOpResolver<2> resolver;
  resolver.AddSoftmax();
  resolver.AddFullyConnected();
  static tflite::MicroInterpreter static_interpreter(model, resolver, tensor_arena, kTensorArenaSize);
  interpreter = &static_interpreter;
  if (interpreter->AllocateTensors() != kTfLiteOk) { Serial.println("AllocateTensors failed"); while (1); }
  input = interpreter->input(0);
  output = interpreter->output(0);
}

void loop() {
  float raw[NUM_FEATURES];
  for (int i = 0; i < NUM_FEATURES; i++) raw[i] = analogRead(A0 + i);
  for (int i = 0; i < NUM_FEATURES; i++) {
    float x = (raw[i] - kMean[i]) / kStd[i];
    int q = (int)roundf(x / input->params.scale) + input->params.zero_point;
    input->data.int8[i] = (int8_t)constrain(q, -128, 127);
  }
  interpreter->Invoke();
  int best = 0;
  for (int i = 1; i < 3; i++) if (output->data.int8[i] > output->data.int8[best]) best = i;
  float conf = (output->data.int8[best] - output->params.zero_point) * output->params.scale;
  Serial.print(kLabels[best]); Serial.print(" "); Serial.println(conf);
  delay(500);
}
