// Host Arduino core: the Arduino API as sketches use it, on a virtual clock, for running sketches on a PC.
#ifndef TINYML_HOST_ARDUINO_H
#define TINYML_HOST_ARDUINO_H

#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <stdio.h>
#include <ctype.h>

#ifndef ARDUINO
#define ARDUINO 10819
#endif

typedef uint8_t byte;
typedef bool boolean;
typedef uint16_t word;
typedef uint8_t pin_size_t;
typedef int PinStatus;
typedef int PinMode;

#define HIGH 0x1
#define LOW 0x0
#define INPUT 0x0
#define OUTPUT 0x1
#define INPUT_PULLUP 0x2
#define INPUT_PULLDOWN 0x3
#define CHANGE 2
#define FALLING 3
#define RISING 4
#define PI 3.1415926535897932384626433832795
#define HALF_PI 1.5707963267948966192313216916398
#define TWO_PI 6.283185307179586476925286766559
#define DEG_TO_RAD 0.017453292519943295769236907684886
#define RAD_TO_DEG 57.295779513082320876798154814105
#define EULER 2.718281828459045235360287471352
#define SERIAL 0x0
#define DISPLAY 0x1
#define LSBFIRST 0
#define MSBFIRST 1

// Nano 33 BLE pin numbers
enum { D0, D1, D2, D3, D4, D5, D6, D7, D8, D9, D10, D11, D12, D13, D14, D15, D16, D17, D18, D19, D20, D21 };
#define A0 14
#define A1 15
#define A2 16
#define A3 17
#define A4 18
#define A5 19
#define A6 20
#define A7 21
#define LED_BUILTIN 13
#define LEDR 22
#define LEDG 23
#define LEDB 24
#define LED_RED LEDR
#define LED_GREEN LEDG
#define LED_BLUE LEDB
#define LED_PWR 25
#define PIN_ENABLE_SENSORS_3V3 32
#define PIN_ENABLE_I2C_PULLUP 33
#define NUM_DIGITAL_PINS 34

#define PROGMEM
#define PGM_P const char *
#define PSTR(s) (s)
#define pgm_read_byte(p) (*(const uint8_t *)(p))
#define pgm_read_word(p) (*(const uint16_t *)(p))
#define pgm_read_dword(p) (*(const uint32_t *)(p))
#define pgm_read_float(p) (*(const float *)(p))
#define pgm_read_ptr(p) (*(void *const *)(p))
#define memcpy_P memcpy
#define strcpy_P strcpy
#define strlen_P strlen

#define lowByte(w) ((uint8_t)((w) & 0xff))
#define highByte(w) ((uint8_t)((w) >> 8))
#define bitRead(value, bit) (((value) >> (bit)) & 0x01)
#define bitSet(value, bit) ((value) |= (1UL << (bit)))
#define bitClear(value, bit) ((value) &= ~(1UL << (bit)))
#define bitWrite(value, bit, bitvalue) ((bitvalue) ? bitSet(value, bit) : bitClear(value, bit))
#define bit(b) (1UL << (b))
#define interrupts()
#define noInterrupts()
#define digitalPinToInterrupt(p) (p)

#ifdef __cplusplus
extern "C" {
#endif
unsigned long millis(void);
unsigned long micros(void);
void delay(unsigned long ms);
void delayMicroseconds(unsigned int us);
void pinMode(pin_size_t pin, int mode);
void digitalWrite(pin_size_t pin, int value);
int digitalRead(pin_size_t pin);
int analogRead(pin_size_t pin);
void analogReadResolution(int bits);
void analogWrite(pin_size_t pin, int value);
void analogWriteResolution(int bits);
void yield(void);
void attachInterrupt(pin_size_t pin, void (*fn)(void), int mode);
void detachInterrupt(pin_size_t pin);
void setup(void);
void loop(void);
#ifdef __cplusplus
}  // extern "C"

#include "WString.h"
#include "Print.h"
#include "Stream.h"
#include "HardwareSerial.h"
#include "RingBuffer.h"

template <class T, class L>
auto min(const T &a, const L &b) -> decltype((b < a) ? b : a) { return (b < a) ? b : a; }
template <class T, class L>
auto max(const T &a, const L &b) -> decltype((b < a) ? b : a) { return (a < b) ? b : a; }
#define constrain(amt, low, high) ((amt) < (low) ? (low) : ((amt) > (high) ? (high) : (amt)))
#define sq(x) ((x) * (x))
#define radians(deg) ((deg) * DEG_TO_RAD)
#define degrees(rad) ((rad) * RAD_TO_DEG)
long map(long x, long in_min, long in_max, long out_min, long out_max);
long random(long howbig);
long random(long howsmall, long howbig);
void randomSeed(unsigned long seed);
uint16_t makeWord(uint8_t h, uint8_t l);
unsigned long pulseIn(pin_size_t pin, uint8_t state, unsigned long timeout = 1000000L);
void tone(pin_size_t pin, unsigned int frequency, unsigned long duration = 0);
void noTone(pin_size_t pin);
using namespace arduino;
#endif  // __cplusplus

#endif
