// Arduino_APDS9960's public API; colour and proximity come from the recording ("colour r g b c [proximity]").
#ifndef ARDUINO_APDS9960
#define ARDUINO_APDS9960
#include <Arduino.h>
#include <Wire.h>

enum { GESTURE_NONE = -1, GESTURE_UP = 0, GESTURE_DOWN = 1, GESTURE_LEFT = 2, GESTURE_RIGHT = 3 };

class APDS9960 {
 public:
  APDS9960(TwoWire &wire, int intPin);
  virtual ~APDS9960();
  bool begin();
  void end();
  int gestureAvailable();
  int readGesture();
  int colorAvailable();
  bool readColor(int &r, int &g, int &b);
  bool readColor(int &r, int &g, int &b, int &c);
  int proximityAvailable();
  int readProximity();
  void setGestureSensitivity(uint8_t sensitivity);
  void setInterruptPin(int pin);
  bool setLEDBoost(uint8_t boost);

 private:
  TwoWire &_wire;
  int _intPin;
  float _last[5] = {0, 0, 0, 0, 0};
};

extern APDS9960 APDS;
#endif
