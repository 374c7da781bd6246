#include "Arduino_APDS9960.h"
#include "tinyml_host.h"

APDS9960::APDS9960(TwoWire &wire, int intPin) : _wire(wire), _intPin(intPin) {}
APDS9960::~APDS9960() {}
bool APDS9960::begin() { return true; }
void APDS9960::end() {}
int APDS9960::gestureAvailable() { return 0; }
int APDS9960::readGesture() { return GESTURE_NONE; }
int APDS9960::colorAvailable() { delay(2); return tinyml_replay_available("colour") ? 1 : (tinyml_replay_next("colour", _last, 5), 0); }
bool APDS9960::readColor(int &r, int &g, int &b) { int c; return readColor(r, g, b, c); }
bool APDS9960::readColor(int &r, int &g, int &b, int &c) {
  tinyml_replay_next("colour", _last, 5);
  r = (int)_last[0]; g = (int)_last[1]; b = (int)_last[2]; c = (int)_last[3];
  return true;
}
int APDS9960::proximityAvailable() { return 1; }
int APDS9960::readProximity() { return (int)_last[4]; }
void APDS9960::setGestureSensitivity(uint8_t sensitivity) { (void)sensitivity; }
void APDS9960::setInterruptPin(int pin) { _intPin = pin; }
bool APDS9960::setLEDBoost(uint8_t boost) { (void)boost; return true; }

APDS9960 APDS(Wire, 26);
