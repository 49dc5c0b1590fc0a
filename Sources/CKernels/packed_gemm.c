#define _GNU_SOURCE
#include <ctype.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "kernels.h"

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

int lookalike_packed_gemm_resolve(void) {
    if (resolved >= 0) return resolved;
    resolved = 0;
    char *(*corename)(void) = (char *(*)(void))dlsym(RTLD_DEFAULT, "openblas_get_corename");
    if (!corename) return 0;
    const char *core = corename();
    if (!core || !*core || strlen(core) > 40 || strcmp(core, "Unknown") == 0) return 0;
    char upper[48];
    size_t i = 0;
    for (; core[i]; i++) upper[i] = (char)toupper((unsigned char)core[i]);
    upper[i] = 0;
    char name[96];
    snprintf(name, sizeof name, "sgemm_kernel_%s", upper);
    kernel_fn kernel = (kernel_fn)dlsym(RTLD_DEFAULT, name);
    snprintf(name, sizeof name, "sgemm_itcopy_%s", upper);
    copy_fn itcopy = (copy_fn)dlsym(RTLD_DEFAULT, name);
    snprintf(name, sizeof name, "sgemm_oncopy_%s", upper);
    copy_fn oncopy = (copy_fn)dlsym(RTLD_DEFAULT, name);
    if (!kernel || !itcopy || !oncopy) return 0;
#if defined(__x86_64__)
    if (lookalike_cpu_has_avx2_fma()) start_block = start_block_avx2;
#endif
    gemm_kernel = kernel;
    copy_a = itcopy;
    copy_b = oncopy;
    resolved = 1;
    return 1;
}

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

int lookalike_packed_gemm(const float *packed, long m, long n, long k, const float *b, long ldb, float *c, long ldc,
                          const float *bias, const float *residual) {
    const long block_k = block_length(k, BLOCK_K), block_m = block_length(m, BLOCK_M);
    float *sb = thread_workspace();
    if (!sb) return 0;
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
                        copy_b(min_l, min_jj, b + ls + jjs * ldb, ldb, panel);
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
