/* FULLY_CONNECTED int8 (reference_integer_ops::FullyConnected[PerChannel]). */
static void fc_s8(const int8_t *in, int8_t *out, const int8_t *w, const int32_t *bias,
                  const int32_t *mult, const int8_t *shift, int per_channel, int rows,
                  int in_depth, int out_depth, int32_t in_off, int32_t out_off,
                  int32_t act_min, int32_t act_max) {
  int r, oc, d;
  for (r = 0; r < rows; ++r) {
    const int8_t *x = in + (int32_t)r * in_depth;
    for (oc = 0; oc < out_depth; ++oc) {
      const int8_t *wr = w + (int32_t)oc * in_depth;
      const int ch = per_channel ? oc : 0;
      int32_t acc = 0;
      for (d = 0; d < in_depth; ++d) {
        const int16_t xv = (int16_t)(x[d] + in_off);
        acc += (int32_t)RD8(wr + d) * (int32_t)xv;
      }
      if (bias) acc += RD32(bias + oc);
      acc = mul_by_qm(acc, RD32(mult + ch), RD8(shift + ch)) + out_off;
      out[(int32_t)r * out_depth + oc] = clamp_s8(acc, act_min, act_max);
    }
  }
}
