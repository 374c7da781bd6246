/* QUANTIZE int8 -> int8 (reference_ops::Requantize). */
static void requant_s8(const int8_t *in, int8_t *out, int32_t n, int32_t mult, int shift,
                       int32_t in_zp, int32_t out_zp) {
  int32_t i;
  for (i = 0; i < n; ++i) {
    const int32_t v = mul_by_qm((int32_t)in[i] - in_zp, mult, shift) + out_zp;
    out[i] = clamp_s8(v, -128, 127);
  }
}
