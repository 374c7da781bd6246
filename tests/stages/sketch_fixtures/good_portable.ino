// Hand-written Uno sketch on the portable C runtime; it prints the predicted label's name.
#include "model.h"

const float kOffset[4] = {512.0, 300.0, 20.0, 5.0};
const float kScale[4] = {100.0, 50.0, 4.0, 2.0};
const char *kClasses[MODEL_OUTPUT_SIZE] = {"idle", "walk", "run"};
int8_t in_buf[MODEL_INPUT_SIZE];
int8_t out_buf[MODEL_OUTPUT_SIZE];

// TINYML_ACQUIRE_BEGIN
bool read_features(float *raw) {
  for (int i = 0; i < 4; i++) raw[i] = analogRead(A0 + i);
  return true;
}
// TINYML_ACQUIRE_END

void setup() { Serial.begin(9600); }

void loop() {
  float raw[4];
  if (!read_features(raw)) return;
  for (int i = 0; i < 4; i++) in_buf[i] = model_quantize_input((raw[i] - kOffset[i]) / kScale[i]);
  model_invoke(in_buf, out_buf);
  int best = 0;
  for (int i = 1; i < MODEL_OUTPUT_SIZE; i++) if (out_buf[i] > out_buf[best]) best = i;
  Serial.print("activity: ");
  Serial.println(kClasses[best]);
}
