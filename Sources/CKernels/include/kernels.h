#pragma once
#include <stddef.h>

// Hot loops of the CNN that Swift compiles only for baseline x86-64 (4-wide SSE). Each kernel has a portable C
// version and, on x86-64, an AVX2 + FMA version built with a per-function target attribute; the caller picks one
// with lookalike_cpu_has_avx2_fma(). Both compute the same sums in the same order per output value, apart from
// fused multiply-add rounding.

#ifdef __cplusplus
extern "C" {
#endif

// 1 when the CPU (and OS) support AVX2 and FMA; AVX-512 F.
int lookalike_cpu_has_avx2_fma(void);
int lookalike_cpu_has_avx512f(void);

// The geometry of a k×k convolution over NHWC activations with "SAME" padding (depthwise, or the im2col of a dense one).
typedef struct {
    int batch, height, width, channels;
    int kernel, stride;
    int pad_top, pad_left;
    int out_height, out_width;
} lookalike_depthwise_shape;

// output[b, oy, ox, c] = bias[c] + Σ weights[ky, kx, c] · f(input[b, oy·s − pad_top + ky, ox·s − pad_left + kx, c]),
// taps outside the image skipped; f clamps to [0, 6] when clamp_input (the previous layer's ReLU6, applied on
// read), else is the identity; the sum is clamped to [0, 6] when relu6.
void lookalike_depthwise_portable(const float *input, const lookalike_depthwise_shape *shape, const float *weights,
                                  const float *bias, int clamp_input, int relu6, float *output);
void lookalike_depthwise_avx2(const float *input, const lookalike_depthwise_shape *shape, const float *weights,
                              const float *bias, int clamp_input, int relu6, float *output);
void lookalike_depthwise_avx512(const float *input, const lookalike_depthwise_shape *shape, const float *weights,
                                const float *bias, int clamp_input, int relu6, float *output);

// Output rows [out_row_begin, out_row_end) of one image (shape->batch is ignored), for a caller that holds only some
// of the input rows: `rows` starts at input row first_input_row and holds every row those outputs read; `output`
// starts at output row out_row_begin. The loop of a network computed a band of rows at a time.
typedef struct {
    int first_input_row, out_row_begin, out_row_end;
} lookalike_row_window;
void lookalike_depthwise_rows_portable(const float *rows, const lookalike_depthwise_shape *shape, lookalike_row_window window,
                                       const float *weights, const float *bias, int clamp_input, int relu6, float *output);
void lookalike_depthwise_rows_avx2(const float *rows, const lookalike_depthwise_shape *shape, lookalike_row_window window,
                                   const float *weights, const float *bias, int clamp_input, int relu6, float *output);
void lookalike_depthwise_rows_avx512(const float *rows, const lookalike_depthwise_shape *shape, lookalike_row_window window,
                                     const float *weights, const float *bias, int clamp_input, int relu6, float *output);

// Output rows [out_row_begin, out_row_end) of one image (shape->batch ignored) of a dense k×k convolution over NHWC
// input, computed directly (no patch matrix): output[oy, ox, co] = bias[co] + Σ weights[(ky·K + kx)·Cin + ci][co] ·
// input[…], taps outside the image skipped, then the activation (0 none, 1 ReLU6, 2 ReLU); `output` starts at
// out_row_begin. For layers with a small patch (K·K·Cin) such as a stem; out_channels a multiple of 16. x86 only:
// callers check lookalike_cpu_has_avx512f, or lookalike_cpu_has_avx2_fma for the AVX2 build (elsewhere these abort).
void lookalike_direct_convolution_rows_avx512(const float *image, const lookalike_depthwise_shape *shape,
                                              const float *weights, const float *bias, int out_channels, int activation,
                                              int out_row_begin, int out_row_end, float *output);
void lookalike_direct_convolution_rows_avx2(const float *image, const lookalike_depthwise_shape *shape,
                                            const float *weights, const float *bias, int out_channels, int activation,
                                            int out_row_begin, int out_row_end, float *output);

// im2col for a dense k×k convolution with "SAME" padding: for every output pixel, the kernel × kernel × channels
// input values it sees (zeros in the padding) as one row of `rows`.
void lookalike_im2col(const float *input, const lookalike_depthwise_shape *shape, float *rows);

// values[i] = min(max(values[i], 0), 6).
void lookalike_relu6_portable(float *values, size_t count);
void lookalike_relu6_avx2(float *values, size_t count);
// max(x, 0) in place.
void lookalike_relu_portable(float *values, size_t count);
void lookalike_relu_avx2(float *values, size_t count);
// Max pooling over NHWC (the shape's kernel, stride and padding; padded samples never win).
void lookalike_max_pool(const float *input, const lookalike_depthwise_shape *s, float *output);

// Every row of values (rows × columns) = bias: the starting point of a matrix product with beta = 1.
void lookalike_fill_bias(float *values, size_t rows, size_t columns, const float *bias);

// Row r of values (rows × columns) = bias + residual's row r: the starting point of a projection's matrix product
// (beta = 1) that also adds the block's input, sparing a pass over the output afterwards.
void lookalike_fill_bias_residual(float *values, size_t rows, size_t columns, const float *bias, const float *residual);

// Matrix products with weights packed once (packed_gemm.c), in OpenBLAS's column-major terms: C (m × n, ldc)
// += A (m × k) · B (k × n, ldb), where A is the weights. lookalike_packed_gemm_resolve() returns 1 when the running
// OpenBLAS exports the kernel and copy routines of the core it selected; the other functions need that.
int lookalike_packed_gemm_resolve(void);
// The OpenBLAS core whose kernel the packed products run ("" before a successful resolve): the one OpenBLAS reports,
// or SkylakeX on an AVX-512 CPU that OpenBLAS reports as an older core, unless LOOKALIKE_OPENBLAS_CORE=reported.
const char *lookalike_packed_gemm_core(void);
// Floats needed for A packed by lookalike_pack_weights.
size_t lookalike_packed_weights_count(long m, long k);
// Packs column-major A (m × k, lda) into `packed`, which must be 64-byte aligned.
void lookalike_pack_weights(const float *a, long lda, long m, long k, float *packed);
// C += A · B with A packed by lookalike_pack_weights; with `bias` (m values), C = bias + A · B, or with `residual`
// too (laid out as C), C = bias + residual + A · B, each block of C started just before its first product.
// B is packed into a 2 MiB buffer owned by the calling thread (allocated on its first call); returns 0, having
// done nothing, when that allocation fails.
int lookalike_packed_gemm(const float *packed, long m, long n, long k, const float *b, long ldb, float *c, long ldc,
                          const float *bias, const float *residual);
// The same product for a k×k convolution, its im2col matrix gathered from the NHWC input straight into the packed
// layout (no im2col buffer): c (NHWC output, m channels) = bias + conv(input). Returns 0, with nothing done, when
// OpenBLAS packs in another layout than the one gathered here (callers then run im2col + lookalike_packed_gemm).
int lookalike_packed_convolution_available(void);
int lookalike_packed_convolution(const float *packed, long m, const float *input, const lookalike_depthwise_shape *shape,
                                 float *c, const float *bias);

#ifdef __cplusplus
}
#endif
