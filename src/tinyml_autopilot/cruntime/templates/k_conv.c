/* CONV_2D int8 per-channel (reference_integer_ops::ConvPerChannel), NHWC, batch 1. `acc0`
 * holds each output channel's bias plus input offset times the sum of its weights, so the
 * inner loops multiply raw inputs; at the padded borders the taps that fall outside give
 * back offset times their weights (the reference skips them). */
typedef struct {
  int16_t in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w, filt_c;
  int16_t stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
  int16_t in_off, out_off, act_min, act_max;
} conv_geom_t;

/* Taps of one filter row at a border: the part inside the image, minus offset times the rest. */
static int32_t conv_border_row(const conv_geom_t *g, const int8_t *in, const int8_t *wr, int iy,
                               int x0, int cbase) {
  const int taps = g->k_w * g->filt_c;
  int32_t acc = 0, pad = 0;
  int kx;
  if (iy < 0 || iy >= g->in_h) return -(int32_t)g->in_off * wsum_s8(wr, taps);
  if (g->dil_w == 1 && g->filt_c == g->in_c) { /* the row's taps are contiguous */
    const int kx0 = x0 < 0 ? -x0 : 0;
    const int kx1 = g->k_w < g->in_w - x0 ? g->k_w : g->in_w - x0;
    if (kx1 <= kx0) return -(int32_t)g->in_off * wsum_s8(wr, taps);
    acc = dot_s8(wr + kx0 * g->filt_c, in + (iy * g->in_w + x0 + kx0) * g->in_c,
                 (kx1 - kx0) * g->filt_c);
    pad = wsum_s8(wr, kx0 * g->filt_c) + wsum_s8(wr + kx1 * g->filt_c, (g->k_w - kx1) * g->filt_c);
    return acc - (int32_t)g->in_off * pad;
  }
  for (kx = 0; kx < g->k_w; ++kx, wr += g->filt_c) {
    const int ix = x0 + g->dil_w * kx;
    if (ix < 0 || ix >= g->in_w) {
      pad += wsum_s8(wr, g->filt_c);
    } else {
      acc += dot_s8(wr, in + (iy * g->in_w + ix) * g->in_c + cbase, g->filt_c);
    }
  }
  return acc - (int32_t)g->in_off * pad;
}

/* Outside 8-bit cores a border position whose filter rows are contiguous copies its taps into
 * a patch, the outside ones set to the input zero point (whose products cancel the fold). */
#if !defined(MODEL_CONV_PATCH)
#if defined(MODEL_SHARED_KERNELS)
#define MODEL_CONV_PATCH 0
#else
#define MODEL_CONV_PATCH 256
#endif
#endif

MODEL_KERNEL void conv_s8(const int8_t *in, int8_t *out, const int8_t *w, const int32_t *acc0,
                          const int32_t *mult, const int8_t *shift, const conv_geom_t *gp) {
  conv_geom_t g;
  LOAD_CONST(&g, gp, sizeof g);
  const int per_group = g.out_c / (g.in_c / g.filt_c);
  const int taps_w = g.k_w * g.filt_c;
  const int filt = g.k_h * taps_w;
  const int row_dot = g.dil_w == 1 && g.filt_c == g.in_c; /* a filter row is one dot product */
  const int in_row_step = g.dil_h * g.in_w * g.in_c;
#if MODEL_CONV_PATCH > 0
  int8_t patch[MODEL_CONV_PATCH];
  const int use_patch = row_dot && filt <= MODEL_CONV_PATCH;
#else
  const int use_patch = 0;
#endif
  int oy, ox, oc, ky, kx;
  for (oy = 0; oy < g.out_h; ++oy) {
    const int y0 = oy * g.stride_h - g.pad_h;
    const int rows_in = y0 >= 0 && y0 + (g.k_h - 1) * g.dil_h < g.in_h;
    for (ox = 0; ox < g.out_w; ++ox) {
      const int x0 = ox * g.stride_w - g.pad_w;
      const int inside = rows_in && x0 >= 0 && x0 + (g.k_w - 1) * g.dil_w < g.in_w;
      const int8_t *wf = w;
      if (row_dot && (inside || use_patch)) {
        const int8_t *xb;
        int row_step;
        if (inside) {
          xb = in + (y0 * g.in_w + x0) * g.in_c;
          row_step = in_row_step;
        } else {
#if MODEL_CONV_PATCH > 0
          const int kx0 = x0 < 0 ? -x0 : 0;
          const int kx1 = g.k_w < g.in_w - x0 ? g.k_w : g.in_w - x0;
          memset(patch, -g.in_off, (size_t)filt);
          for (ky = 0; ky < g.k_h; ++ky) {
            const int iy = y0 + g.dil_h * ky;
            if (iy >= 0 && iy < g.in_h && kx1 > kx0) {
              memcpy(patch + ky * taps_w + kx0 * g.in_c,
                     in + (iy * g.in_w + x0 + kx0) * g.in_c, (size_t)(kx1 - kx0) * g.in_c);
            }
          }
          xb = patch;
#else
          xb = in;
#endif
          row_step = taps_w;
        }
        for (oc = 0; oc < g.out_c; oc += MODEL_PAIRS, wf += MODEL_PAIRS * filt) {
          const int8_t *xr = xb;
          const int8_t *wr = wf;
          int32_t a0 = RD32(acc0 + oc);
          if (MODEL_PAIRS == 2 && oc + 1 < g.out_c) {
            int32_t a1 = RD32(acc0 + oc + 1);
            for (ky = 0; ky < g.k_h; ++ky, xr += row_step, wr += taps_w) {
              dot2_s8(wr, wr + filt, xr, taps_w, &a0, &a1);
            }
            a1 = mul_by_qm(a1, RD32(mult + oc + 1), RD8(shift + oc + 1)) + g.out_off;
            out[1] = clamp_s8(a1, g.act_min, g.act_max);
          } else {
            for (ky = 0; ky < g.k_h; ++ky, xr += row_step, wr += taps_w) {
              a0 += dot_s8(wr, xr, taps_w);
            }
          }
          a0 = mul_by_qm(a0, RD32(mult + oc), RD8(shift + oc)) + g.out_off;
          out[0] = clamp_s8(a0, g.act_min, g.act_max);
          out += MODEL_PAIRS == 2 && oc + 1 < g.out_c ? 2 : 1;
        }
        continue;
      }
      for (oc = 0; oc < g.out_c; ++oc, wf += filt) {
        const int cbase = (oc / per_group) * g.filt_c;
        int32_t acc = RD32(acc0 + oc);
        if (inside) {
          const int8_t *xr = in + (y0 * g.in_w + x0) * g.in_c + cbase;
          for (ky = 0; ky < g.k_h; ++ky, xr += in_row_step) {
            for (kx = 0; kx < g.k_w; ++kx) {
              acc += dot_s8(wf + ky * taps_w + kx * g.filt_c, xr + kx * g.dil_w * g.in_c,
                            g.filt_c);
            }
          }
        } else {
          for (ky = 0; ky < g.k_h; ++ky) {
            acc += conv_border_row(&g, in, wf + ky * taps_w, y0 + g.dil_h * ky, x0, cbase);
          }
        }
        acc = mul_by_qm(acc, RD32(mult + oc), RD8(shift + oc)) + g.out_off;
        *out++ = clamp_s8(acc, g.act_min, g.act_max);
      }
    }
  }
}
