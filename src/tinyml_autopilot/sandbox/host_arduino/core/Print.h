#ifndef TINYML_HOST_PRINT_H
#define TINYML_HOST_PRINT_H
#include <stddef.h>
#include <stdint.h>
#include "WString.h"

#define DEC 10
#define HEX 16
#define OCT 8
#define BIN 2

namespace arduino {
class Print;
class Printable {
 public:
  virtual ~Printable() {}
  virtual size_t printTo(Print &p) const = 0;
};

// Arduino's Print: numbers in a base, floats with a number of decimals (default 2), println adds "\r\n".
class Print {
 public:
  virtual ~Print() {}
  virtual size_t write(uint8_t c) = 0;
  virtual size_t write(const uint8_t *buffer, size_t size);
  size_t write(const char *str) { return str ? write((const uint8_t *)str, strlen(str)) : 0; }
  size_t write(const char *buffer, size_t size) { return write((const uint8_t *)buffer, size); }
  virtual int availableForWrite() { return 0; }
  virtual void flush() {}

  size_t print(const __FlashStringHelper *s) { return write(reinterpret_cast<const char *>(s)); }
  size_t print(const String &s) { return write(s.c_str(), s.length()); }
  size_t print(const char s[]) { return write(s); }
  size_t print(char c) { return write((uint8_t)c); }
  size_t print(unsigned char v, int base = DEC) { return print((unsigned long)v, base); }
  size_t print(int v, int base = DEC) { return print((long)v, base); }
  size_t print(unsigned int v, int base = DEC) { return print((unsigned long)v, base); }
  size_t print(long v, int base = DEC);
  size_t print(unsigned long v, int base = DEC);
  size_t print(long long v, int base = DEC);
  size_t print(unsigned long long v, int base = DEC);
  size_t print(double v, int digits = 2);
  size_t print(const Printable &p) { return p.printTo(*this); }

  size_t println(void) { return write("\r\n"); }
  template <typename T>
  size_t println(const T &v) { size_t n = print(v); return n + println(); }
  template <typename T>
  size_t println(const T &v, int fmt) { size_t n = print(v, fmt); return n + println(); }
  size_t println(const char s[]) { size_t n = print(s); return n + println(); }

 private:
  size_t printNumber(unsigned long long n, uint8_t base);
  size_t printFloat(double number, int digits);
};
}  // namespace arduino
#endif
