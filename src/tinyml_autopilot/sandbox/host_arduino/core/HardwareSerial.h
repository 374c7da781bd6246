#ifndef TINYML_HOST_HARDWARESERIAL_H
#define TINYML_HOST_HARDWARESERIAL_H
#include "Stream.h"

#define SERIAL_8N1 0x06

namespace arduino {
// The serial port: output goes to the run's serial log, input comes from the recorded serial input.
class HardwareSerial : public Stream {
 public:
  explicit HardwareSerial(int port) : port_(port) {}
  void begin(unsigned long baud) { baud_ = baud; }
  void begin(unsigned long baud, uint16_t config) { (void)config; begin(baud); }
  void end() {}
  int available() override;
  int read() override;
  int peek() override;
  void flush() override;
  size_t write(uint8_t c) override;
  size_t write(const uint8_t *buffer, size_t size) override;
  using Print::write;
  int availableForWrite() override { return 64; }
  operator bool() { return true; }
  unsigned long baud() const { return baud_; }

 private:
  int port_;
  unsigned long baud_ = 0;
};
}  // namespace arduino

extern arduino::HardwareSerial Serial;
extern arduino::HardwareSerial Serial1;
#define SerialUSB Serial
#endif
