// What the mbed core's Arduino.h gives a Nano 33 BLE sketch besides the core API: the nRF52840's PinName
// values (port 0 and port 1 GPIOs, as mbed's PinNames.h numbers them). Arduino_TensorFlowLite's
// TensorFlowLite.h -> peripherals.h names a few of them for its audio board; its I2C wrapper names the
// mbed core's Wire class, MbedI2C (our core's TwoWire).
#ifndef TINYML_MBED_PINS_H
#define TINYML_MBED_PINS_H
#ifdef __cplusplus
extern "C" {
#endif
typedef enum {
  P0_0 = 0, P0_1, P0_2, P0_3, P0_4, P0_5, P0_6, P0_7, P0_8, P0_9, P0_10, P0_11, P0_12, P0_13, P0_14, P0_15,
  P0_16, P0_17, P0_18, P0_19, P0_20, P0_21, P0_22, P0_23, P0_24, P0_25, P0_26, P0_27, P0_28, P0_29, P0_30, P0_31,
  P1_0 = 32, P1_1, P1_2, P1_3, P1_4, P1_5, P1_6, P1_7, P1_8, P1_9, P1_10, P1_11, P1_12, P1_13, P1_14, P1_15,
  NC = (int)0xFFFFFFFF
} PinName;
#ifdef __cplusplus
}
namespace arduino {
class TwoWire;
using MbedI2C = TwoWire;
}  // namespace arduino
#endif
#endif
