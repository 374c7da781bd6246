#ifndef TINYML_HOST_STREAM_H
#define TINYML_HOST_STREAM_H
#include "Print.h"

namespace arduino {
enum LookaheadMode { SKIP_ALL, SKIP_NONE, SKIP_WHITESPACE };
#define NO_IGNORE_CHAR '\x01'

// Arduino's Stream: timed reads; parseInt/parseFloat skip to the first number and stop at a non-digit.
class Stream : public Print {
 public:
  virtual int available() = 0;
  virtual int read() = 0;
  virtual int peek() = 0;
  void setTimeout(unsigned long ms) { timeout_ = ms; }
  unsigned long getTimeout() { return timeout_; }
  bool find(const char *target);
  bool find(char target) { char t[2] = {target, 0}; return find(t); }
  bool findUntil(const char *target, const char *terminator);
  long parseInt(LookaheadMode mode = SKIP_ALL, char ignore = NO_IGNORE_CHAR);
  float parseFloat(LookaheadMode mode = SKIP_ALL, char ignore = NO_IGNORE_CHAR);
  size_t readBytes(char *buffer, size_t length);
  size_t readBytes(uint8_t *buffer, size_t length) { return readBytes((char *)buffer, length); }
  size_t readBytesUntil(char terminator, char *buffer, size_t length);
  size_t readBytesUntil(char terminator, uint8_t *buffer, size_t length) {
    return readBytesUntil(terminator, (char *)buffer, length);
  }
  String readString();
  String readStringUntil(char terminator);

 protected:
  int timedRead();
  int timedPeek();
  int peekNextDigit(LookaheadMode mode, bool detectDecimal);
  unsigned long timeout_ = 1000;
};
}  // namespace arduino
#endif
