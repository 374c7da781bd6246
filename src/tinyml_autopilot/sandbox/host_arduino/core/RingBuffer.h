#ifndef TINYML_HOST_RINGBUFFER_H
#define TINYML_HOST_RINGBUFFER_H
#include <stdint.h>
#include <string.h>

namespace arduino {
// The core API's fixed-size byte ring buffer.
template <int N>
class RingBufferN {
 public:
  RingBufferN() { clear(); }
  void store_char(uint8_t c) {
    if (!isFull()) { _aucBuffer[head_] = c; head_ = (head_ + 1) % N; n_++; }
  }
  void clear() { head_ = tail_ = n_ = 0; memset(_aucBuffer, 0, N); }
  int read_char() {
    if (n_ == 0) return -1;
    uint8_t c = _aucBuffer[tail_];
    tail_ = (tail_ + 1) % N;
    n_--;
    return c;
  }
  int available() { return n_; }
  int availableForStore() { return N - n_; }
  int peek() { return n_ ? _aucBuffer[tail_] : -1; }
  bool isFull() { return n_ == N; }

  uint8_t _aucBuffer[N];  // public in the core API too (sketches and libraries read it)

 private:
  int head_, tail_, n_;
};
typedef RingBufferN<64> RingBuffer;
}  // namespace arduino
#endif
