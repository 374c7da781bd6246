// Temperature/humidity/pressure libraries' public API, replaying "temperature t h" and "pressure p" rows.
#ifndef TINYML_ENV_H
#define TINYML_ENV_H
#include <Arduino.h>
#include <Wire.h>
enum { CELSIUS, FAHRENHEIT };
enum { PSI, MILLIBAR, KILOPASCAL };
class TinymlClimate {
 public:
  explicit TinymlClimate(TwoWire &wire) { (void)wire; }
  int begin() { return 1; }
  void end() {}
  float readTemperature(int units = CELSIUS);
  float readHumidity();
 private:
  float row_[2] = {0, 0};
  unsigned taken_ = 3;
  void next(int which);
};
#endif
