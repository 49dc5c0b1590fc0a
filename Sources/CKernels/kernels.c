#include <stdlib.h>
#include <string.h>
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

int lookalike_cpu_has_avx512f(void) {
#ifdef LOOKALIKE_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

static inline float clamp6(float value) { return value < 0 ? 0 : (value > 6 ? 6 : value); }

// ---- portable ----

void lookalike_depthwise_rows_portable(const float *rows, const lookalike_depthwise_shape *s, lookalike_row_window window,
                                       const float *weights, const float *bias, int clamp_input, int relu6, float *output) {
    const int C = s->channels, K = s->kernel;
    for (int oy = window.out_row_begin; oy < window.out_row_end; oy++) {
        const int y0 = oy * s->stride - s->pad_top;
        const int ky0 = y0 < 0 ? -y0 : 0, ky1 = s->height - y0 < K ? s->height - y0 : K;
        for (int ox = 0; ox < s->out_width; ox++) {
            const int x0 = ox * s->stride - s->pad_left;
            const int kx0 = x0 < 0 ? -x0 : 0, kx1 = s->width - x0 < K ? s->width - x0 : K;
            float *out = output + ((size_t)(oy - window.out_row_begin) * s->out_width + ox) * C;
            for (int c = 0; c < C; c++) out[c] = bias[c];
            for (int ky = ky0; ky < ky1; ky++) {
                for (int kx = kx0; kx < kx1; kx++) {
                    const float *in = rows + ((size_t)(y0 + ky - window.first_input_row) * s->width + (x0 + kx)) * C;
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

// Every image of the batch, all its rows, through a row-window kernel.
typedef void (*depthwise_rows_fn)(const float *, const lookalike_depthwise_shape *, lookalike_row_window, const float *,
                                  const float *, int, int, float *);
static void depthwise_images(depthwise_rows_fn rows, const float *input, const lookalike_depthwise_shape *s,
                             const float *weights, const float *bias, int clamp_input, int relu6, float *output) {
    const lookalike_row_window whole = {0, 0, s->out_height};
    for (int b = 0; b < s->batch; b++) {
        rows(input + (size_t)b * s->height * s->width * s->channels, s, whole, weights, bias, clamp_input, relu6,
             output + (size_t)b * s->out_height * s->out_width * s->channels);
    }
}

void lookalike_depthwise_portable(const float *input, const lookalike_depthwise_shape *s, const float *weights,
                                  const float *bias, int clamp_input, int relu6, float *output) {
    depthwise_images(lookalike_depthwise_rows_portable, input, s, weights, bias, clamp_input, relu6, output);
}

void lookalike_im2col(const float *input, const lookalike_depthwise_shape *s, float *rows) {
    const int C = s->channels, K = s->kernel;
    float *row = rows;
    for (int b = 0; b < s->batch; b++) {
        const float *image = input + (size_t)b * s->height * s->width * C;
        for (int oy = 0; oy < s->out_height; oy++) {
            for (int ox = 0; ox < s->out_width; ox++) {
                const int x0 = ox * s->stride - s->pad_left;
                const int columns_inside = x0 >= 0 && x0 + K <= s->width;
                for (int ky = 0; ky < K; ky++) {
                    const int y = oy * s->stride - s->pad_top + ky;
                    if (columns_inside && y >= 0 && y < s->height) {
                        // The row's K taps are K·C adjacent input values: one copy, of a literal size for the 3×3
                        // RGB stem so that it compiles to a few vector moves instead of a call per tap.
                        float *target = row + (size_t)ky * K * C;
                        const float *source = image + ((size_t)y * s->width + x0) * C;
                        if (K * C == 9) memcpy(target, source, 9 * sizeof(float));
                        else memcpy(target, source, (size_t)K * C * sizeof(float));
                        continue;
                    }
                    for (int kx = 0; kx < K; kx++) {
                        const int x = ox * s->stride - s->pad_left + kx;
                        float *target = row + (ky * K + kx) * C;
                        if (y >= 0 && y < s->height && x >= 0 && x < s->width) {
                            memcpy(target, image + ((size_t)y * s->width + x) * C, (size_t)C * sizeof(float));
                        } else {
                            memset(target, 0, (size_t)C * sizeof(float));
                        }
                    }
                }
                row += (size_t)K * K * C;
            }
        }
    }
}

void lookalike_relu6_portable(float *values, size_t count) {
    for (size_t i = 0; i < count; i++) values[i] = clamp6(values[i]);
}

void lookalike_relu_portable(float *values, size_t count) {
    for (size_t i = 0; i < count; i++) values[i] = values[i] > 0 ? values[i] : 0;
}

void lookalike_max_pool(const float *input, const lookalike_depthwise_shape *s, float *output) {
    const int C = s->channels, K = s->kernel;
    for (int b = 0; b < s->batch; b++) {
        const float *image = input + (size_t)b * s->height * s->width * C;
        float *out = output + (size_t)b * s->out_height * s->out_width * C;
        for (int oy = 0; oy < s->out_height; oy++) {
            for (int ox = 0; ox < s->out_width; ox++, out += C) {
                int first = 1;
                for (int ky = 0; ky < K; ky++) {
                    const int y = oy * s->stride - s->pad_top + ky;
                    if (y < 0 || y >= s->height) continue;
                    for (int kx = 0; kx < K; kx++) {
                        const int x = ox * s->stride - s->pad_left + kx;
                        if (x < 0 || x >= s->width) continue;
                        const float *source = image + ((size_t)y * s->width + x) * C;
                        if (first) {
                            for (int c = 0; c < C; c++) out[c] = source[c];
                            first = 0;
                        } else {
                            for (int c = 0; c < C; c++) out[c] = source[c] > out[c] ? source[c] : out[c];
                        }
                    }
                }
                if (first) for (int c = 0; c < C; c++) out[c] = 0;  // a window entirely in the padding
            }
        }
    }
}

void lookalike_fill_bias(float *values, size_t rows, size_t columns, const float *bias) {
    for (size_t r = 0; r < rows; r++) {
        float *row = values + r * columns;
        for (size_t c = 0; c < columns; c++) row[c] = bias[c];
    }
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

// Expands CALL(..., inside, clamp) with both as literals, chosen by the run-time flags, so that the depthwise
// kernels' common case (a group wholly inside the row) has no per-vector branches.
#define LOOKALIKE_WITH_LITERALS(interior, clamp_input, CALL, ...) \
    if (interior) { if (clamp_input) { CALL(__VA_ARGS__, 1, 1); } else { CALL(__VA_ARGS__, 1, 0); } } \
    else { if (clamp_input) { CALL(__VA_ARGS__, 0, 1); } else { CALL(__VA_ARGS__, 0, 0); } }

AVX2 static inline __m256 load_input(const float *p, int clamp_input, __m256 zero, __m256 six) {
    __m256 v = _mm256_loadu_ps(p);
    return clamp_input ? _mm256_min_ps(_mm256_max_ps(v, zero), six) : v;
}

// Up to four output pixels of one row (`count`) and one block of 8 channels, over rows ky0..ky1. K and S are
// literals at every call site, so the loops unroll and the 3·S + K input vectors of a row are loaded (and clamped)
// once each and shared by the four outputs, instead of once per tap and output. Input columns outside lo..hi (the
// padding, and past the last output) read as zero, which is what a padded tap contributes.
AVX2 static inline __attribute__((always_inline)) void depthwise_four(
    const float *corner, size_t channels, size_t row_step, const float *w, const float *bias, const int K, const int S,
    int ky0, int ky1, int lo, int hi, int count, const int interior, const int clamp_input, int relu6, float *out) {
    const __m256 zero = _mm256_setzero_ps(), six = _mm256_set1_ps(6);
    __m256 a0 = _mm256_loadu_ps(bias), a1 = a0, a2 = a0, a3 = a0;
    for (int ky = ky0; ky < ky1; ky++) {
        const float *row = corner + ky * row_step;
        const float *wrow = w + (size_t)ky * K * channels;
        __m256 in[3 * 2 + 5];
        for (int i = 0; i < 3 * S + K; i++) {
            in[i] = interior || (i >= lo && i < hi) ? load_input(row + i * channels, clamp_input, zero, six) : zero;
        }
        for (int kx = 0; kx < K; kx++) {
            const __m256 weight = _mm256_loadu_ps(wrow + kx * channels);
            a0 = _mm256_fmadd_ps(weight, in[kx], a0);
            a1 = _mm256_fmadd_ps(weight, in[S + kx], a1);
            a2 = _mm256_fmadd_ps(weight, in[2 * S + kx], a2);
            a3 = _mm256_fmadd_ps(weight, in[3 * S + kx], a3);
        }
    }
    if (relu6) {
        a0 = _mm256_min_ps(_mm256_max_ps(a0, zero), six);
        a1 = _mm256_min_ps(_mm256_max_ps(a1, zero), six);
        a2 = _mm256_min_ps(_mm256_max_ps(a2, zero), six);
        a3 = _mm256_min_ps(_mm256_max_ps(a3, zero), six);
    }
    _mm256_storeu_ps(out, a0);
    if (count > 1) _mm256_storeu_ps(out + channels, a1);
    if (count > 2) _mm256_storeu_ps(out + 2 * channels, a2);
    if (count > 3) _mm256_storeu_ps(out + 3 * channels, a3);
}

// depthwise_four over every block of 8 channels, with K and S as literals for the common shapes.
AVX2 static void depthwise_four_blocks(const float *corner, size_t channels, size_t vector_channels, size_t row_step,
                                       const float *w, const float *bias, int K, int S, int ky0, int ky1, int lo,
                                       int hi, int count, int clamp_input, int relu6, float *out) {
    const int interior = lo == 0 && hi >= 3 * S + K;  // every input column of the group inside the row
#define LOOKALIKE_FOUR_AT(k, s, inside, clamp) \
    for (size_t c = 0; c < vector_channels; c += 8) \
        depthwise_four(corner + c, channels, row_step, w + c, bias + c, k, s, ky0, ky1, lo, hi, count, inside, clamp, \
                       relu6, out + c)
#define LOOKALIKE_FOUR(k, s) LOOKALIKE_WITH_LITERALS(interior, clamp_input, LOOKALIKE_FOUR_AT, k, s)
    if (K == 3 && S == 1) { LOOKALIKE_FOUR(3, 1); }
    else if (K == 3 && S == 2) { LOOKALIKE_FOUR(3, 2); }
    else if (K == 5 && S == 1) { LOOKALIKE_FOUR(5, 1); }
    else { LOOKALIKE_FOUR(5, 2); }
#undef LOOKALIKE_FOUR
#undef LOOKALIKE_FOUR_AT
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

AVX2 void lookalike_depthwise_rows_avx2(const float *rows, const lookalike_depthwise_shape *s, lookalike_row_window window,
                                        const float *weights, const float *bias, int clamp_input, int relu6,
                                        float *output) {
    const int C = s->channels, K = s->kernel, S = s->stride;
    const int vector_channels = C & ~7;
    const size_t row_step = (size_t)s->width * C, pixel_step = (size_t)S * C;
    for (int oy = window.out_row_begin; oy < window.out_row_end; oy++) {
        const int y0 = oy * S - s->pad_top;
        const int ky0 = y0 < 0 ? -y0 : 0, ky1 = s->height - y0 < K ? s->height - y0 : K;
        float *out_row = output + (size_t)(oy - window.out_row_begin) * s->out_width * C;
        int ox = 0;
        while (ox < s->out_width) {
            const int x0 = ox * S - s->pad_left;
            float *out = out_row + (size_t)ox * C;
            // The image row's pointer arithmetic may point before the row for padded taps; those are skipped.
            const float *corner =
                rows + (ptrdiff_t)(y0 - window.first_input_row) * (ptrdiff_t)row_step + (ptrdiff_t)x0 * C;
            if (K == 3 || K == 5) {
                const int count = s->out_width - ox < 4 ? s->out_width - ox : 4;
                const int lo = x0 < 0 ? -x0 : 0, hi = s->width - x0;
                depthwise_four_blocks(corner, C, vector_channels, row_step, weights, bias, K, S, ky0, ky1, lo, hi,
                                      count, clamp_input, relu6, out);
                for (int lane = 0; lane < count && vector_channels < C; lane++) {
                    for (int c = vector_channels; c < C; c++) {
                        float sum = bias[c];
                        for (int ky = ky0; ky < ky1; ky++)
                            for (int kx = 0; kx < K; kx++) {
                                const int column = lane * S + kx;
                                if (column < lo || column >= hi) continue;
                                float v = corner[lane * pixel_step + ky * row_step + kx * C + c];
                                sum += weights[((size_t)ky * K + kx) * C + c] * (clamp_input ? clamp6(v) : v);
                            }
                        out[lane * C + c] = relu6 ? clamp6(sum) : sum;
                    }
                }
                ox += count;
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

AVX2 void lookalike_depthwise_avx2(const float *input, const lookalike_depthwise_shape *s, const float *weights,
                                   const float *bias, int clamp_input, int relu6, float *output) {
    depthwise_images(lookalike_depthwise_rows_avx2, input, s, weights, bias, clamp_input, relu6, output);
}

// ---- AVX-512 F: 16 channels per vector, the channel tail through a mask ----

#define AVX512 __attribute__((target("avx512f")))

AVX512 static inline __attribute__((always_inline)) __m512 load16(const float *p, __mmask16 mask, int clamp_input,
                                                                  __m512 zero, __m512 six) {
    __m512 v = _mm512_maskz_loadu_ps(mask, p);
    return clamp_input ? _mm512_min_ps(_mm512_max_ps(v, zero), six) : v;
}

// As depthwise_four, 16 channels and up to G output pixels at a time (`mask` selects the channels that exist). With
// 32 vector registers, G accumulators and the (G − 1)·S + K input vectors of a row fit for G up to 8, so each input
// vector is loaded and clamped once per row for G outputs. The group size per shape is what scripts/bench-kernels
// measured fastest: at stride 1, 8 (3×3) or 7 (5×5) pixels, or 7 where that divides the row and 8 does not (a
// short last group costs nearly a full one); at stride 2, whose groups need twice the input vectors, 4.
static inline int depthwise_group_size(int kernel, int stride, int out_width) {
    if (stride != 1) return 4;
    if (kernel == 3 && out_width % 8 == 0) return 8;
    if (out_width % 7 == 0) return 7;
    return kernel == 3 ? 8 : 4;
}
AVX512 static inline __attribute__((always_inline)) void depthwise_group16(
    const float *corner, size_t channels, size_t row_step, const float *w, const float *bias, const int K, const int S,
    const int G, int ky0, int ky1, int lo, int hi, int count, __mmask16 mask, const int interior, const int clamp_input,
    int relu6, float *out) {
    const __m512 zero = _mm512_setzero_ps(), six = _mm512_set1_ps(6);
    __m512 acc[8];
    acc[0] = _mm512_maskz_loadu_ps(mask, bias);
    for (int g = 1; g < G; g++) acc[g] = acc[0];
    for (int ky = ky0; ky < ky1; ky++) {
        const float *row = corner + ky * row_step;
        const float *wrow = w + (size_t)ky * K * channels;
        __m512 in[7 * 2 + 5];
        for (int i = 0; i < (G - 1) * S + K; i++) {
            in[i] = interior || (i >= lo && i < hi) ? load16(row + i * channels, mask, clamp_input, zero, six) : zero;
        }
        for (int kx = 0; kx < K; kx++) {
            const __m512 weight = _mm512_maskz_loadu_ps(mask, wrow + kx * channels);
            for (int g = 0; g < G; g++) acc[g] = _mm512_fmadd_ps(weight, in[g * S + kx], acc[g]);
        }
    }
    for (int g = 0; g < G; g++) {
        if (g > 0 && g >= count) break;
        __m512 a = relu6 ? _mm512_min_ps(_mm512_max_ps(acc[g], zero), six) : acc[g];
        _mm512_mask_storeu_ps(out + g * channels, mask, a);
    }
}

AVX512 static void depthwise_group16_blocks(const float *corner, size_t channels, size_t row_step, const float *w,
                                            const float *bias, int K, int S, int G, int ky0, int ky1, int lo, int hi,
                                            int count, int clamp_input, int relu6, float *out) {
    const int interior = lo == 0 && hi >= (G - 1) * S + K;
#define LOOKALIKE_GROUP16_AT(k, s, g, inside, clamp) \
    for (size_t c = 0; c < channels; c += 16) { \
        const __mmask16 mask = channels - c >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (channels - c)) - 1); \
        depthwise_group16(corner + c, channels, row_step, w + c, bias + c, k, s, g, ky0, ky1, lo, hi, count, mask, \
                          inside, clamp, relu6, out + c); \
    }
#define LOOKALIKE_GROUP16(k, s, g) LOOKALIKE_WITH_LITERALS(interior, clamp_input, LOOKALIKE_GROUP16_AT, k, s, g)
    if (S == 1 && K == 3) {
        if (G == 8) { LOOKALIKE_GROUP16(3, 1, 8); } else { LOOKALIKE_GROUP16(3, 1, 7); }
    } else if (S == 1) {
        if (G == 7) { LOOKALIKE_GROUP16(5, 1, 7); } else { LOOKALIKE_GROUP16(5, 1, 4); }
    } else if (K == 3) {
        LOOKALIKE_GROUP16(3, 2, 4);
    } else {
        LOOKALIKE_GROUP16(5, 2, 4);
    }
#undef LOOKALIKE_GROUP16
#undef LOOKALIKE_GROUP16_AT
}

AVX512 void lookalike_depthwise_rows_avx512(const float *rows, const lookalike_depthwise_shape *s,
                                            lookalike_row_window window, const float *weights, const float *bias,
                                            int clamp_input, int relu6, float *output) {
    const int C = s->channels, K = s->kernel, S = s->stride;
    if (K != 3 && K != 5) {  // other kernel sizes: the AVX2 code's general path
        lookalike_depthwise_rows_avx2(rows, s, window, weights, bias, clamp_input, relu6, output);
        return;
    }
    const size_t row_step = (size_t)s->width * C;
    const int G = depthwise_group_size(K, S, s->out_width);
    for (int oy = window.out_row_begin; oy < window.out_row_end; oy++) {
        const int y0 = oy * S - s->pad_top;
        const int ky0 = y0 < 0 ? -y0 : 0, ky1 = s->height - y0 < K ? s->height - y0 : K;
        float *out_row = output + (size_t)(oy - window.out_row_begin) * s->out_width * C;
        for (int ox = 0; ox < s->out_width; ox += G) {
            const int x0 = ox * S - s->pad_left;
            const int count = s->out_width - ox < G ? s->out_width - ox : G;
            const int lo = x0 < 0 ? -x0 : 0, hi = s->width - x0;
            const float *corner =
                rows + (ptrdiff_t)(y0 - window.first_input_row) * (ptrdiff_t)row_step + (ptrdiff_t)x0 * C;
            depthwise_group16_blocks(corner, C, row_step, weights, bias, K, S, G, ky0, ky1, lo, hi, count,
                                     clamp_input, relu6, out_row + (size_t)ox * C);
        }
    }
}

AVX512 void lookalike_depthwise_avx512(const float *input, const lookalike_depthwise_shape *s, const float *weights,
                                       const float *bias, int clamp_input, int relu6, float *output) {
    depthwise_images(lookalike_depthwise_rows_avx512, input, s, weights, bias, clamp_input, relu6, output);
}

// A dense k×k convolution computed directly, for layers with few input channels (a network's stem): for a group of
// P output pixels of a row and CB vectors of output channels, every tap's weights are loaded once and multiplied by
// each pixel's input value, broadcast — P·CB accumulators in registers, no patch matrix. K·K·Cin (the patch) is
// small, so the kernel is bound by its multiply-adds rather than by memory.

// Every output channel of a group of interior pixels (or of one pixel at any position) starting at column ox.
typedef void (*direct_pixels_fn)(const float *image, const lookalike_depthwise_shape *s, const float *weights,
                                 const float *bias, int cout, int oy, int ox, int activation, float *out_row);

// The rows loop of every ISA build: groups of `pixels` columns whose taps all lie inside the row through `group`,
// the columns at the borders one by one through `one`.
static void direct_rows(const float *image, const lookalike_depthwise_shape *s, const float *weights,
                        const float *bias, int out_channels, int activation, int out_row_begin, int out_row_end,
                        float *output, int pixels, direct_pixels_fn group, direct_pixels_fn one) {
    const int K = s->kernel, S = s->stride;
    // Output columns whose taps all lie inside the row: ox·S − pad_left ≥ 0 and ox·S − pad_left + K ≤ width.
    const int inside_first = (s->pad_left + S - 1) / S;
    const int inside_end = s->width - K + s->pad_left >= 0 ? (s->width - K + s->pad_left) / S + 1 : 0;
    for (int oy = out_row_begin; oy < out_row_end; oy++) {
        float *out_row = output + (size_t)(oy - out_row_begin) * s->out_width * out_channels;
        int ox = 0;
        while (ox < s->out_width) {
            const int grouped = ox >= inside_first && ox + pixels <= inside_end;
            (grouped ? group : one)(image, s, weights, bias, out_channels, oy, ox, activation, out_row);
            ox += grouped ? pixels : 1;
        }
    }
}

enum { DIRECT_PIXELS = 8 };

AVX512 static inline __attribute__((always_inline)) __m512 activate16(__m512 v, int activation) {
    if (activation == 0) return v;
    v = _mm512_max_ps(v, _mm512_setzero_ps());
    return activation == 1 ? _mm512_min_ps(v, _mm512_set1_ps(6)) : v;
}

// P pixels whose every tap is inside the row (columns), output channels [co, co + 16·CB).
AVX512 static inline __attribute__((always_inline)) void direct_group(
    const float *image, const lookalike_depthwise_shape *s, const float *weights, const float *bias, int cout,
    int oy, int ox, int co, const int CB, int activation, float *out_row) {
    const int K = s->kernel, S = s->stride, C = s->channels;
    __m512 acc[2][DIRECT_PIXELS];
    for (int b = 0; b < CB; b++) {
        const __m512 start = _mm512_loadu_ps(bias + co + 16 * b);
        for (int p = 0; p < DIRECT_PIXELS; p++) acc[b][p] = start;
    }
    const int y0 = oy * S - s->pad_top, x0 = ox * S - s->pad_left;
    for (int ky = 0; ky < K; ky++) {
        const int y = y0 + ky;
        if (y < 0 || y >= s->height) continue;
        const float *row = image + ((size_t)y * s->width + x0) * C;
        for (int kx = 0; kx < K; kx++) {
            for (int ci = 0; ci < C; ci++) {
                const float *w = weights + ((size_t)(ky * K + kx) * C + ci) * cout + co;
                const __m512 w0 = _mm512_loadu_ps(w), w1 = CB > 1 ? _mm512_loadu_ps(w + 16) : w0;
                for (int p = 0; p < DIRECT_PIXELS; p++) {
                    const __m512 v = _mm512_set1_ps(row[((size_t)p * S + kx) * C + ci]);
                    acc[0][p] = _mm512_fmadd_ps(w0, v, acc[0][p]);
                    if (CB > 1) acc[1][p] = _mm512_fmadd_ps(w1, v, acc[1][p]);
                }
            }
        }
    }
    for (int p = 0; p < DIRECT_PIXELS; p++) {
        for (int b = 0; b < CB; b++) {
            _mm512_storeu_ps(out_row + (size_t)(ox + p) * cout + co + 16 * b, activate16(acc[b][p], activation));
        }
    }
}

// One pixel, any position (taps outside the image skipped), output channels [co, co + 16).
AVX512 static void direct_one(const float *image, const lookalike_depthwise_shape *s, const float *weights,
                              const float *bias, int cout, int oy, int ox, int co, int activation, float *out_row) {
    const int K = s->kernel, S = s->stride, C = s->channels;
    __m512 acc = _mm512_loadu_ps(bias + co);
    const int y0 = oy * S - s->pad_top, x0 = ox * S - s->pad_left;
    for (int ky = 0; ky < K; ky++) {
        const int y = y0 + ky;
        if (y < 0 || y >= s->height) continue;
        for (int kx = 0; kx < K; kx++) {
            const int x = x0 + kx;
            if (x < 0 || x >= s->width) continue;
            const float *in = image + ((size_t)y * s->width + x) * C;
            for (int ci = 0; ci < C; ci++) {
                acc = _mm512_fmadd_ps(_mm512_loadu_ps(weights + ((size_t)(ky * K + kx) * C + ci) * cout + co),
                                      _mm512_set1_ps(in[ci]), acc);
            }
        }
    }
    _mm512_storeu_ps(out_row + (size_t)ox * cout + co, activate16(acc, activation));
}

AVX512 static void direct_group_channels(const float *image, const lookalike_depthwise_shape *s, const float *weights,
                                         const float *bias, int cout, int oy, int ox, int activation, float *out_row) {
    int co = 0;
    for (; co + 32 <= cout; co += 32) direct_group(image, s, weights, bias, cout, oy, ox, co, 2, activation, out_row);
    for (; co < cout; co += 16) direct_group(image, s, weights, bias, cout, oy, ox, co, 1, activation, out_row);
}

AVX512 static void direct_one_channels(const float *image, const lookalike_depthwise_shape *s, const float *weights,
                                       const float *bias, int cout, int oy, int ox, int activation, float *out_row) {
    for (int co = 0; co < cout; co += 16) direct_one(image, s, weights, bias, cout, oy, ox, co, activation, out_row);
}

void lookalike_direct_convolution_rows_avx512(const float *image, const lookalike_depthwise_shape *s,
                                              const float *weights, const float *bias, int out_channels, int activation,
                                              int out_row_begin, int out_row_end, float *output) {
    direct_rows(image, s, weights, bias, out_channels, activation, out_row_begin, out_row_end, output, DIRECT_PIXELS,
                direct_group_channels, direct_one_channels);
}

AVX2 void lookalike_relu6_avx2(float *values, size_t count) {
    const __m256 zero = _mm256_setzero_ps(), six = _mm256_set1_ps(6);
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        _mm256_storeu_ps(values + i, _mm256_min_ps(_mm256_max_ps(_mm256_loadu_ps(values + i), zero), six));
    }
    for (; i < count; i++) values[i] = clamp6(values[i]);
}

AVX2 void lookalike_relu_avx2(float *values, size_t count) {
    const __m256 zero = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= count; i += 8) _mm256_storeu_ps(values + i, _mm256_max_ps(_mm256_loadu_ps(values + i), zero));
    for (; i < count; i++) values[i] = values[i] > 0 ? values[i] : 0;
}

// The AVX2 build of the direct convolution above: 16 ymm registers hold DIRECT2_PIXELS pixels × two vectors of 8
// output channels (12 accumulators), the tap's two weight vectors and the broadcast input value.
enum { DIRECT2_PIXELS = 6 };

AVX2 static inline __attribute__((always_inline)) __m256 activate8(__m256 v, int activation) {
    if (activation == 0) return v;
    v = _mm256_max_ps(v, _mm256_setzero_ps());
    return activation == 1 ? _mm256_min_ps(v, _mm256_set1_ps(6)) : v;
}

// DIRECT2_PIXELS pixels whose every tap is inside the row (columns), output channels [co, co + 16).
AVX2 static inline __attribute__((always_inline)) void direct_group_avx2(
    const float *image, const lookalike_depthwise_shape *s, const float *weights, const float *bias, int cout,
    int oy, int ox, int co, int activation, float *out_row) {
    const int K = s->kernel, S = s->stride, C = s->channels;
    __m256 acc0[DIRECT2_PIXELS], acc1[DIRECT2_PIXELS];
    const __m256 start0 = _mm256_loadu_ps(bias + co), start1 = _mm256_loadu_ps(bias + co + 8);
    for (int p = 0; p < DIRECT2_PIXELS; p++) { acc0[p] = start0; acc1[p] = start1; }
    const int y0 = oy * S - s->pad_top, x0 = ox * S - s->pad_left;
    for (int ky = 0; ky < K; ky++) {
        const int y = y0 + ky;
        if (y < 0 || y >= s->height) continue;
        const float *row = image + ((size_t)y * s->width + x0) * C;
        for (int kx = 0; kx < K; kx++) {
            for (int ci = 0; ci < C; ci++) {
                const float *w = weights + ((size_t)(ky * K + kx) * C + ci) * cout + co;
                const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8);
                for (int p = 0; p < DIRECT2_PIXELS; p++) {
                    const __m256 v = _mm256_broadcast_ss(row + ((size_t)p * S + kx) * C + ci);
                    acc0[p] = _mm256_fmadd_ps(w0, v, acc0[p]);
                    acc1[p] = _mm256_fmadd_ps(w1, v, acc1[p]);
                }
            }
        }
    }
    for (int p = 0; p < DIRECT2_PIXELS; p++) {
        float *out = out_row + (size_t)(ox + p) * cout + co;
        _mm256_storeu_ps(out, activate8(acc0[p], activation));
        _mm256_storeu_ps(out + 8, activate8(acc1[p], activation));
    }
}

// One pixel, any position (taps outside the image skipped), output channels [co, co + 16).
AVX2 static void direct_one_avx2(const float *image, const lookalike_depthwise_shape *s, const float *weights,
                                 const float *bias, int cout, int oy, int ox, int co, int activation, float *out_row) {
    const int K = s->kernel, S = s->stride, C = s->channels;
    __m256 acc0 = _mm256_loadu_ps(bias + co), acc1 = _mm256_loadu_ps(bias + co + 8);
    const int y0 = oy * S - s->pad_top, x0 = ox * S - s->pad_left;
    for (int ky = 0; ky < K; ky++) {
        const int y = y0 + ky;
        if (y < 0 || y >= s->height) continue;
        for (int kx = 0; kx < K; kx++) {
            const int x = x0 + kx;
            if (x < 0 || x >= s->width) continue;
            const float *in = image + ((size_t)y * s->width + x) * C;
            for (int ci = 0; ci < C; ci++) {
                const float *w = weights + ((size_t)(ky * K + kx) * C + ci) * cout + co;
                const __m256 v = _mm256_set1_ps(in[ci]);
                acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(w), v, acc0);
                acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + 8), v, acc1);
            }
        }
    }
    _mm256_storeu_ps(out_row + (size_t)ox * cout + co, activate8(acc0, activation));
    _mm256_storeu_ps(out_row + (size_t)ox * cout + co + 8, activate8(acc1, activation));
}

AVX2 static void direct_group_channels_avx2(const float *image, const lookalike_depthwise_shape *s, const float *weights,
                                            const float *bias, int cout, int oy, int ox, int activation, float *out_row) {
    for (int co = 0; co < cout; co += 16) direct_group_avx2(image, s, weights, bias, cout, oy, ox, co, activation, out_row);
}

AVX2 static void direct_one_channels_avx2(const float *image, const lookalike_depthwise_shape *s, const float *weights,
                                          const float *bias, int cout, int oy, int ox, int activation, float *out_row) {
    for (int co = 0; co < cout; co += 16) direct_one_avx2(image, s, weights, bias, cout, oy, ox, co, activation, out_row);
}

void lookalike_direct_convolution_rows_avx2(const float *image, const lookalike_depthwise_shape *s,
                                            const float *weights, const float *bias, int out_channels, int activation,
                                            int out_row_begin, int out_row_end, float *output) {
    direct_rows(image, s, weights, bias, out_channels, activation, out_row_begin, out_row_end, output, DIRECT2_PIXELS,
                direct_group_channels_avx2, direct_one_channels_avx2);
}


#else
// Not x86: the "AVX2" entry points are the portable ones (callers check lookalike_cpu_has_avx2_fma first).
void lookalike_depthwise_avx2(const float *input, const lookalike_depthwise_shape *s, const float *weights,
                              const float *bias, int clamp_input, int relu6, float *output) {
    lookalike_depthwise_portable(input, s, weights, bias, clamp_input, relu6, output);
}
void lookalike_relu6_avx2(float *values, size_t count) { lookalike_relu6_portable(values, count); }
void lookalike_relu_avx2(float *values, size_t count) { lookalike_relu_portable(values, count); }
void lookalike_depthwise_avx512(const float *input, const lookalike_depthwise_shape *s, const float *weights,
                                const float *bias, int clamp_input, int relu6, float *output) {
    lookalike_depthwise_portable(input, s, weights, bias, clamp_input, relu6, output);
}
void lookalike_depthwise_rows_avx2(const float *rows, const lookalike_depthwise_shape *s, lookalike_row_window window,
                                   const float *weights, const float *bias, int clamp_input, int relu6, float *output) {
    lookalike_depthwise_rows_portable(rows, s, window, weights, bias, clamp_input, relu6, output);
}
void lookalike_direct_convolution_rows_avx512(const float *image, const lookalike_depthwise_shape *s,
                                              const float *weights, const float *bias, int out_channels, int activation,
                                              int out_row_begin, int out_row_end, float *output) {
    (void)image; (void)s; (void)weights; (void)bias; (void)out_channels; (void)activation; (void)out_row_begin;
    (void)out_row_end; (void)output;
    abort();  // never called: no CPU here runs the avx512 variant
}
void lookalike_depthwise_rows_avx512(const float *rows, const lookalike_depthwise_shape *s, lookalike_row_window window,
                                     const float *weights, const float *bias, int clamp_input, int relu6, float *output) {
    lookalike_depthwise_rows_portable(rows, s, window, weights, bias, clamp_input, relu6, output);
}
void lookalike_direct_convolution_rows_avx2(const float *image, const lookalike_depthwise_shape *s,
                                            const float *weights, const float *bias, int out_channels, int activation,
                                            int out_row_begin, int out_row_end, float *output) {
    (void)image; (void)s; (void)weights; (void)bias; (void)out_channels; (void)activation; (void)out_row_begin;
    (void)out_row_end; (void)output;
    abort();  // never called: no CPU here runs the avx2 variant
}
#endif
