/* FULLY_CONNECTED int8 (reference_integer_ops::FullyConnected[PerChannel]). `acc0` holds each
 * output's bias plus input offset times the sum of its weights; with SIMD32 outputs go in pairs
 * that read the input once. */
MODEL_KERNEL void fc_s8(const int8_t *in, int8_t *out, const int8_t *w, const int32_t *acc0,
                        const int32_t *mult, const int8_t *shift, int per_channel, int rows,
                        int in_depth, int out_depth, int32_t out_off, int32_t act_min,
                        int32_t act_max) {
  int r, oc;
  for (r = 0; r < rows; ++r) {
    const int8_t *x = in + r * in_depth;
    const int8_t *wr = w;
    for (oc = 0; oc < out_depth; oc += MODEL_PAIRS, wr += MODEL_PAIRS * in_depth) {
      const int ch = per_channel ? oc : 0;
      int32_t a0 = RD32(acc0 + oc);
      if (MODEL_PAIRS == 2 && oc + 1 < out_depth) {
        const int ch1 = per_channel ? oc + 1 : 0;
        int32_t a1 = RD32(acc0 + oc + 1);
        dot2_s8(wr, wr + in_depth, x, in_depth, &a0, &a1);
        a1 = mul_by_qm(a1, RD32(mult + ch1), RD8(shift + ch1)) + out_off;
        out[1] = clamp_s8(a1, act_min, act_max);
      } else {
        a0 += dot_s8(wr, x, in_depth);
      }
      a0 = mul_by_qm(a0, RD32(mult + ch), RD8(shift + ch)) + out_off;
      out[0] = clamp_s8(a0, act_min, act_max);
      out += MODEL_PAIRS == 2 && oc + 1 < out_depth ? 2 : 1;
    }
  }
}
