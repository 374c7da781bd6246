#include "Arduino_HTS221.h"
#include "Arduino_HS300x.h"
#include "Arduino_LPS22HB.h"
#include "tinyml_host.h"

void TinymlClimate::next(int which) {
  if (taken_ & (1u << which)) { tinyml_replay_next("temperature", row_, 2); taken_ = 0; }
  taken_ |= 1u << which;
}
float TinymlClimate::readTemperature(int units) {
  next(0);
  return units == FAHRENHEIT ? row_[0] * 9.0f / 5.0f + 32.0f : row_[0];
}
float TinymlClimate::readHumidity() { next(1); return row_[1]; }
float LPS22HBClass::readPressure(int units) {
  float kpa;
  tinyml_replay_next("pressure", &kpa, 1);
  return units == MILLIBAR ? kpa * 10.0f : units == PSI ? kpa * 0.145038f : kpa;
}
float LPS22HBClass::readAltitude(void) {
  float kpa = readPressure();
  return 44330.0f * (1.0f - powf(kpa / 101.325f, 1.0f / 5.255f));
}
HTS221Class HTS(Wire);
HS300xClass HS300x(Wire);
LPS22HBClass BARO(Wire);
