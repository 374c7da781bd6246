#ifndef TINYML_HOST_WSTRING_H
#define TINYML_HOST_WSTRING_H
#include <string>
#include <stdint.h>

namespace arduino {
class __FlashStringHelper;
#define F(s) (reinterpret_cast<const arduino::__FlashStringHelper *>(s))

// Arduino's String, backed by std::string; numbers format as Arduino's do.
class String {
 public:
  String(const char *s = "") : s_(s ? s : "") {}
  String(const std::string &s) : s_(s) {}
  String(const __FlashStringHelper *s) : s_(reinterpret_cast<const char *>(s)) {}
  String(char c) : s_(1, c) {}
  String(unsigned char v, unsigned char base = 10);
  String(int v, unsigned char base = 10);
  String(unsigned int v, unsigned char base = 10);
  String(long v, unsigned char base = 10);
  String(unsigned long v, unsigned char base = 10);
  String(float v, unsigned char decimals = 2);
  String(double v, unsigned char decimals = 2);
  unsigned int length() const { return (unsigned int)s_.size(); }
  const char *c_str() const { return s_.c_str(); }
  bool reserve(unsigned int n) { s_.reserve(n); return true; }
  String &operator+=(const String &o) { s_ += o.s_; return *this; }
  String &operator+=(const char *o) { s_ += o ? o : ""; return *this; }
  String &operator+=(char c) { s_ += c; return *this; }
  String &operator+=(int v) { return *this += String(v); }
  String &operator+=(unsigned int v) { return *this += String(v); }
  String &operator+=(long v) { return *this += String(v); }
  String &operator+=(unsigned long v) { return *this += String(v); }
  String &operator+=(float v) { return *this += String(v); }
  String &operator+=(double v) { return *this += String(v); }
  bool concat(const String &o) { s_ += o.s_; return true; }
  bool operator==(const String &o) const { return s_ == o.s_; }
  bool operator==(const char *o) const { return s_ == (o ? o : ""); }
  bool operator!=(const String &o) const { return s_ != o.s_; }
  bool operator!=(const char *o) const { return !(*this == o); }
  bool operator<(const String &o) const { return s_ < o.s_; }
  bool equals(const String &o) const { return s_ == o.s_; }
  bool equalsIgnoreCase(const String &o) const;
  bool startsWith(const String &o) const { return s_.rfind(o.s_, 0) == 0; }
  bool endsWith(const String &o) const {
    return s_.size() >= o.s_.size() && s_.compare(s_.size() - o.s_.size(), o.s_.size(), o.s_) == 0;
  }
  char charAt(unsigned int i) const { return i < s_.size() ? s_[i] : 0; }
  char operator[](unsigned int i) const { return charAt(i); }
  char &operator[](unsigned int i) { return s_[i]; }
  int indexOf(char c, unsigned int from = 0) const { size_t p = s_.find(c, from); return p == std::string::npos ? -1 : (int)p; }
  int indexOf(const String &o, unsigned int from = 0) const { size_t p = s_.find(o.s_, from); return p == std::string::npos ? -1 : (int)p; }
  int lastIndexOf(char c) const { size_t p = s_.rfind(c); return p == std::string::npos ? -1 : (int)p; }
  String substring(unsigned int from) const { return from < s_.size() ? String(s_.substr(from)) : String(""); }
  String substring(unsigned int from, unsigned int to) const;
  void trim();
  void toLowerCase();
  void toUpperCase();
  void replace(const String &a, const String &b);
  void remove(unsigned int index, unsigned int count = (unsigned int)-1) { if (index < s_.size()) s_.erase(index, count); }
  long toInt() const;
  float toFloat() const;
  double toDouble() const;
  void toCharArray(char *buf, unsigned int size, unsigned int index = 0) const;
  void getBytes(unsigned char *buf, unsigned int size, unsigned int index = 0) const {
    toCharArray((char *)buf, size, index);
  }
  explicit operator bool() const { return true; }

 private:
  std::string s_;
};

String operator+(const String &a, const String &b);
String operator+(const String &a, const char *b);
String operator+(const char *a, const String &b);
String operator+(const String &a, char b);
String operator+(const String &a, int b);
String operator+(const String &a, unsigned int b);
String operator+(const String &a, long b);
String operator+(const String &a, unsigned long b);
String operator+(const String &a, float b);
String operator+(const String &a, double b);
}  // namespace arduino
#endif
