// One object per IMU library; a sketch includes the header of its board's library.
#include "Arduino_LSM9DS1.h"
#undef IMU
#include "Arduino_BMI270_BMM150.h"
#undef IMU
#include "Arduino_LSM6DSOX.h"
#undef IMU
LSM9DS1Class IMU_LSM9DS1(Wire);
BoschSensorClass IMU_BMI270_BMM150(Wire);
LSM6DSOXClass IMU_LSM6DSOX(Wire, 0x6A);
