/* Dot product of n constant int8 weights with n int8 inputs. The input offset is not added
 * per product: offset * sum(weights) is folded into each channel's constant at generation
 * time. On 8-bit cores a separate function keeps the inner loop in registers; on cores with
 * the ACLE 32-bit SIMD instructions (Cortex-M4/M7/M33) four products take two SMLADs. */
#if defined(__ARM_FEATURE_SIMD32) && __ARM_FEATURE_SIMD32 && !defined(MODEL_NO_SIMD32)
#include <arm_acle.h>
#define MODEL_SIMD32 1
#endif
/* Output channels per pass over the input: two where unpacking the inputs costs instructions. */
#if defined(MODEL_SIMD32)
#define MODEL_PAIRS 2
#else
#define MODEL_PAIRS 1
#endif
#if defined(__AVR__) && defined(__GNUC__)
__attribute__((noinline)) static int32_t dot_s8(
#else
MODEL_KERNEL int32_t dot_s8(
#endif
    const int8_t *w, const int8_t *x, int n) {
  int32_t acc = 0;
#if defined(MODEL_SIMD32)
  for (; n >= 4; n -= 4, w += 4, x += 4) {
    uint32_t wa, xa;
    memcpy(&wa, w, 4);
    memcpy(&xa, x, 4);
    /* bytes 0 and 2, then bytes 1 and 3, of both words: the same pairs are multiplied */
    acc = __smlad(__sxtb16(wa), __sxtb16(xa), acc);
    acc = __smlad(__sxtb16((wa >> 8) | (wa << 24)), __sxtb16((xa >> 8) | (xa << 24)), acc);
  }
#endif
  while (n-- > 0) {
    acc += MAC16(RD8(w), *x);
    ++w;
    ++x;
  }
  return acc;
}

/* Two output channels' dot products over the same n inputs: each input word is unpacked once. */
MODEL_KERNEL void dot2_s8(const int8_t *w0, const int8_t *w1, const int8_t *x, int n,
                          int32_t *a0, int32_t *a1) {
#if defined(MODEL_SIMD32)
  int32_t s0 = *a0, s1 = *a1;
  for (; n >= 4; n -= 4, w0 += 4, w1 += 4, x += 4) {
    uint32_t xa, wa, wb;
    int32_t xlo, xhi;
    memcpy(&xa, x, 4);
    memcpy(&wa, w0, 4);
    memcpy(&wb, w1, 4);
    xlo = __sxtb16(xa);
    xhi = __sxtb16((xa >> 8) | (xa << 24));
    s0 = __smlad(__sxtb16(wa), xlo, s0);
    s0 = __smlad(__sxtb16((wa >> 8) | (wa << 24)), xhi, s0);
    s1 = __smlad(__sxtb16(wb), xlo, s1);
    s1 = __smlad(__sxtb16((wb >> 8) | (wb << 24)), xhi, s1);
  }
  *a0 = s0 + dot_s8(w0, x, n);
  *a1 = s1 + dot_s8(w1, x, n);
#else
  *a0 += dot_s8(w0, x, n);
  *a1 += dot_s8(w1, x, n);
#endif
}
