#ifndef TINYML_LSM6DSOX_H
#define TINYML_LSM6DSOX_H
#include "tinyml_imu.h"
class LSM6DSOXClass : public TinymlImu {
 public:
  LSM6DSOXClass(TwoWire &wire, uint8_t slaveAddress) : TinymlImu(104.0f) { (void)wire; (void)slaveAddress; }
  LSM6DSOXClass(SPIClass &spi, int csPin, int irqPin) : TinymlImu(104.0f) { (void)spi; (void)csPin; (void)irqPin; }
  int readTemperature(int &t) { t = 25; return 1; }
  int readTemperatureFloat(float &t) { t = 25.0f; return 1; }
  int temperatureAvailable() { return 1; }
 private:
  int readMagneticField(float &, float &, float &) override { return 0; }
};
extern LSM6DSOXClass IMU_LSM6DSOX;
#define IMU IMU_LSM6DSOX
#endif
