#ifndef TINYML_LPS22HB_H
#define TINYML_LPS22HB_H
#include "tinyml_env.h"
class LPS22HBClass {
 public:
  explicit LPS22HBClass(TwoWire &wire) { (void)wire; }
  int begin() { return 1; }
  void end() {}
  void setOutputRate(int rate) { (void)rate; }
  float readPressure(int units = KILOPASCAL);
  float readTemperature(void) { return 25.0f; }
  float readAltitude(void);
};
extern LPS22HBClass BARO;
#endif
