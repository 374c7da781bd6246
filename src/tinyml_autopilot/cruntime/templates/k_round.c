/* TFLite fixed-point helpers (tensorflow/lite/kernels/internal/common.h, double rounding). */
#if defined(__AVR__) || defined(MODEL_SRDHM_NO_INT64)
/* SaturatingRoundingDoublingHighMul from 16x16->32 partial products: identical results,
 * much faster than 64-bit arithmetic on 8-bit cores. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static uint32_t mul16x16(uint16_t a, uint16_t b) {
  return (uint32_t)a * (uint32_t)b;
}

static int32_t srdhm(int32_t a, int32_t b) {
  uint32_t ua, ub, p00, p01, p10, mid, lo, hi, sum, q;
  uint16_t a0, a1, b0, b1;
  int neg;
  if (a == b && a == INT32_MIN) return INT32_MAX;
  neg = (a < 0) != (b < 0);
  ua = a < 0 ? 0u - (uint32_t)a : (uint32_t)a;
  ub = b < 0 ? 0u - (uint32_t)b : (uint32_t)b;
  a0 = (uint16_t)ua;
  a1 = (uint16_t)(ua >> 16);
  b0 = (uint16_t)ub;
  b1 = (uint16_t)(ub >> 16);
  p00 = mul16x16(a0, b0);
  p01 = mul16x16(a0, b1);
  p10 = mul16x16(a1, b0);
  mid = (p00 >> 16) + (p01 & 0xFFFFu) + (p10 & 0xFFFFu);
  lo = (p00 & 0xFFFFu) | (mid << 16);
  hi = mul16x16(a1, b1) + (p01 >> 16) + (p10 >> 16) + (mid >> 16);
  sum = lo + (neg ? 0x3FFFFFFFu : 0x40000000u);
  if (sum < lo) ++hi;
  q = (hi << 1) | (sum >> 31);
  return neg ? -(int32_t)q : (int32_t)q;
}
#else
static int32_t srdhm(int32_t a, int32_t b) {
  if (a == b && a == INT32_MIN) return INT32_MAX;
  /* TFLite's (ab + nudge) / 2^31, truncated toward zero with a nudge of 2^30 or 1 - 2^30 by the
   * sign, equals floor((ab + 2^30) / 2^31) for every ab: one add and one shift. */
  return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 30)) >> 31);
}
#endif

static int32_t rdpot(int32_t x, int exponent) {
  const int32_t mask = (int32_t)(((uint32_t)1 << exponent) - 1u);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}
