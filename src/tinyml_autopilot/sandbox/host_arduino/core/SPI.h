#ifndef TINYML_HOST_SPI_H
#define TINYML_HOST_SPI_H
#include "Arduino.h"
namespace arduino {
class SPISettings {
 public:
  SPISettings(uint32_t clock = 4000000, uint8_t order = MSBFIRST, uint8_t mode = 0) { (void)clock; (void)order; (void)mode; }
};
// An SPI bus with no devices: reads return 0xff.
class SPIClass {
 public:
  void begin() {}
  void end() {}
  void beginTransaction(SPISettings s) { (void)s; }
  void endTransaction() {}
  uint8_t transfer(uint8_t v) { (void)v; return 0xff; }
};
}  // namespace arduino
extern arduino::SPIClass SPI;
#define SPI_MODE0 0
#define SPI_MODE1 1
#define SPI_MODE2 2
#define SPI_MODE3 3
#endif
