// ESP32 DevKit: the inference lives in inference.cpp (second tab); values arrive over Serial.
#include "inference.h"

void setup() {
  Serial.begin(115200);
  if (!inference_setup()) {
    Serial.println("model setup failed");
    while (true) delay(1000);
  }
}

void loop() {
  if (Serial.available() <= 0) return;
  float x[4];
  for (int i = 0; i < 4; i++) x[i] = Serial.parseFloat();
  Serial.println(classify(x));
}
