#pragma once
#include <stdint.h>

// Inner products for the compressed index: 8-bit codes against a 16-bit query, and float rows for exact
// re-ranking. Each has a portable version and, on x86-64, an AVX2 one built with a per-function target attribute;
// the caller picks one with lookalike_vector_cpu_has_avx2(). Integer sums are exact in both, so they agree bit for
// bit; the float sums differ only in rounding order.

#ifdef __cplusplus
extern "C" {
#endif

// 1 when the CPU (and OS) support AVX2 and FMA.
int lookalike_vector_cpu_has_avx2(void);

// Σ code[i] · query[i] over `count` values, a multiple of 16. |code| ≤ 127 and |query| ≤ 32767, so a sum of up to
// 512 products cannot overflow 32 bits.
int32_t lookalike_dot_i8_i16_portable(const int8_t *code, const int16_t *query, long count);
int32_t lookalike_dot_i8_i16_avx2(const int8_t *code, const int16_t *query, long count);

// Σ a[i] · b[i] · weight[i] over `count` values, a multiple of 16: two codes compared with per-coordinate weights.
// |a|, |b| ≤ 127 and 0 ≤ weight ≤ 127, so a sum of up to 512 terms cannot overflow 32 bits.
int32_t lookalike_dot_i8_i8_weighted_portable(const int8_t *a, const int8_t *b, const int16_t *weight, long count);
int32_t lookalike_dot_i8_i8_weighted_avx2(const int8_t *a, const int8_t *b, const int16_t *weight, long count);

// Σ a[i] · b[i] over `count` floats (any count).
float lookalike_dot_f32_portable(const float *a, const float *b, long count);
float lookalike_dot_f32_avx2(const float *a, const float *b, long count);

// Asks for the cache lines of [address, address + bytes) ahead of a read.
void lookalike_prefetch(const void *address, long bytes);

#ifdef __cplusplus
}
#endif
