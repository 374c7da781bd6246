/* AVERAGE_POOL_2D / MAX_POOL_2D int8 (reference_integer_ops pooling.h), NHWC, batch 1. */
typedef struct {
  int16_t in_h, in_w, ch, out_h, out_w, f_h, f_w, stride_h, stride_w, pad_h, pad_w;
  int16_t act_min, act_max;
} pool_geom_t;

MODEL_KERNEL void pool_s8(const int8_t *in, int8_t *out, const pool_geom_t *gp, int is_max) {
  pool_geom_t g;
  LOAD_CONST(&g, gp, sizeof g);
  int oy, ox, c, fy, fx;
  for (oy = 0; oy < g.out_h; ++oy) {
    for (ox = 0; ox < g.out_w; ++ox) {
      const int y0 = oy * g.stride_h - g.pad_h;
      const int x0 = ox * g.stride_w - g.pad_w;
      const int fy0 = y0 < 0 ? -y0 : 0;
      const int fx0 = x0 < 0 ? -x0 : 0;
      const int fy1 = g.f_h < g.in_h - y0 ? g.f_h : g.in_h - y0;
      const int fx1 = g.f_w < g.in_w - x0 ? g.f_w : g.in_w - x0;
      for (c = 0; c < g.ch; ++c) {
        int32_t acc = is_max ? -128 : 0;
        int16_t count = 0;
        for (fy = fy0; fy < fy1; ++fy) {
          for (fx = fx0; fx < fx1; ++fx) {
            const int32_t v = in[((y0 + fy) * g.in_w + (x0 + fx)) * g.ch + c];
            if (is_max) {
              if (v > acc) acc = v;
            } else {
              acc += v;
            }
            ++count;
          }
        }
        if (!is_max && count > 0) {
          acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
        }
        out[(oy * g.out_w + ox) * g.ch + c] = clamp_s8(acc, g.act_min, g.act_max);
      }
    }
  }
}
