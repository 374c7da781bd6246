#include "tinyml_imu.h"
#include "tinyml_host.h"

int TinymlImu::part(int which, float &x, float &y, float &z) {
  if (taken_ & (1u << which)) {
    tinyml_replay_next("imu", row_, 9);
    taken_ = 0;
  }
  taken_ |= 1u << which;
  x = row_[3 * which]; y = row_[3 * which + 1]; z = row_[3 * which + 2];
  return 1;
}

// A new sample every 1/rate seconds of the virtual clock, as the sensor's FIFO fills.
int TinymlImu::available() {
  unsigned long now = micros();
  if ((long)(now - next_us_) < 0) return 0;
  next_us_ = now + (unsigned long)(1e6f / rate_);
  if (!tinyml_replay_available("imu")) tinyml_replay_next("imu", row_, 9);
  return 1;
}
