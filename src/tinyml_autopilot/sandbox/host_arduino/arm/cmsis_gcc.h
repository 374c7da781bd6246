// Cortex-M4 builds: besides what the portable stand-in gives, the board core's cmsis_gcc.h gives CMSIS-NN
// the DSP (SIMD32) instructions it uses when __ARM_FEATURE_DSP is set. Here they are GCC's ACLE intrinsics,
// and CMSIS's own C forms of PKHBT/PKHTB (the compiler emits the instructions).
#ifndef TINYML_ARM_CMSIS_GCC_H
#define TINYML_ARM_CMSIS_GCC_H
#include_next <cmsis_gcc.h>
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
__STATIC_FORCEINLINE uint32_t __SMLAD(uint32_t a, uint32_t b, uint32_t c) {
  return (uint32_t)__smlad((int16x2_t)a, (int16x2_t)b, (int32_t)c);
}
__STATIC_FORCEINLINE uint32_t __SXTB16(uint32_t a) { return (uint32_t)__sxtb16((int8x4_t)a); }
__STATIC_FORCEINLINE uint32_t __SXTAB16(uint32_t a, uint32_t b) {
  return (uint32_t)__sxtab16((int16x2_t)a, (int8x4_t)b);
}
__STATIC_FORCEINLINE uint32_t __SADD16(uint32_t a, uint32_t b) {
  return (uint32_t)__sadd16((int16x2_t)a, (int16x2_t)b);
}
__STATIC_FORCEINLINE uint32_t __QADD16(uint32_t a, uint32_t b) {
  return (uint32_t)__qadd16((int16x2_t)a, (int16x2_t)b);
}
__STATIC_FORCEINLINE uint32_t __QSUB16(uint32_t a, uint32_t b) {
  return (uint32_t)__qsub16((int16x2_t)a, (int16x2_t)b);
}
__STATIC_FORCEINLINE uint32_t __QSUB8(uint32_t a, uint32_t b) { return (uint32_t)__qsub8((int8x4_t)a, (int8x4_t)b); }
__STATIC_FORCEINLINE int32_t __QADD(int32_t a, int32_t b) { return __qadd(a, b); }
// The rest CMSIS-DSP's headers use, in CMSIS's signatures.
#define TINYML_ACLE2(NAME, fn) \
  __STATIC_FORCEINLINE uint32_t NAME(uint32_t a, uint32_t b) { return (uint32_t)fn((int32_t)a, (int32_t)b); }
#define TINYML_ACLE3(NAME, fn) __STATIC_FORCEINLINE uint32_t NAME(uint32_t a, uint32_t b, uint32_t c) { \
  return (uint32_t)fn((int32_t)a, (int32_t)b, (int32_t)c); }
TINYML_ACLE2(__QADD8, __qadd8)
TINYML_ACLE2(__QASX, __qasx)
TINYML_ACLE2(__QSAX, __qsax)
TINYML_ACLE2(__SHADD16, __shadd16)
TINYML_ACLE2(__SHASX, __shasx)
TINYML_ACLE2(__SHSAX, __shsax)
TINYML_ACLE2(__SHSUB16, __shsub16)
TINYML_ACLE2(__SMUAD, __smuad)
TINYML_ACLE2(__SMUADX, __smuadx)
TINYML_ACLE2(__SMUSD, __smusd)
TINYML_ACLE2(__SMUSDX, __smusdx)
TINYML_ACLE3(__SMLADX, __smladx)
TINYML_ACLE3(__SMLSDX, __smlsdx)
__STATIC_FORCEINLINE int32_t __QSUB(int32_t a, int32_t b) { return __qsub(a, b); }
__STATIC_FORCEINLINE uint64_t __SMLALD(uint32_t a, uint32_t b, uint64_t c) {
  return (uint64_t)__smlald((int16x2_t)a, (int16x2_t)b, (int64_t)c);
}
__STATIC_FORCEINLINE uint64_t __SMLALDX(uint32_t a, uint32_t b, uint64_t c) {
  return (uint64_t)__smlaldx((int16x2_t)a, (int16x2_t)b, (int64_t)c);
}
__STATIC_FORCEINLINE int32_t __SMMLA(int32_t a, int32_t b, int32_t c) {
  return (int32_t)((((int64_t)c << 32) + (int64_t)a * b) >> 32);
}
#define __SXTB16_RORn(ARG1, ARG2) __SXTB16(__ROR(ARG1, ARG2))
#define __PKHBT(ARG1, ARG2, ARG3) \
  (((((uint32_t)(ARG1))) & 0x0000FFFFUL) | ((((uint32_t)(ARG2)) << (ARG3)) & 0xFFFF0000UL))
#define __PKHTB(ARG1, ARG2, ARG3) \
  (((((uint32_t)(ARG1))) & 0xFFFF0000UL) | ((((uint32_t)(ARG2)) >> (ARG3)) & 0x0000FFFFUL))
#endif
#endif
