#include <stdint.h>
#include <string.h>

#if defined(__AVR__)
#include <avr/pgmspace.h>
#define MODEL_CONST PROGMEM
#define RD8(p) ((int8_t)pgm_read_byte(p))
#define RD32(p) ((int32_t)pgm_read_dword(p))
#define LOAD_CONST(dst, src, n) memcpy_P((dst), (src), (n))
#else
#define MODEL_CONST
#define RD8(p) (*(p))
#define RD32(p) (*(p))
#define LOAD_CONST(dst, src, n) memcpy((dst), (src), (n))
#endif

/* int8 weight (|w| <= 128) times offset input (|x + offset| <= 255): the product always fits
 * in 16 bits, so an int multiply is exact and uses the AVR's 8x8 hardware multiplier. */
#if defined(__AVR__) && defined(__GNUC__)
/* The empty asm keeps the product 16 bits wide: without it avr-gcc sees that two int8 values
 * cannot overflow and widens the multiply into a 16x16->32 library call, several times slower. */
static inline int32_t mac16_avr(int16_t w, int16_t xv) {
  int16_t p = (int16_t)(w * xv);
  __asm__("" : "+r"(p));
  return p;
}
#define MAC16(w, xv) mac16_avr((int16_t)(w), (int16_t)(xv))
#else
#define MAC16(w, xv) ((int32_t)(int16_t)((int16_t)(w) * (int16_t)(xv)))
#endif

/* Outside 8-bit cores every call of a layer kernel is compiled on its own, so the compiler sees
 * that layer's geometry (a constant array) as constants: loop counts, strides and the channel
 * count are known and the loops unroll. AVR (and MODEL_SHARED_KERNELS) keeps one shared copy
 * for flash. */
#if defined(__AVR__) && !defined(MODEL_SHARED_KERNELS)
#define MODEL_SHARED_KERNELS 1
#endif
#if defined(__GNUC__) && !defined(MODEL_SHARED_KERNELS)
#define MODEL_KERNEL static inline __attribute__((always_inline))
#else
#define MODEL_KERNEL static
#endif
