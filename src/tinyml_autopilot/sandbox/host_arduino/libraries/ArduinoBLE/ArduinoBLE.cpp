#include "ArduinoBLE.h"
BLELocalDevice BLE;
