/* DEPTHWISE_CONV_2D int8 per-channel (reference_integer_ops::DepthwiseConvPerChannel). */
typedef struct {
  int16_t in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w, depth_mult;
  int16_t stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
  int16_t in_off, out_off, act_min, act_max;
} dw_geom_t;

static void dwconv_s8(const int8_t *in, int8_t *out, const int8_t *w, const int32_t *bias,
                      const int32_t *mult, const int8_t *shift, const dw_geom_t *gp) {
  dw_geom_t g;
  LOAD_CONST(&g, gp, sizeof g);
  int oy, ox, ic, m, ky, kx;
  for (oy = 0; oy < g.out_h; ++oy) {
    for (ox = 0; ox < g.out_w; ++ox) {
      const int y0 = oy * g.stride_h - g.pad_h;
      const int x0 = ox * g.stride_w - g.pad_w;
      for (ic = 0; ic < g.in_c; ++ic) {
        for (m = 0; m < g.depth_mult; ++m) {
          const int oc = m + ic * g.depth_mult;
          int32_t acc = 0;
          for (ky = 0; ky < g.k_h; ++ky) {
            const int iy = y0 + g.dil_h * ky;
            if (iy < 0 || iy >= g.in_h) continue;
            for (kx = 0; kx < g.k_w; ++kx) {
              const int ix = x0 + g.dil_w * kx;
              if (ix < 0 || ix >= g.in_w) continue;
              acc += MAC16(RD8(w + (ky * g.k_w + kx) * g.out_c + oc),
                           in[(iy * g.in_w + ix) * g.in_c + ic] + g.in_off);
            }
          }
          if (bias) acc += RD32(bias + oc);
          acc = mul_by_qm(acc, RD32(mult + oc), RD8(shift + oc)) + g.out_off;
          out[(oy * g.out_w + ox) * g.out_c + oc] = clamp_s8(acc, g.act_min, g.act_max);
        }
      }
    }
  }
}
