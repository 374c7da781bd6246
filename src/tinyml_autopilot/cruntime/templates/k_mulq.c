MODEL_KERNEL int32_t mul_by_qm(int32_t x, int32_t multiplier, int shift) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  return rdpot(srdhm((int32_t)((uint32_t)x << left), multiplier), right);
}
