// The IMU libraries' shared public API; one recorded row "imu ax ay az gx gy gz mx my mz" per sample.
// A row is used up once a part of it (acceleration, gyroscope, magnetic field) is read a second time.
#ifndef TINYML_IMU_H
#define TINYML_IMU_H
#include <Arduino.h>
#include <Wire.h>
#include <SPI.h>

class TinymlImu {
 public:
  int begin() { return 1; }
  void end() {}
  void setContinuousMode() {}
  void setOneShotMode() {}
  void oneShotMode() {}
  virtual int readAcceleration(float &x, float &y, float &z) { return part(0, x, y, z); }
  virtual int accelerationAvailable() { return available(); }
  virtual float accelerationSampleRate() { return rate_; }
  virtual int readGyroscope(float &x, float &y, float &z) { return part(1, x, y, z); }
  virtual int gyroscopeAvailable() { return available(); }
  virtual float gyroscopeSampleRate() { return rate_; }
  virtual int readMagneticField(float &x, float &y, float &z) { return part(2, x, y, z); }
  virtual int magneticFieldAvailable() { return available(); }
  virtual float magneticFieldSampleRate() { return 20.0f; }
  virtual ~TinymlImu() {}

 protected:
  explicit TinymlImu(float rate) : rate_(rate) {}
  int part(int which, float &x, float &y, float &z);
  int available();
  float rate_;
  float row_[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
  unsigned taken_ = 7;
  unsigned long next_us_ = 0;
};
#endif
