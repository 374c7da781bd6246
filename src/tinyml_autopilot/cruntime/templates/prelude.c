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
