#include "vector_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LOOKALIKE_X86 1
#endif

int lookalike_vector_cpu_has_avx2(void) {
#ifdef LOOKALIKE_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

int32_t lookalike_dot_i8_i16_portable(const int8_t *code, const int16_t *query, long count) {
    int32_t sum = 0;
    for (long i = 0; i < count; i++) sum += (int32_t)code[i] * (int32_t)query[i];
    return sum;
}

int32_t lookalike_dot_i8_i8_weighted_portable(const int8_t *a, const int8_t *b, const int16_t *weight, long count) {
    int32_t sum = 0;
    for (long i = 0; i < count; i++) sum += (int32_t)a[i] * (int32_t)b[i] * (int32_t)weight[i];
    return sum;
}

float lookalike_dot_f32_portable(const float *a, const float *b, long count) {
    // Eight partial sums, like the vector version, so the two round alike on long rows.
    float partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    long i = 0;
    for (; i + 8 <= count; i += 8)
        for (int lane = 0; lane < 8; lane++) partial[lane] += a[i + lane] * b[i + lane];
    float sum = 0;
    for (int lane = 0; lane < 8; lane++) sum += partial[lane];
    for (; i < count; i++) sum += a[i] * b[i];
    return sum;
}

void lookalike_prefetch(const void *address, long bytes) {
    const char *p = (const char *)address;
    for (long offset = 0; offset < bytes; offset += 64) __builtin_prefetch(p + offset, 0, 3);
}

#ifdef LOOKALIKE_X86
#define AVX2 __attribute__((target("avx2,fma")))

AVX2 static inline int32_t horizontal_sum_i32(__m256i v) {
    __m128i sum = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    sum = _mm_add_epi32(sum, _mm_shuffle_epi32(sum, _MM_SHUFFLE(1, 0, 3, 2)));
    sum = _mm_add_epi32(sum, _mm_shuffle_epi32(sum, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(sum);
}

AVX2 int32_t lookalike_dot_i8_i16_avx2(const int8_t *code, const int16_t *query, long count) {
    __m256i total0 = _mm256_setzero_si256(), total1 = _mm256_setzero_si256();
    long i = 0;
    for (; i + 32 <= count; i += 32) {
        __m256i c0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(code + i)));
        __m256i c1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(code + i + 16)));
        total0 = _mm256_add_epi32(total0, _mm256_madd_epi16(c0, _mm256_loadu_si256((const __m256i *)(query + i))));
        total1 = _mm256_add_epi32(total1, _mm256_madd_epi16(c1, _mm256_loadu_si256((const __m256i *)(query + i + 16))));
    }
    for (; i + 16 <= count; i += 16) {
        __m256i c0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(code + i)));
        total0 = _mm256_add_epi32(total0, _mm256_madd_epi16(c0, _mm256_loadu_si256((const __m256i *)(query + i))));
    }
    return horizontal_sum_i32(_mm256_add_epi32(total0, total1));
}

AVX2 int32_t lookalike_dot_i8_i8_weighted_avx2(const int8_t *a, const int8_t *b, const int16_t *weight, long count) {
    __m256i total = _mm256_setzero_si256();
    for (long i = 0; i + 16 <= count; i += 16) {
        __m256i x = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + i)));
        __m256i y = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + i)));
        __m256i products = _mm256_mullo_epi16(x, y);  // |x·y| ≤ 16129 fits 16 bits
        total = _mm256_add_epi32(total, _mm256_madd_epi16(products, _mm256_loadu_si256((const __m256i *)(weight + i))));
    }
    return horizontal_sum_i32(total);
}

AVX2 float lookalike_dot_f32_avx2(const float *a, const float *b, long count) {
    __m256 total0 = _mm256_setzero_ps(), total1 = _mm256_setzero_ps();
    long i = 0;
    for (; i + 16 <= count; i += 16) {
        total0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), total0);
        total1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), total1);
    }
    for (; i + 8 <= count; i += 8) total0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), total0);
    __m256 total = _mm256_add_ps(total0, total1);
    __m128 sum = _mm_add_ps(_mm256_castps256_ps128(total), _mm256_extractf128_ps(total, 1));
    sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
    sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
    float result = _mm_cvtss_f32(sum);
    for (; i < count; i++) result += a[i] * b[i];
    return result;
}
#else
int32_t lookalike_dot_i8_i8_weighted_avx2(const int8_t *a, const int8_t *b, const int16_t *weight, long count) {
    return lookalike_dot_i8_i8_weighted_portable(a, b, weight, count);
}
int32_t lookalike_dot_i8_i16_avx2(const int8_t *code, const int16_t *query, long count) {
    return lookalike_dot_i8_i16_portable(code, query, count);
}
float lookalike_dot_f32_avx2(const float *a, const float *b, long count) {
    return lookalike_dot_f32_portable(a, b, count);
}
#endif
