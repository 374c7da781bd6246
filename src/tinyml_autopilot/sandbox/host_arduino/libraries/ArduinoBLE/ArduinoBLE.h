// ArduinoBLE's common calls, doing nothing: no central ever connects.
#ifndef TINYML_ARDUINOBLE_H
#define TINYML_ARDUINOBLE_H
#include <Arduino.h>
enum { BLERead = 0x02, BLEWriteWithoutResponse = 0x04, BLEWrite = 0x08, BLENotify = 0x10, BLEIndicate = 0x20 };
class BLEDevice {
 public:
  operator bool() const { return false; }
  bool connected() { return false; }
  String address() { return String("00:00:00:00:00:00"); }
};
class BLECharacteristic {
 public:
  BLECharacteristic() {}
  BLECharacteristic(const char *uuid, uint8_t props, int size, bool fixed = false) { (void)uuid; (void)props; (void)size; (void)fixed; }
  bool writeValue(const void *v, int n) { (void)v; (void)n; return true; }
  bool writeValue(const char *v) { (void)v; return true; }
  bool written() { return false; }
  bool subscribed() { return false; }
};
template <typename T>
class BLETypedCharacteristic : public BLECharacteristic {
 public:
  BLETypedCharacteristic(const char *uuid, uint8_t props) : BLECharacteristic(uuid, props, sizeof(T)) {}
  bool writeValue(T v) { value_ = v; return true; }
  T value() { return value_; }
 private:
  T value_{};
};
typedef BLETypedCharacteristic<uint8_t> BLEByteCharacteristic;
typedef BLETypedCharacteristic<uint8_t> BLEUnsignedCharCharacteristic;
typedef BLETypedCharacteristic<char> BLECharCharacteristic;
typedef BLETypedCharacteristic<int> BLEIntCharacteristic;
typedef BLETypedCharacteristic<float> BLEFloatCharacteristic;
typedef BLETypedCharacteristic<bool> BLEBoolCharacteristic;
typedef BLETypedCharacteristic<unsigned int> BLEUnsignedIntCharacteristic;
class BLEStringCharacteristic : public BLECharacteristic {
 public:
  BLEStringCharacteristic(const char *uuid, uint8_t props, int size) : BLECharacteristic(uuid, props, size) {}
  bool writeValue(const String &v) { (void)v; return true; }
};
class BLEDescriptor { public: BLEDescriptor(const char *uuid, const char *value) { (void)uuid; (void)value; } };
class BLEService {
 public:
  BLEService(const char *uuid) { (void)uuid; }
  void addCharacteristic(BLECharacteristic &c) { (void)c; }
};
class BLELocalDevice {
 public:
  int begin() { return 1; }
  void end() {}
  void poll() {}
  void poll(unsigned long t) { (void)t; }
  void setLocalName(const char *n) { (void)n; }
  void setDeviceName(const char *n) { (void)n; }
  void setAdvertisedService(BLEService &s) { (void)s; }
  void addService(BLEService &s) { (void)s; }
  int advertise() { return 1; }
  void stopAdvertise() {}
  BLEDevice central() { return BLEDevice(); }
  bool connected() { return false; }
};
extern BLELocalDevice BLE;
#endif
