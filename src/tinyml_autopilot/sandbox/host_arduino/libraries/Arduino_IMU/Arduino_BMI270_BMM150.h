#ifndef TINYML_BMI270_BMM150_H
#define TINYML_BMI270_BMM150_H
#include "tinyml_imu.h"
typedef enum { BOSCH_ACCELEROMETER_ONLY, BOSCH_MAGNETOMETER_ONLY, BOSCH_ACCEL_AND_MAGN } CfgBoshSensor_t;
class BoschSensorClass : public TinymlImu {
 public:
  BoschSensorClass(TwoWire &wire = Wire) : TinymlImu(99.84f) { (void)wire; }
  int begin(CfgBoshSensor_t cfg = BOSCH_ACCEL_AND_MAGN) { (void)cfg; return 1; }
  void debug(Stream &s) { (void)s; }
  void setInterruptPin(int pin) { (void)pin; }
  void onInterrupt(void (*fn)(void)) { (void)fn; }
};
extern BoschSensorClass IMU_BMI270_BMM150;
#define IMU IMU_BMI270_BMM150
#endif
