// Activity classifier for the TinyML kit (Harvard_TinyMLx, TFLM 2.4): ErrorReporter, AddBuiltin.
#include <TensorFlowLite.h>
#include <tensorflow/lite/micro/micro_error_reporter.h>
#include <tensorflow/lite/micro/micro_interpreter.h>
#include <tensorflow/lite/micro/micro_mutable_op_resolver.h>
#include <tensorflow/lite/schema/schema_generated.h>
#include <tensorflow/lite/version.h>

#include "model_data.h"

#define NUM_INPUTS 4
#define NUM_OUTPUTS 3
#define TENSOR_ARENA_SIZE (6 * 1024)
#define INPUT_SCALE {{IN_SCALE}}f
#define INPUT_ZERO_POINT ({{IN_ZP}})

tflite::MicroErrorReporter tflErrorReporter;
tflite::ErrorReporter* error_reporter = &tflErrorReporter;
const tflite::Model* tflModel = nullptr;
tflite::MicroInterpreter* tflInterpreter = nullptr;
TfLiteTensor* tflInputTensor = nullptr;
TfLiteTensor* tflOutputTensor = nullptr;

byte tensorArena[TENSOR_ARENA_SIZE] __attribute__((aligned(16)));

float means[NUM_INPUTS] = {512, 300, 20, 5};
float stds[NUM_INPUTS] = {100, 50, 4, 2};

String CLASSES[NUM_OUTPUTS] = {"idle", "walk", "run"};

void setup() {
  Serial.begin(9600);
  while (!Serial);
  tflModel = tflite::GetModel(g_model_data);
  if (tflModel->version() != TFLITE_SCHEMA_VERSION) {
    TF_LITE_REPORT_ERROR(error_reporter, "Model schema mismatch!");
    while (1);
  }
  static tflite::MicroMutableOpResolver<2> micro_op_resolver;
  micro_op_resolver.AddBuiltin(tflite::BuiltinOperator_FULLY_CONNECTED,
                               tflite::ops::micro::Register_FULLY_CONNECTED());
  micro_op_resolver.AddBuiltin(tflite::BuiltinOperator_SOFTMAX,
                               tflite::ops::micro::Register_SOFTMAX());
  tflInterpreter = new tflite::MicroInterpreter(tflModel, micro_op_resolver, tensorArena,
                                                TENSOR_ARENA_SIZE, error_reporter);
  tflInterpreter->AllocateTensors();
  tflInputTensor = tflInterpreter->input(0);
  tflOutputTensor = tflInterpreter->output(0);
}

void loop() {
  while (Serial.available() < 4) {}
  for (int i = 0; i < NUM_INPUTS; i++) {
    float v = (Serial.parseFloat() - means[i]) / stds[i];
    tflInputTensor->data.int8[i] = (int8_t)constrain(round(v / INPUT_SCALE) + INPUT_ZERO_POINT, -128, 127);
  }
  if (tflInterpreter->Invoke() != kTfLiteOk) {
    TF_LITE_REPORT_ERROR(error_reporter, "Invoke failed!");
    return;
  }
  for (int i = 0; i < NUM_OUTPUTS; i++) {
    Serial.print(CLASSES[i]);
    Serial.print(": ");
    Serial.println((tflOutputTensor->data.int8[i] + 128) / 256.0, 4);
  }
}
