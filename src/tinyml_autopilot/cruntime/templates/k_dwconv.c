/* DEPTHWISE_CONV_2D int8 per-channel (reference_integer_ops::DepthwiseConvPerChannel). `acc0`
 * holds each output channel's bias plus input offset times the sum of its weights; a tap
 * outside the image (the reference skips it) gives back offset times its weight. */
typedef struct {
  int16_t in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w, depth_mult;
  int16_t stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
  int16_t in_off, out_off, act_min, act_max;
} dw_geom_t;

MODEL_KERNEL void dwconv_s8(const int8_t *in, int8_t *out, const int8_t *w, const int32_t *acc0,
                      const int32_t *mult, const int8_t *shift, const dw_geom_t *gp) {
  dw_geom_t g;
  LOAD_CONST(&g, gp, sizeof g);
  const int row_step = g.dil_h * g.in_w * g.in_c;
  const int col_step = g.dil_w * g.in_c;
  int oy, ox, ic, m, ky, kx;
  for (oy = 0; oy < g.out_h; ++oy) {
    const int y0 = oy * g.stride_h - g.pad_h;
    const int rows_in = y0 >= 0 && y0 + (g.k_h - 1) * g.dil_h < g.in_h;
    for (ox = 0; ox < g.out_w; ++ox) {
      const int x0 = ox * g.stride_w - g.pad_w;
      const int inside = rows_in && x0 >= 0 && x0 + (g.k_w - 1) * g.dil_w < g.in_w;
      int oc = 0;
      for (ic = 0; ic < g.in_c; ++ic) {
        for (m = 0; m < g.depth_mult; ++m, ++oc) {
          const int8_t *wp = w + oc;
          int32_t acc = RD32(acc0 + oc);
          if (inside) {
            const int8_t *xr = in + (y0 * g.in_w + x0) * g.in_c + ic;
            for (ky = 0; ky < g.k_h; ++ky, xr += row_step) {
              const int8_t *xp = xr;
              for (kx = 0; kx < g.k_w; ++kx, xp += col_step, wp += g.out_c) {
                acc += MAC16(RD8(wp), *xp);
              }
            }
          } else {
            for (ky = 0; ky < g.k_h; ++ky) {
              const int iy = y0 + g.dil_h * ky;
              for (kx = 0; kx < g.k_w; ++kx, wp += g.out_c) {
                const int ix = x0 + g.dil_w * kx;
                if (iy < 0 || iy >= g.in_h || ix < 0 || ix >= g.in_w) {
                  acc -= MAC16(RD8(wp), g.in_off);
                } else {
                  acc += MAC16(RD8(wp), in[(iy * g.in_w + ix) * g.in_c + ic]);
                }
              }
            }
          }
          acc = mul_by_qm(acc, RD32(mult + oc), RD8(shift + oc)) + g.out_off;
          *out++ = clamp_s8(acc, g.act_min, g.act_max);
        }
      }
    }
  }
}
