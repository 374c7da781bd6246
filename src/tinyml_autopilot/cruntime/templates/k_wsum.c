/* Sum of n constant weights: the products a padded (out of bounds) input would give are
 * -offset * sum(weights), taken back from the folded constant at the borders only. */
static int32_t wsum_s8(const int8_t *w, int n) {
  int32_t s = 0;
  while (n-- > 0) s += RD8(w++);
  return s;
}
