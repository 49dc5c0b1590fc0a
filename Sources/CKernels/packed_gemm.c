#define _GNU_SOURCE
#include <ctype.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "kernels.h"
#if defined(__x86_64__)
#include <immintrin.h>
#endif

// OpenBLAS packs both operands of every sgemm call into its own layout before its kernel runs. For a network's
// weights that work is the same on every call, so here the weights are packed once, by OpenBLAS's own copy routine
// for the core it selected at start-up, and each call packs only the activations and runs OpenBLAS's kernel: the
// loop of OpenBLAS's level-3 driver with the weight copies taken out. The routines are the per-core exports of a
// DYNAMIC_ARCH build (sgemm_kernel_HASWELL, …), looked up by name; without them callers use cblas_sgemm.

typedef int (*kernel_fn)(long m, long n, long k, float alpha, const float *a, const float *b, float *c, long ldc);
typedef int (*copy_fn)(long m, long n, const float *a, long lda, float *b);

static kernel_fn gemm_kernel;
static copy_fn copy_a;  // sgemm_itcopy: column-major A, the operand that stays in L2
static copy_fn copy_b;  // sgemm_oncopy: column-major B, streamed through L1 in column panels
static int resolved = -1;
static char kernel_core[48];  // the core whose kernel and copies were resolved

// Block sizes: an A block (weights) of BLOCK_M × BLOCK_K floats is 512 KiB and stays in L2 while the kernel runs
// over up to BLOCK_N columns; B columns are packed in CHUNK_N-wide runs just before the first A block uses them.
// CHUNK_N is a multiple of every column unroll OpenBLAS uses on x86-64 (4, 6, 8, 12, 24), so packing a run at a
// time gives the same layout as packing the whole block.
enum { BLOCK_M = 512, BLOCK_K = 256, BLOCK_N = 2048, CHUNK_N = 24, ALIGN_FLOATS = 16 };

// C's block of rows [row, row + rows) and columns [column, column + columns) = bias (+ residual): the starting
// point of the block's first product, written just before the kernel reads it, while it is in cache. The same
// loop is built twice, for the x86-64 baseline and with AVX2, and picked by the CPU.
#define START_BLOCK_BODY \
    for (long j = column; j < column + columns; j++) { \
        float *out = c + j * ldc + row; \
        const float *b = bias + row; \
        if (residual) { \
            const float *r = residual + j * ldc + row; \
            for (long i = 0; i < rows; i++) out[i] = b[i] + r[i]; \
        } else { \
            for (long i = 0; i < rows; i++) out[i] = b[i]; \
        } \
    }
typedef void (*start_fn)(float *c, long ldc, long row, long rows, long column, long columns, const float *bias,
                         const float *residual);
static void start_block_baseline(float *c, long ldc, long row, long rows, long column, long columns, const float *bias,
                                 const float *residual) {
    START_BLOCK_BODY
}
#if defined(__x86_64__)
__attribute__((target("avx2"))) static void start_block_avx2(float *c, long ldc, long row, long rows, long column,
                                                            long columns, const float *bias, const float *residual) {
    START_BLOCK_BODY
}
#endif
#undef START_BLOCK_BODY
static start_fn start_block = start_block_baseline;

static int patches_layout_checked;
static int oncopy_groups_columns_by_four(void);
typedef long (*interleave_fn)(const float *const from[4], long count, float *out);
static interleave_fn interleave4;
#if defined(__x86_64__)
static long interleave4_avx2(const float *const from[4], long count, float *out);
#endif

// OpenBLAS names the core it detected at start-up; a release that predates the CPU falls back to an older core's
// kernels (0.3.21 reports a Zen 5 as Haswell, and runs its 8-wide kernel on a CPU with 16-wide FMA). Where the CPU
// has what OpenBLAS's SkylakeX kernels need (AVX-512 F, DQ, BW, VL, with the OS saving their state) and the
// reported core is one without AVX-512, those kernels are taken instead; the check against cblas_sgemm at start-up
// covers them as it covers the reported core's.
static const char *widest_core(const char *core) {
    if (!core) return core;
    static const char *const without_avx512[] = {"Haswell", "Zen", "Sandybridge", "Excavator", "Steamroller",
                                                 "Piledriver", "Bulldozer", "Nehalem", "Prescott", "Core2",
                                                 "Penryn", "Dunnington", "Atom", "Nano", "Barcelona", "Bobcat",
                                                 "Opteron", "Opteron(SSE3)", "Unknown"};
    const char *choice = getenv("LOOKALIKE_OPENBLAS_CORE");
    if (choice && strcmp(choice, "reported") == 0) return core;
#if defined(__x86_64__)
    __builtin_cpu_init();
    const int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                       __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
    if (!avx512) return core;
    for (size_t i = 0; i < sizeof without_avx512 / sizeof *without_avx512; i++) {
        if (strcasecmp(core, without_avx512[i]) == 0) return "SkylakeX";
    }
#endif
    return core;
}

int lookalike_packed_gemm_resolve(void) {
    if (resolved >= 0) return resolved;
    resolved = 0;
    char *(*corename)(void) = (char *(*)(void))dlsym(RTLD_DEFAULT, "openblas_get_corename");
    if (!corename) return 0;
    const char *core = widest_core(corename());
    if (!core || !*core || strlen(core) > 40 || strcmp(core, "Unknown") == 0) return 0;
    char upper[48];
    size_t i = 0;
    for (; core[i]; i++) upper[i] = (char)toupper((unsigned char)core[i]);
    upper[i] = 0;
    memcpy(kernel_core, core, i + 1);
    char name[96];
    snprintf(name, sizeof name, "sgemm_kernel_%s", upper);
    kernel_fn kernel = (kernel_fn)dlsym(RTLD_DEFAULT, name);
    snprintf(name, sizeof name, "sgemm_itcopy_%s", upper);
    copy_fn itcopy = (copy_fn)dlsym(RTLD_DEFAULT, name);
    snprintf(name, sizeof name, "sgemm_oncopy_%s", upper);
    copy_fn oncopy = (copy_fn)dlsym(RTLD_DEFAULT, name);
    if (!kernel || !itcopy || !oncopy) return 0;
#if defined(__x86_64__)
    if (lookalike_cpu_has_avx2_fma()) {
        start_block = start_block_avx2;
        interleave4 = interleave4_avx2;
    }
#endif
    gemm_kernel = kernel;
    copy_a = itcopy;
    copy_b = oncopy;
    resolved = 1;
    patches_layout_checked = oncopy_groups_columns_by_four();
    return 1;
}

const char *lookalike_packed_gemm_core(void) { return resolved == 1 ? kernel_core : ""; }

// Splits `total` into blocks of at most `limit`, as evenly as the unroll (16) allows.
static long block_length(long total, long limit) {
    long blocks = (total + limit - 1) / limit;
    long length = (total + blocks - 1) / blocks;
    length = (length + 15) / 16 * 16;
    return length < limit ? length : limit;
}

static size_t aligned(size_t floats) { return (floats + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS; }

size_t lookalike_packed_weights_count(long m, long k) {
    const long block_k = block_length(k, BLOCK_K), block_m = block_length(m, BLOCK_M);
    size_t total = 0;
    for (long ls = 0; ls < k; ls += block_k) {
        const long min_l = k - ls < block_k ? k - ls : block_k;
        for (long is = 0; is < m; is += block_m) {
            const long min_i = m - is < block_m ? m - is : block_m;
            total += aligned((size_t)min_l * (size_t)aligned((size_t)min_i));
        }
    }
    return total;
}

void lookalike_pack_weights(const float *a, long lda, long m, long k, float *packed) {
    const long block_k = block_length(k, BLOCK_K), block_m = block_length(m, BLOCK_M);
    for (long ls = 0; ls < k; ls += block_k) {
        const long min_l = k - ls < block_k ? k - ls : block_k;
        for (long is = 0; is < m; is += block_m) {
            const long min_i = m - is < block_m ? m - is : block_m;
            copy_a(min_l, min_i, a + is + ls * lda, lda, packed);
            packed += aligned((size_t)min_l * (size_t)aligned((size_t)min_i));
        }
    }
}

// Each thread packs B into a buffer of its own, freed when the thread ends.
static pthread_key_t workspace_key;
static pthread_once_t workspace_once = PTHREAD_ONCE_INIT;
static void make_workspace_key(void) { pthread_key_create(&workspace_key, free); }

static float *thread_workspace(void) {
    pthread_once(&workspace_once, make_workspace_key);
    float *workspace = pthread_getspecific(workspace_key);
    if (!workspace) {
        if (posix_memalign((void **)&workspace, 64, sizeof(float) * (size_t)BLOCK_K * BLOCK_N) != 0) return NULL;
        pthread_setspecific(workspace_key, workspace);
    }
    return workspace;
}

// How the driver gets B's panels: columns [column, column + columns) of rows [row, row + rows), packed as
// sgemm_oncopy would pack them.
typedef struct {
    void (*pack)(const void *source, long row, long rows, long column, long columns, float *panel);
    const void *source;
} panel_source;

typedef struct {
    const float *b;
    long ldb;
} matrix_source;

static void pack_matrix(const void *source, long row, long rows, long column, long columns, float *panel) {
    const matrix_source *m = source;
    copy_b(rows, columns, m->b + row + column * m->ldb, m->ldb, panel);
}

// A product with few columns (a 7×7 or 14×14 layer's pixels) does little work per weight, and its weights, which no
// other layer of the pass shares, come from L3 or memory: run like the large products below, the kernel waits for
// them (a 49-column product ran at 0.63 of its speed with the weights already in L2). Here every column of B is
// packed first, then the kernel runs over strips of STRIP_M weight rows (a multiple of every row unroll OpenBLAS
// uses on x86-64, so a strip starts a packed panel), each strip prefetched PREFETCH_STRIPS strips before the kernel
// reads it (with prefetcht2, which measured best: the strip is used once, from L2). docs/benchmarks.md has figures.
enum { SMALL_N = 256, STRIP_M = 16, PREFETCH_STRIPS = 6 };

static void prefetch_into_l2(const float *from, const float *to) {
    for (const float *p = from; p < to; p += 16) __builtin_prefetch(p, 0, 1);
}

static void few_columns_product(const float *packed, long m, long n, long k, panel_source source, float *c, long ldc,
                                const float *bias, const float *residual, float *sb) {
    const long block_k = block_length(k, BLOCK_K), block_m = block_length(m, BLOCK_M);
    const float *const packed_end = packed + lookalike_packed_weights_count(m, k);
    const float *block = packed;
    const float *prefetched = packed;
    for (long ls = 0; ls < k; ls += block_k) {
        const long min_l = k - ls < block_k ? k - ls : block_k;
        for (long jjs = 0; jjs < n; jjs += CHUNK_N) {
            source.pack(source.source, ls, min_l, jjs, n - jjs < CHUNK_N ? n - jjs : CHUNK_N, sb + min_l * jjs);
        }
        for (long is = 0; is < m; is += block_m) {
            const long min_i = m - is < block_m ? m - is : block_m;
            if (bias && ls == 0) start_block(c, ldc, is, min_i, 0, n, bias, residual);
            for (long r = 0; r < min_i; r += STRIP_M) {
                const float *strip = block + r * min_l;
                const float *ahead = strip + (long)PREFETCH_STRIPS * STRIP_M * min_l;
                if (ahead > packed_end) ahead = packed_end;
                if (prefetched < ahead) {
                    prefetch_into_l2(prefetched > strip ? prefetched : strip, ahead);
                    prefetched = ahead;
                }
                gemm_kernel(min_i - r < STRIP_M ? min_i - r : STRIP_M, n, min_l, 1.0f, strip, sb, c + is + r, ldc);
            }
            block += aligned((size_t)min_l * (size_t)aligned((size_t)min_i));
        }
    }
}

static int packed_product(const float *packed, long m, long n, long k, panel_source source, float *c, long ldc,
                          const float *bias, const float *residual) {
    const long block_k = block_length(k, BLOCK_K), block_m = block_length(m, BLOCK_M);
    float *sb = thread_workspace();
    if (!sb) return 0;
    if (n <= SMALL_N) {
        few_columns_product(packed, m, n, k, source, c, ldc, bias, residual, sb);
        return 1;
    }
    for (long js = 0; js < n; js += BLOCK_N) {
        const long min_j = n - js < BLOCK_N ? n - js : BLOCK_N;
        const float *block = packed;
        for (long ls = 0; ls < k; ls += block_k) {
            const long min_l = k - ls < block_k ? k - ls : block_k;
            for (long is = 0; is < m; is += block_m) {
                const long min_i = m - is < block_m ? m - is : block_m;
                if (is == 0) {
                    for (long jjs = js; jjs < js + min_j; jjs += CHUNK_N) {
                        const long min_jj = js + min_j - jjs < CHUNK_N ? js + min_j - jjs : CHUNK_N;
                        // With one A block, no later block reads B again: each run reuses the start of the buffer,
                        // which stays in L1, as OpenBLAS's driver does.
                        float *panel = min_i == m ? sb : sb + min_l * (jjs - js);
                        source.pack(source.source, ls, min_l, jjs, min_jj, panel);
                        if (bias && ls == 0) start_block(c, ldc, 0, min_i, jjs, min_jj, bias, residual);
                        gemm_kernel(min_i, min_jj, min_l, 1.0f, block, panel, c + jjs * ldc, ldc);
                    }
                } else {
                    if (bias && ls == 0) start_block(c, ldc, is, min_i, js, min_j, bias, residual);
                    gemm_kernel(min_i, min_j, min_l, 1.0f, block, sb, c + is + js * ldc, ldc);
                }
                block += aligned((size_t)min_l * (size_t)aligned((size_t)min_i));
            }
        }
    }
    return 1;
}

int lookalike_packed_gemm(const float *packed, long m, long n, long k, const float *b, long ldb, float *c, long ldc,
                          const float *bias, const float *residual) {
    const matrix_source matrix = {b, ldb};
    return packed_product(packed, m, n, k, (panel_source){pack_matrix, &matrix}, c, ldc, bias, residual);
}

// --- Convolutions without an im2col matrix ---------------------------------------------------------------------
// B of a k×k convolution is the im2col matrix: column j is output pixel j's patch, (ky, kx, channel) in order.
// Instead of writing it whole and packing it again, each panel is gathered from the NHWC input straight into the
// packed layout: groups of 4 columns with their 4 values of a row side by side, then a group of 2, then 1 —
// the layout of OpenBLAS's 4-column oncopy, which lookalike_packed_gemm_resolve checks before this is used.

typedef struct {
    const float *input;
    const lookalike_depthwise_shape *shape;
} patch_source;

// Output pixel `column`'s position: its image and the input row and column its window starts at.
typedef struct {
    const float *image;
    int y0, x0;
} window;

static inline window window_of(const lookalike_depthwise_shape *s, const float *input, long column) {
    const long pixels = (long)s->out_height * s->out_width;
    const long b = column / pixels, rest = column % pixels;
    return (window){input + (size_t)b * s->height * s->width * s->channels,
                    (int)(rest / s->out_width) * s->stride - s->pad_top, (int)(rest % s->out_width) * s->stride - s->pad_left};
}

// Where the values of rows [l, l + run) of a window's patch start in the input, NULL where they are padding; `run`
// comes in as the most wanted and goes out as the length of the contiguous stretch starting at l (a whole row of
// taps when the window's row lies inside the image, else one tap's channels).
static inline const float *stretch(const lookalike_depthwise_shape *s, window w, long l, long *run) {
    const int C = s->channels, K = s->kernel;
    const int ky = (int)(l / ((long)K * C)), within = (int)(l % ((long)K * C));
    const int y = w.y0 + ky;
    if (w.x0 >= 0 && w.x0 + K <= s->width) {
        if (*run > (long)K * C - within) *run = (long)K * C - within;
        if (y < 0 || y >= s->height) return NULL;
        return w.image + ((size_t)y * s->width + w.x0) * C + within;
    }
    const int kx = within / C, c = within % C;
    if (*run > C - c) *run = C - c;
    const int x = w.x0 + kx;
    if (y < 0 || y >= s->height || x < 0 || x >= s->width) return NULL;
    return w.image + ((size_t)y * s->width + x) * C + c;
}

// out[r·4 + g] = from[g][r] for r < count: four pixels' stretches interleaved (the panel's rows of a 4-group);
// returns how many rows it did (the rest, under a vector's width, are the caller's).
static long interleave4_baseline(const float *const from[4], long count, float *out) {
    long r = 0;
#if defined(__x86_64__)
    for (; r + 4 <= count; r += 4) {
        __m128 r0 = _mm_loadu_ps(from[0] + r), r1 = _mm_loadu_ps(from[1] + r);
        __m128 r2 = _mm_loadu_ps(from[2] + r), r3 = _mm_loadu_ps(from[3] + r);
        _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
        _mm_storeu_ps(out + r * 4, r0);
        _mm_storeu_ps(out + r * 4 + 4, r1);
        _mm_storeu_ps(out + r * 4 + 8, r2);
        _mm_storeu_ps(out + r * 4 + 12, r3);
    }
#endif
    return r;
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static long interleave4_avx2(const float *const from[4], long count, float *out) {
    long r = 0;
    for (; r + 8 <= count; r += 8) {
        const __m256 a = _mm256_loadu_ps(from[0] + r), b = _mm256_loadu_ps(from[1] + r);
        const __m256 c = _mm256_loadu_ps(from[2] + r), d = _mm256_loadu_ps(from[3] + r);
        const __m256 ab_low = _mm256_unpacklo_ps(a, b), ab_high = _mm256_unpackhi_ps(a, b);
        const __m256 cd_low = _mm256_unpacklo_ps(c, d), cd_high = _mm256_unpackhi_ps(c, d);
        // Rows r, r+1 | r+4, r+5 and r+2, r+3 | r+6, r+7 of the four pixels.
        const __m256 row0 = _mm256_shuffle_ps(ab_low, cd_low, 0x44), row1 = _mm256_shuffle_ps(ab_low, cd_low, 0xEE);
        const __m256 row2 = _mm256_shuffle_ps(ab_high, cd_high, 0x44), row3 = _mm256_shuffle_ps(ab_high, cd_high, 0xEE);
        _mm256_storeu_ps(out + r * 4, _mm256_permute2f128_ps(row0, row1, 0x20));
        _mm256_storeu_ps(out + r * 4 + 8, _mm256_permute2f128_ps(row2, row3, 0x20));
        _mm256_storeu_ps(out + r * 4 + 16, _mm256_permute2f128_ps(row0, row1, 0x31));
        _mm256_storeu_ps(out + r * 4 + 24, _mm256_permute2f128_ps(row2, row3, 0x31));
    }
    const float *const rest[4] = {from[0] + r, from[1] + r, from[2] + r, from[3] + r};
    return r + interleave4_baseline(rest, count - r, out + r * 4);
}
#endif

static interleave_fn interleave4 = interleave4_baseline;

enum { ZERO_STRETCH = 1024 };
static const float zero_stretch[ZERO_STRETCH];

static void pack_patches(const void *source, long row, long rows, long column, long columns, float *panel) {
    const patch_source *p = source;
    const lookalike_depthwise_shape *s = p->shape;
    for (long j = column; j < column + columns;) {
        const long left = column + columns - j;
        const int group = left >= 4 ? 4 : left >= 2 ? 2 : 1;
        window windows[4];
        for (int g = 0; g < group; g++) windows[g] = window_of(s, p->input, j + g);
        for (long l = row; l < row + rows;) {
            // The longest stretch contiguous in every pixel of the group.
            long run = row + rows - l;
            const float *from[4];
            for (int g = 0; g < group; g++) from[g] = stretch(s, windows[g], l, &run);
            float *out = panel + (l - row) * group;
            long done = 0;
            if (group == 4) {
                // Padding reads as a stretch of zeros (the window's edge pixels interleave as fast as the rest).
                if (!(from[0] && from[1] && from[2] && from[3]) && run > ZERO_STRETCH) run = ZERO_STRETCH;
                const float *const starts[4] = {from[0] ? from[0] : zero_stretch, from[1] ? from[1] : zero_stretch,
                                                from[2] ? from[2] : zero_stretch, from[3] ? from[3] : zero_stretch};
                done = interleave4(starts, run, out);
            }
            for (long r = done; r < run; r++) {
                for (int g = 0; g < group; g++) out[r * group + g] = from[g] ? from[g][r] : 0.0f;
            }
            l += run;
        }
        panel += rows * group;
        j += group;
    }
}

int lookalike_packed_convolution_available(void) { return patches_layout_checked == 1; }

int lookalike_packed_convolution(const float *packed, long m, const float *input, const lookalike_depthwise_shape *shape,
                                 float *c, const float *bias) {
    if (patches_layout_checked != 1) return 0;
    const patch_source patches = {input, shape};
    const long n = (long)shape->batch * shape->out_height * shape->out_width;
    const long k = (long)shape->kernel * shape->kernel * shape->channels;
    return packed_product(packed, m, n, k, (panel_source){pack_patches, &patches}, c, m, bias, NULL);
}

// Whether OpenBLAS's oncopy packs as pack_patches does: a 1×1 "convolution" of a small image is a plain matrix.
static int oncopy_groups_columns_by_four(void) {
    enum { ROWS = 5, MOST = 11 };
    float matrix[ROWS * MOST], expected[ROWS * MOST + 16], actual[ROWS * MOST + 16];
    for (int i = 0; i < ROWS * MOST; i++) matrix[i] = (float)(i + 1);
    for (int columns = 1; columns <= MOST; columns++) {
        const lookalike_depthwise_shape shape = {1, 1, columns, ROWS, 1, 1, 0, 0, 1, columns};
        const patch_source patches = {matrix, &shape};
        memset(expected, 0, sizeof expected);
        memset(actual, 0, sizeof actual);
        copy_b(ROWS, columns, matrix, ROWS, expected);
        pack_patches(&patches, 0, ROWS, 0, columns, actual);
        if (memcmp(expected, actual, sizeof expected) != 0) return 0;
        // A run of rows that starts inside the matrix, as the driver's later K blocks do.
        memset(expected, 0, sizeof expected);
        memset(actual, 0, sizeof actual);
        copy_b(ROWS - 2, columns, matrix + 2, ROWS, expected);
        pack_patches(&patches, 2, ROWS - 2, 0, columns, actual);
        if (memcmp(expected, actual, sizeof expected) != 0) return 0;
    }
    return 1;
}
