// PDM's public API; samples come from "audio s0 s1 ..." rows, one onReceive callback per row.
#ifndef TINYML_PDM_H
#define TINYML_PDM_H
#include <Arduino.h>
class PDMClass {
 public:
  int begin(int channels, int sampleRate);
  void end() {}
  int available();
  int read(void *buffer, size_t size);
  void onReceive(void (*fn)(void)) { cb_ = fn; }
  void setGain(int gain) { (void)gain; }
  void setBufferSize(int size) { (void)size; }
 private:
  void (*cb_)(void) = nullptr;
  short buf_[512];
  int have_ = 0;
};
extern PDMClass PDM;
#endif
