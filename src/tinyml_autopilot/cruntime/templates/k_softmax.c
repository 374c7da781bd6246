/* SOFTMAX int8 -> int8 (reference_ops::Softmax with gemmlowp fixed point). */
static const int32_t k_exp_mults[7] MODEL_CONST = {
    1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};

static int32_t sat_shl(int32_t x, int exponent) {
  const int32_t threshold = (int32_t)(((uint32_t)1 << (31 - exponent)) - 1u);
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return (int32_t)((uint32_t)x << exponent);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out. */
static int32_t exp_quarter(int32_t a) {
  const int32_t c_term = 1895147668;
  const int32_t c_third = 715827883;
  const int32_t x = a + ((int32_t)1 << 28);
  const int32_t x2 = srdhm(x, x);
  const int32_t x3 = srdhm(x2, x);
  const int32_t x4 = srdhm(x2, x2);
  const int32_t x4_4 = rdpot(x4, 2);
  const int32_t poly = rdpot(srdhm(x4_4 + x3, c_third) + x2, 1);
  return c_term + srdhm(c_term, x + poly);
}

/* exp(a) for a <= 0; a in Q5.26, result in Q0.31. */
static int32_t exp_neg(int32_t a) {
  const int32_t quarter = (int32_t)1 << 24;
  const int32_t amq = (a & (quarter - 1)) - quarter;
  const int32_t remainder = amq - a;
  int32_t result = exp_quarter(sat_shl(amq, 5));
  uint32_t bit = (uint32_t)1 << 24;
  int k;
  for (k = 0; k < 7; ++k, bit <<= 1) {
    if ((uint32_t)remainder & bit) result = srdhm(result, RD32(k_exp_mults + k));
  }
  return a == 0 ? INT32_MAX : result;
}

static int32_t one_over_one_plus_x(int32_t a) {
  const int64_t sum = (int64_t)a + (int64_t)INT32_MAX;
  const int32_t half_den = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
  int32_t x = 1515870810 + srdhm(half_den, -1010580540);
  int i;
  for (i = 0; i < 3; ++i) {
    const int32_t one_minus = ((int32_t)1 << 29) - srdhm(half_den, x);
    x = x + sat_shl(srdhm(x, one_minus), 2);
  }
  return sat_shl(x, 1);
}

static int clz32(uint32_t x) {
  int n = 0;
  if (x == 0) return 32;
  while (!(x & 0x80000000UL)) {
    x <<= 1;
    ++n;
  }
  return n;
}

static void softmax_s8(const int8_t *in, int8_t *out, int rows, int depth, int32_t mult,
                       int left_shift, int32_t diff_min) {
  int r, c;
  for (r = 0; r < rows; ++r) {
    const int8_t *x = in + (int32_t)r * depth;
    int8_t *y = out + (int32_t)r * depth;
    int8_t mx = -128;
    int32_t sum = 0;
    int headroom, bits_over_unit, exponent;
    int32_t scale;
    for (c = 0; c < depth; ++c) if (x[c] > mx) mx = x[c];
    for (c = 0; c < depth; ++c) {
      const int32_t diff = (int32_t)x[c] - mx;
      if (diff >= diff_min) {
        const int32_t s = srdhm((int32_t)((uint32_t)diff << left_shift), mult);
        sum += rdpot(exp_neg(s), 12);
      }
    }
    headroom = clz32((uint32_t)sum);
    bits_over_unit = 12 - headroom;
    scale = one_over_one_plus_x(
        (int32_t)(((uint32_t)sum << headroom) - ((uint32_t)1 << 31)));
    exponent = bits_over_unit + 31 - 8;
    for (c = 0; c < depth; ++c) {
      const int32_t diff = (int32_t)x[c] - mx;
      if (diff >= diff_min) {
        const int32_t s = srdhm((int32_t)((uint32_t)diff << left_shift), mult);
        const int32_t v = rdpot(srdhm(scale, exp_neg(s)), exponent) - 128;
        y[c] = clamp_s8(v, -128, 127);
      } else {
        y[c] = -128;
      }
    }
  }
}
