#include "kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LOOKALIKE_X86 1
#endif

int lookalike_cpu_has_avx2_fma(void) {
#ifdef LOOKALIKE_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

static inline float clamp6(float value) { return value < 0 ? 0 : (value > 6 ? 6 : value); }

// ---- portable ----

void lookalike_depthwise_portable(const float *input, const lookalike_depthwise_shape *s, const float *weights,
                                  const float *bias, int clamp_input, int relu6, float *output) {
    const int C = s->channels, K = s->kernel;
    for (int b = 0; b < s->batch; b++) {
        const float *image = input + (size_t)b * s->height * s->width * C;
        for (int oy = 0; oy < s->out_height; oy++) {
            const int y0 = oy * s->stride - s->pad_top;
            const int ky0 = y0 < 0 ? -y0 : 0, ky1 = s->height - y0 < K ? s->height - y0 : K;
            for (int ox = 0; ox < s->out_width; ox++) {
                const int x0 = ox * s->stride - s->pad_left;
                const int kx0 = x0 < 0 ? -x0 : 0, kx1 = s->width - x0 < K ? s->width - x0 : K;
                float *out = output + (((size_t)b * s->out_height + oy) * s->out_width + ox) * C;
                for (int c = 0; c < C; c++) out[c] = bias[c];
                for (int ky = ky0; ky < ky1; ky++) {
                    for (int kx = kx0; kx < kx1; kx++) {
                        const float *in = image + ((size_t)(y0 + ky) * s->width + (x0 + kx)) * C;
                        const float *w = weights + (size_t)(ky * K + kx) * C;
                        if (clamp_input) {
                            for (int c = 0; c < C; c++) out[c] += w[c] * clamp6(in[c]);
                        } else {
                            for (int c = 0; c < C; c++) out[c] += w[c] * in[c];
                        }
                    }
                }
                if (relu6) for (int c = 0; c < C; c++) out[c] = clamp6(out[c]);
            }
        }
    }
}

void lookalike_relu6_portable(float *values, size_t count) {
    for (size_t i = 0; i < count; i++) values[i] = clamp6(values[i]);
}

void lookalike_fill_bias_residual(float *values, size_t rows, size_t columns, const float *bias, const float *residual) {
    for (size_t r = 0; r < rows; r++) {
        float *row = values + r * columns;
        const float *in = residual + r * columns;
        for (size_t c = 0; c < columns; c++) row[c] = bias[c] + in[c];
    }
}

// ---- AVX2 + FMA ----

#ifdef LOOKALIKE_X86
#define AVX2 __attribute__((target("avx2,fma")))

AVX2 static inline __m256 load_input(const float *p, int clamp_input, __m256 zero, __m256 six) {
    __m256 v = _mm256_loadu_ps(p);
    return clamp_input ? _mm256_min_ps(_mm256_max_ps(v, zero), six) : v;
}

// Four output pixels of one row and one block of 8 channels, all taps inside the image along x (rows ky0..ky1).
AVX2 static inline void depthwise_four(const float *corner, size_t pixel_step, size_t row_step, size_t channels,
                                       const float *w, const float *bias, int K, int ky0, int ky1, int clamp_input,
                                       int relu6, float *out, size_t out_step) {
    const __m256 zero = _mm256_setzero_ps(), six = _mm256_set1_ps(6);
    __m256 a0 = _mm256_loadu_ps(bias), a1 = a0, a2 = a0, a3 = a0;
    for (int ky = ky0; ky < ky1; ky++) {
        const float *row = corner + ky * row_step;
        const float *wrow = w + (size_t)ky * K * channels;
        for (int kx = 0; kx < K; kx++) {
            const __m256 weight = _mm256_loadu_ps(wrow + kx * channels);
            const float *p = row + kx * channels;
            a0 = _mm256_fmadd_ps(weight, load_input(p, clamp_input, zero, six), a0);
            a1 = _mm256_fmadd_ps(weight, load_input(p + pixel_step, clamp_input, zero, six), a1);
            a2 = _mm256_fmadd_ps(weight, load_input(p + 2 * pixel_step, clamp_input, zero, six), a2);
            a3 = _mm256_fmadd_ps(weight, load_input(p + 3 * pixel_step, clamp_input, zero, six), a3);
        }
    }
    if (relu6) {
        a0 = _mm256_min_ps(_mm256_max_ps(a0, zero), six);
        a1 = _mm256_min_ps(_mm256_max_ps(a1, zero), six);
        a2 = _mm256_min_ps(_mm256_max_ps(a2, zero), six);
        a3 = _mm256_min_ps(_mm256_max_ps(a3, zero), six);
    }
    _mm256_storeu_ps(out, a0);
    _mm256_storeu_ps(out + out_step, a1);
    _mm256_storeu_ps(out + 2 * out_step, a2);
    _mm256_storeu_ps(out + 3 * out_step, a3);
}

// One output pixel and one block of 8 channels over the given tap ranges.
AVX2 static inline void depthwise_one(const float *corner, size_t row_step, size_t channels, const float *w,
                                      const float *bias, int K, int ky0, int ky1, int kx0, int kx1, int clamp_input,
                                      int relu6, float *out) {
    const __m256 zero = _mm256_setzero_ps(), six = _mm256_set1_ps(6);
    __m256 a = _mm256_loadu_ps(bias);
    for (int ky = ky0; ky < ky1; ky++) {
        for (int kx = kx0; kx < kx1; kx++) {
            a = _mm256_fmadd_ps(_mm256_loadu_ps(w + ((size_t)ky * K + kx) * channels),
                                load_input(corner + ky * row_step + kx * channels, clamp_input, zero, six), a);
        }
    }
    if (relu6) a = _mm256_min_ps(_mm256_max_ps(a, zero), six);
    _mm256_storeu_ps(out, a);
}

AVX2 void lookalike_depthwise_avx2(const float *input, const lookalike_depthwise_shape *s, const float *weights,
                                   const float *bias, int clamp_input, int relu6, float *output) {
    const int C = s->channels, K = s->kernel, S = s->stride;
    const int vector_channels = C & ~7;
    const size_t row_step = (size_t)s->width * C, pixel_step = (size_t)S * C;
    for (int b = 0; b < s->batch; b++) {
        const float *image = input + (size_t)b * s->height * row_step;
        for (int oy = 0; oy < s->out_height; oy++) {
            const int y0 = oy * S - s->pad_top;
            const int ky0 = y0 < 0 ? -y0 : 0, ky1 = s->height - y0 < K ? s->height - y0 : K;
            float *out_row = output + ((size_t)b * s->out_height + oy) * s->out_width * C;
            int ox = 0;
            while (ox < s->out_width) {
                const int x0 = ox * S - s->pad_left;
                float *out = out_row + (size_t)ox * C;
                // The image row's pointer arithmetic may point before the row for padded taps; those are skipped.
                const float *corner = image + (ptrdiff_t)y0 * (ptrdiff_t)row_step + (ptrdiff_t)x0 * C;
                if (ox + 4 <= s->out_width && x0 >= 0 && x0 + 3 * S + K <= s->width) {
                    for (int c = 0; c < vector_channels; c += 8) {
                        depthwise_four(corner + c, pixel_step, row_step, C, weights + c, bias + c, K, ky0, ky1,
                                       clamp_input, relu6, out + c, C);
                    }
                    for (int lane = 0; lane < 4 && vector_channels < C; lane++) {
                        for (int c = vector_channels; c < C; c++) {
                            float sum = bias[c];
                            for (int ky = ky0; ky < ky1; ky++)
                                for (int kx = 0; kx < K; kx++) {
                                    float v = corner[lane * pixel_step + ky * row_step + kx * C + c];
                                    sum += weights[((size_t)ky * K + kx) * C + c] * (clamp_input ? clamp6(v) : v);
                                }
                            out[lane * C + c] = relu6 ? clamp6(sum) : sum;
                        }
                    }
                    ox += 4;
                } else {
                    const int kx0 = x0 < 0 ? -x0 : 0, kx1 = s->width - x0 < K ? s->width - x0 : K;
                    for (int c = 0; c < vector_channels; c += 8) {
                        depthwise_one(corner + c, row_step, C, weights + c, bias + c, K, ky0, ky1, kx0, kx1,
                                      clamp_input, relu6, out + c);
                    }
                    for (int c = vector_channels; c < C; c++) {
                        float sum = bias[c];
                        for (int ky = ky0; ky < ky1; ky++)
                            for (int kx = kx0; kx < kx1; kx++) {
                                float v = corner[ky * row_step + kx * C + c];
                                sum += weights[((size_t)ky * K + kx) * C + c] * (clamp_input ? clamp6(v) : v);
                            }
                        out[c] = relu6 ? clamp6(sum) : sum;
                    }
                    ox += 1;
                }
            }
        }
    }
}

AVX2 void lookalike_relu6_avx2(float *values, size_t count) {
    const __m256 zero = _mm256_setzero_ps(), six = _mm256_set1_ps(6);
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        _mm256_storeu_ps(values + i, _mm256_min_ps(_mm256_max_ps(_mm256_loadu_ps(values + i), zero), six));
    }
    for (; i < count; i++) values[i] = clamp6(values[i]);
}


#else
// Not x86: the "AVX2" entry points are the portable ones (callers check lookalike_cpu_has_avx2_fma first).
void lookalike_depthwise_avx2(const float *input, const lookalike_depthwise_shape *s, const float *weights,
                              const float *bias, int clamp_input, int relu6, float *output) {
    lookalike_depthwise_portable(input, s, weights, bias, clamp_input, relu6, output);
}
void lookalike_relu6_avx2(float *values, size_t count) { lookalike_relu6_portable(values, count); }
#endif
