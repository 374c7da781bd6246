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
#define MAC16(w, xv) ((int32_t)(int16_t)((int16_t)(w) * (int16_t)(xv)))
