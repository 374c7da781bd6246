#ifndef TINYML_LSM9DS1_H
#define TINYML_LSM9DS1_H
#include "tinyml_imu.h"
class LSM9DS1Class : public TinymlImu {
 public:
  LSM9DS1Class(TwoWire &wire) : TinymlImu(119.0f) { (void)wire; }
};
extern LSM9DS1Class IMU_LSM9DS1;
#define IMU IMU_LSM9DS1
#endif
