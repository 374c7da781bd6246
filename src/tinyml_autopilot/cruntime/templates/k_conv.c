/* CONV_2D int8 per-channel (reference_integer_ops::ConvPerChannel), NHWC, batch 1. */
typedef struct {
  int16_t in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w, filt_c;
  int16_t stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
  int16_t in_off, out_off, act_min, act_max;
} conv_geom_t;

static void conv_s8(const int8_t *in, int8_t *out, const int8_t *w, const int32_t *bias,
                    const int32_t *mult, const int8_t *shift, const conv_geom_t *gp) {
  conv_geom_t g;
  LOAD_CONST(&g, gp, sizeof g);
  const int groups = g.in_c / g.filt_c;
  const int per_group = g.out_c / groups;
  const int16_t in_off = g.in_off;
  const int row_dot = g.dil_w == 1 && groups == 1;
  int oy, ox, oc, ky, kx;
  for (oy = 0; oy < g.out_h; ++oy) {
    for (ox = 0; ox < g.out_w; ++ox) {
      const int y0 = oy * g.stride_h - g.pad_h;
      const int x0 = ox * g.stride_w - g.pad_w;
      for (oc = 0; oc < g.out_c; ++oc) {
        const int cbase = (oc / per_group) * g.filt_c;
        int32_t acc = 0;
        for (ky = 0; ky < g.k_h; ++ky) {
          const int iy = y0 + g.dil_h * ky;
          if (iy < 0 || iy >= g.in_h) continue;
          if (row_dot) { /* taps of one filter row are contiguous in input and weights */
            const int kx0 = x0 < 0 ? -x0 : 0;
            const int kx1 = g.k_w < g.in_w - x0 ? g.k_w : g.in_w - x0;
            if (kx1 > kx0) {
              acc += dot_s8(w + ((oc * g.k_h + ky) * g.k_w + kx0) * g.filt_c,
                            in + (iy * g.in_w + x0 + kx0) * g.in_c, (kx1 - kx0) * g.filt_c,
                            in_off);
            }
            continue;
          }
          for (kx = 0; kx < g.k_w; ++kx) {
            const int ix = x0 + g.dil_w * kx;
            const int8_t *xp;
            const int8_t *wp;
            if (ix < 0 || ix >= g.in_w) continue;
            xp = in + (iy * g.in_w + ix) * g.in_c + cbase;
            wp = w + ((oc * g.k_h + ky) * g.k_w + kx) * g.filt_c;
            acc += dot_s8(wp, xp, g.filt_c, in_off);
          }
        }
        if (bias) acc += RD32(bias + oc);
        acc = mul_by_qm(acc, RD32(mult + oc), RD8(shift + oc)) + g.out_off;
        out[(oy * g.out_w + ox) * g.out_c + oc] = clamp_s8(acc, g.act_min, g.act_max);
      }
    }
  }
}
