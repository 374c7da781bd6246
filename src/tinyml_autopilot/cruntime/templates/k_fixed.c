/* TFLite fixed-point helpers (tensorflow/lite/kernels/internal/common.h, double rounding). */
static int32_t srdhm(int32_t a, int32_t b) {
  int64_t ab;
  int32_t nudge;
  if (a == b && a == INT32_MIN) return INT32_MAX;
  ab = (int64_t)a * (int64_t)b;
  nudge = ab >= 0 ? (int32_t)INT32_C(1073741824) : (int32_t)(1 - INT32_C(1073741824));
  return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

static int32_t rdpot(int32_t x, int exponent) {
  const int32_t mask = (int32_t)(((uint32_t)1 << exponent) - 1u);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

static int32_t mul_by_qm(int32_t x, int32_t multiplier, int shift) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  return rdpot(srdhm(x * ((int32_t)1 << left), multiplier), right);
}

static int8_t clamp_s8(int32_t v, int32_t lo, int32_t hi) {
  if (v < lo) v = lo;
  if (v > hi) v = hi;
  return (int8_t)v;
}
