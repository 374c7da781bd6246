#include "PDM.h"
#include "tinyml_host.h"
int PDMClass::begin(int channels, int sampleRate) { (void)channels; (void)sampleRate; return 1; }
int PDMClass::available() {
  if (have_ == 0) {
    float row[256];
    tinyml_replay_next("audio", row, 256);
    for (int i = 0; i < 256; i++) buf_[i] = (short)row[i];
    have_ = 256 * (int)sizeof(short);
  }
  return have_;
}
int PDMClass::read(void *buffer, size_t size) {
  int n = available();
  if ((int)size < n) n = (int)size;
  memcpy(buffer, buf_, (size_t)n);
  have_ = 0;
  return n;
}
PDMClass PDM;
