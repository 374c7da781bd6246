/* Dot product of n constant int8 weights with n offset int8 inputs (a separate function
 * keeps the inner loop in registers on 8-bit cores). */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static int32_t dot_s8(const int8_t *w, const int8_t *x, int n, int16_t offset) {
  int32_t acc = 0;
  while (n-- > 0) {
    acc += MAC16(RD8(w), *x + offset);
    ++w;
    ++x;
  }
  return acc;
}
