#ifndef TINYML_HOST_WIRE_H
#define TINYML_HOST_WIRE_H
#include "Arduino.h"

namespace arduino {
// An I2C bus with no devices on it: every transmission is answered with "address NACK".
class TwoWire : public Stream {
 public:
  void begin() {}
  void begin(uint8_t address) { (void)address; }
  void end() {}
  void setClock(uint32_t freq) { (void)freq; }
  void beginTransmission(uint8_t address) { (void)address; }
  uint8_t endTransmission(bool stop = true) { (void)stop; return 2; }
  size_t requestFrom(uint8_t address, size_t len, bool stop = true) { (void)address; (void)len; (void)stop; return 0; }
  size_t write(uint8_t c) override { (void)c; return 1; }
  size_t write(const uint8_t *b, size_t n) override { (void)b; return n; }
  using Print::write;
  int available() override { return 0; }
  int read() override { return -1; }
  int peek() override { return -1; }
  void onReceive(void (*fn)(int)) { (void)fn; }
  void onRequest(void (*fn)(void)) { (void)fn; }
};
}  // namespace arduino
extern arduino::TwoWire Wire;
extern arduino::TwoWire Wire1;
#endif
