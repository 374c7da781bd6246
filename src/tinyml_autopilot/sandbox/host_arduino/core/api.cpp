// Print, Stream and String as the Arduino core API implements them (same rounding, parsing and timeouts).
#include "Arduino.h"
#include <algorithm>
#include <cctype>

namespace arduino {
size_t Print::write(const uint8_t *buffer, size_t size) {
  size_t n = 0;
  while (size--) n += write(*buffer++);
  return n;
}
size_t Print::print(long v, int base) {
  if (base == 0) return write((uint8_t)v);
  if (base == 10 && v < 0) return print('-') + printNumber((unsigned long long)(-(long long)v), 10);
  return printNumber((unsigned long)v, (uint8_t)base);
}
size_t Print::print(unsigned long v, int base) { return base == 0 ? write((uint8_t)v) : printNumber(v, (uint8_t)base); }
size_t Print::print(long long v, int base) {
  if (base == 10 && v < 0) return print('-') + printNumber((unsigned long long)(-v), 10);
  return printNumber((unsigned long long)v, (uint8_t)base);
}
size_t Print::print(unsigned long long v, int base) { return printNumber(v, (uint8_t)base); }
size_t Print::print(double v, int digits) { return printFloat(v, digits); }

size_t Print::printNumber(unsigned long long n, uint8_t base) {
  char buf[8 * sizeof(n) + 1];
  char *str = &buf[sizeof(buf) - 1];
  *str = '\0';
  if (base < 2) base = 10;
  do {
    char c = (char)(n % base);
    n /= base;
    *--str = c < 10 ? c + '0' : c + 'A' - 10;
  } while (n);
  return write(str);
}

size_t Print::printFloat(double number, int digits) {
  if (digits < 0) digits = 2;
  size_t n = 0;
  if (std::isnan(number)) return print("nan");
  if (std::isinf(number)) return print("inf");
  if (number > 4294967040.0) return print("ovf");
  if (number < -4294967040.0) return print("ovf");
  if (number < 0.0) { n += print('-'); number = -number; }
  double rounding = 0.5;
  for (int i = 0; i < digits; ++i) rounding /= 10.0;
  number += rounding;
  unsigned long int_part = (unsigned long)number;
  double remainder = number - (double)int_part;
  n += print(int_part);
  if (digits > 0) n += print('.');
  while (digits-- > 0) {
    remainder *= 10.0;
    unsigned int toPrint = (unsigned int)remainder;
    n += print(toPrint);
    remainder -= toPrint;
  }
  return n;
}

int Stream::timedRead() {
  unsigned long start = millis();
  do {
    if (available() > 0) return read();
  } while (millis() - start < timeout_);
  return -1;
}
int Stream::timedPeek() {
  unsigned long start = millis();
  do {
    if (available() > 0) return peek();
  } while (millis() - start < timeout_);
  return -1;
}
int Stream::peekNextDigit(LookaheadMode mode, bool detectDecimal) {
  for (;;) {
    int c = timedPeek();
    if (c < 0 || c == '-' || (c >= '0' && c <= '9') || (detectDecimal && c == '.')) return c;
    switch (mode) {
      case SKIP_NONE: return -1;
      case SKIP_WHITESPACE:
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return -1;
        break;
      case SKIP_ALL: break;
    }
    read();
  }
}
long Stream::parseInt(LookaheadMode mode, char ignore) {
  bool negative = false;
  long value = 0;
  int c = peekNextDigit(mode, false);
  if (c < 0) return 0;
  do {
    if ((char)c == ignore) {
    } else if (c == '-') negative = true;
    else if (c >= '0' && c <= '9') value = value * 10 + c - '0';
    read();
    c = timedPeek();
  } while ((c >= '0' && c <= '9') || (char)c == ignore);
  return negative ? -value : value;
}
float Stream::parseFloat(LookaheadMode mode, char ignore) {
  bool negative = false, isFraction = false;
  double value = 0.0, fraction = 1.0;
  int c = peekNextDigit(mode, true);
  if (c < 0) return 0;
  do {
    if ((char)c == ignore) {
    } else if (c == '-') negative = true;
    else if (c == '.') isFraction = true;
    else if (c >= '0' && c <= '9') {
      if (isFraction) { fraction *= 0.1; value = value + fraction * (c - '0'); }
      else value = value * 10 + c - '0';
    }
    read();
    c = timedPeek();
  } while ((c >= '0' && c <= '9') || (c == '.' && !isFraction) || (char)c == ignore);
  return (float)(negative ? -value : value);
}
bool Stream::find(const char *target) { return findUntil(target, nullptr); }
bool Stream::findUntil(const char *target, const char *terminator) {
  size_t tlen = strlen(target), index = 0, termIndex = 0, termLen = terminator ? strlen(terminator) : 0;
  if (tlen == 0) return true;
  int c;
  while ((c = timedRead()) > 0) {
    if (c == target[index]) { if (++index >= tlen) return true; } else index = (c == target[0]) ? 1 : 0;
    if (termLen > 0 && c == terminator[termIndex]) { if (++termIndex >= termLen) return false; } else termIndex = 0;
  }
  return false;
}
size_t Stream::readBytes(char *buffer, size_t length) {
  size_t count = 0;
  while (count < length) {
    int c = timedRead();
    if (c < 0) break;
    *buffer++ = (char)c;
    count++;
  }
  return count;
}
size_t Stream::readBytesUntil(char terminator, char *buffer, size_t length) {
  size_t index = 0;
  while (index < length) {
    int c = timedRead();
    if (c < 0 || c == terminator) break;
    *buffer++ = (char)c;
    index++;
  }
  return index;
}
String Stream::readString() {
  std::string s;
  int c;
  while ((c = timedRead()) >= 0) s += (char)c;
  return String(s);
}
String Stream::readStringUntil(char terminator) {
  std::string s;
  int c;
  while ((c = timedRead()) >= 0 && c != terminator) s += (char)c;
  return String(s);
}

static std::string in_base(unsigned long long v, unsigned char base) {
  if (base < 2) base = 10;
  std::string s;
  do { int d = (int)(v % base); s.insert(s.begin(), (char)(d < 10 ? '0' + d : 'a' + d - 10)); v /= base; } while (v);
  return s;
}
static std::string signed_in_base(long long v, unsigned char base) {
  if (base == 10 && v < 0) return "-" + in_base((unsigned long long)(-v), 10);
  return in_base((unsigned long long)(unsigned long)v, base);
}
static std::string fixed(double v, unsigned char decimals) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}
String::String(unsigned char v, unsigned char base) : s_(in_base(v, base)) {}
String::String(int v, unsigned char base) : s_(signed_in_base(v, base)) {}
String::String(unsigned int v, unsigned char base) : s_(in_base(v, base)) {}
String::String(long v, unsigned char base) : s_(signed_in_base(v, base)) {}
String::String(unsigned long v, unsigned char base) : s_(in_base(v, base)) {}
String::String(float v, unsigned char decimals) : s_(fixed(v, decimals)) {}
String::String(double v, unsigned char decimals) : s_(fixed(v, decimals)) {}
bool String::equalsIgnoreCase(const String &o) const {
  if (length() != o.length()) return false;
  for (unsigned i = 0; i < length(); i++) if (tolower(s_[i]) != tolower(o.s_[i])) return false;
  return true;
}
String String::substring(unsigned int from, unsigned int to) const {
  if (from > to) std::swap(from, to);
  if (from >= s_.size()) return String("");
  return String(s_.substr(from, std::min<size_t>(to, s_.size()) - from));
}
void String::trim() {
  size_t a = 0, b = s_.size();
  while (a < b && isspace((unsigned char)s_[a])) a++;
  while (b > a && isspace((unsigned char)s_[b - 1])) b--;
  s_ = s_.substr(a, b - a);
}
void String::toLowerCase() { for (auto &c : s_) c = (char)tolower((unsigned char)c); }
void String::toUpperCase() { for (auto &c : s_) c = (char)toupper((unsigned char)c); }
void String::replace(const String &a, const String &b) {
  if (a.s_.empty()) return;
  size_t p = 0;
  while ((p = s_.find(a.s_, p)) != std::string::npos) { s_.replace(p, a.s_.size(), b.s_); p += b.s_.size(); }
}
long String::toInt() const { return atol(s_.c_str()); }
float String::toFloat() const { return (float)atof(s_.c_str()); }
double String::toDouble() const { return atof(s_.c_str()); }
void String::toCharArray(char *buf, unsigned int size, unsigned int index) const {
  if (!size || !buf) return;
  if (index >= s_.size()) { buf[0] = 0; return; }
  size_t n = std::min<size_t>(size - 1, s_.size() - index);
  memcpy(buf, s_.data() + index, n);
  buf[n] = 0;
}
String operator+(const String &a, const String &b) { String r(a); r += b; return r; }
String operator+(const String &a, const char *b) { String r(a); r += b; return r; }
String operator+(const char *a, const String &b) { String r(a); r += b; return r; }
String operator+(const String &a, char b) { String r(a); r += b; return r; }
String operator+(const String &a, int b) { return a + String(b); }
String operator+(const String &a, unsigned int b) { return a + String(b); }
String operator+(const String &a, long b) { return a + String(b); }
String operator+(const String &a, unsigned long b) { return a + String(b); }
String operator+(const String &a, float b) { return a + String(b); }
String operator+(const String &a, double b) { return a + String(b); }
}  // namespace arduino
