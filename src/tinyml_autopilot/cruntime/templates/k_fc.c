/* FULLY_CONNECTED int8 (reference_integer_ops::FullyConnected[PerChannel]). `acc0` holds each
 * output's bias plus input offset times the sum of its weights. */
MODEL_KERNEL void fc_s8(const int8_t *in, int8_t *out, const int8_t *w, const int32_t *acc0,
                  const int32_t *mult, const int8_t *shift, int per_channel, int rows,
                  int in_depth, int out_depth, int32_t out_off, int32_t act_min, int32_t act_max) {
  int r, oc;
  for (r = 0; r < rows; ++r) {
    const int8_t *x = in + r * in_depth;
    const int8_t *wr = w;
    for (oc = 0; oc < out_depth; ++oc, wr += in_depth) {
      const int ch = per_channel ? oc : 0;
      int32_t acc = dot_s8(wr, x, in_depth) + RD32(acc0 + oc);
      acc = mul_by_qm(acc, RD32(mult + ch), RD8(shift + ch)) + out_off;
      *out++ = clamp_s8(acc, act_min, act_max);
    }
  }
}
