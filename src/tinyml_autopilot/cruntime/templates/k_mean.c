/* MEAN int8 over every axis between batch and channels (global average pooling), as TFLM's
 * reference QuantizedMeanOrSum: the sum less the zero points, rescaled by one multiplier
 * that folds in 1/n (also when input and output share scale and zero point). */
static void mean_s8(const int8_t *in, int8_t *out, int32_t n, int32_t ch, int32_t mult, int shift,
                    int32_t in_zp, int32_t out_zp) {
  int32_t c, i;
  for (c = 0; c < ch; ++c) {
    int32_t sum = 0;
    for (i = 0; i < n; ++i) sum += in[i * ch + c];
    out[c] = clamp_s8(mul_by_qm(sum - in_zp * n, mult, shift) + out_zp, -128, 127);
  }
}
