// Activity classifier on a Nano 33 BLE, after Chirale_TensorFlowLite's hello_world:
// the model comes from `xxd -i model.tflite > model.h` (array defined in the header).
#include <Chirale_TensorFlowLite.h>

#include "model.h"

#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/schema/schema_generated.h"

#define N_FEATURES 4
#define N_CLASSES 3

const tflite::Model* model = nullptr;
tflite::MicroInterpreter* interpreter = nullptr;
TfLiteTensor* input = nullptr;
TfLiteTensor* output = nullptr;

// found by trial and error, then doubled
constexpr int kTensorArenaSize = 8 * 1024;
alignas(16) uint8_t tensor_arena[kTensorArenaSize];

// StandardScaler from the notebook
const float MEAN[N_FEATURES] = {512.0, 300.0, 20.0, 5.0};
const float STD[N_FEATURES]  = {100.0, 50.0, 4.0, 2.0};

const char* LABELS[] = {"idle", "walk", "run"};

void setup() {
  Serial.begin(9600);
  while (!Serial);
  model = tflite::GetModel(model_tflite);
  if (model->version() != TFLITE_SCHEMA_VERSION) {
    Serial.println("Model schema version mismatch!");
    while (true);
  }
  static tflite::MicroMutableOpResolver<2> resolver;
  resolver.AddSoftmax();
  resolver.AddFullyConnected();
  static tflite::MicroInterpreter static_interpreter(
      model, resolver, tensor_arena, kTensorArenaSize);
  interpreter = &static_interpreter;
  if (interpreter->AllocateTensors() != kTfLiteOk) {
    Serial.println("AllocateTensors() failed");
    while (true);
  }
  input = interpreter->input(0);
  output = interpreter->output(0);
}

void loop() {
  if (Serial.available() <= 0) return;
  float x[N_FEATURES];
  for (int i = 0; i < N_FEATURES; i++) x[i] = Serial.parseFloat();
  for (int i = 0; i < N_FEATURES; i++) {
    float scaled = (x[i] - MEAN[i]) / STD[i];
    int32_t q = (int32_t)roundf(scaled / input->params.scale) + input->params.zero_point;
    if (q < -128) q = -128;
    if (q > 127) q = 127;
    input->data.int8[i] = (int8_t)q;
  }
  if (interpreter->Invoke() != kTfLiteOk) {
    Serial.println("Invoke failed!");
    return;
  }
  int best = 0;
  for (int i = 1; i < N_CLASSES; i++) {
    if (output->data.int8[i] > output->data.int8[best]) best = i;
  }
  float p = (output->data.int8[best] - output->params.zero_point) * output->params.scale;
  Serial.print(LABELS[best]);
  Serial.print(" (");
  Serial.print(p * 100, 1);
  Serial.println("%)");
}
