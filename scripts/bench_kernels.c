// Times the depthwise convolution kernels on EfficientNet-Lite0's depthwise layer shapes (batch 1), each layer's
// input written just before the call as the expansion's matrix product writes it in the model. Built by
// scripts/bench-kernels against one copy of Sources/CKernels/kernels.c (included below by the path in KERNELS_C).
// Prints one line per layer: the shape and the fastest of `reps` calls in microseconds, then their sum.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include KERNELS_C

static double seconds_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s portable|avx2|avx512 REPS\n", argv[0]);
        return 2;
    }
    const char *variant = argv[1];
    const int reps = atoi(argv[2]);
    if (reps < 1 || reps > 100000) {
        fprintf(stderr, "REPS must be 1…100000\n");
        return 2;
    }
    if ((strcmp(variant, "avx2") == 0 && !lookalike_cpu_has_avx2_fma()) ||
        (strcmp(variant, "avx512") == 0 && !lookalike_cpu_has_avx512f())) {
        fprintf(stderr, "this CPU does not run the %s kernels\n", variant);
        return 3;
    }
    // input size, channels, kernel, stride of every depthwise layer of EfficientNet-Lite0
    static const int layers[][4] = {
        {112, 32, 3, 1}, {112, 96, 3, 2}, {56, 144, 3, 1}, {56, 144, 5, 2}, {28, 240, 5, 1}, {28, 240, 3, 2},
        {14, 480, 3, 1}, {14, 480, 3, 1}, {14, 480, 5, 1}, {14, 672, 5, 1}, {14, 672, 5, 1}, {14, 672, 5, 2},
        {7, 1152, 5, 1}, {7, 1152, 5, 1}, {7, 1152, 5, 1}, {7, 1152, 3, 1}};
    const size_t largest = 112 * 112 * 96;
    float *input = aligned_alloc(64, largest * sizeof(float)), *output = aligned_alloc(64, largest * sizeof(float));
    float *weights = aligned_alloc(64, 25 * 1152 * sizeof(float)), *bias = aligned_alloc(64, 1152 * sizeof(float));
    if (!input || !output || !weights || !bias) return 1;
    for (int i = 0; i < 25 * 1152; i++) weights[i] = (float)(i % 7) * 0.01f;
    for (int i = 0; i < 1152; i++) bias[i] = 0.1f;
    double total = 0;
    for (size_t l = 0; l < sizeof layers / sizeof layers[0]; l++) {
        const int size = layers[l][0], channels = layers[l][1], kernel = layers[l][2], stride = layers[l][3];
        const int out_size = (size + stride - 1) / stride;
        int pad = ((out_size - 1) * stride + kernel - size) / 2;
        if (pad < 0) pad = 0;
        const lookalike_depthwise_shape shape = {1, size, size, channels, kernel, stride, pad, pad, out_size, out_size};
        const size_t count = (size_t)size * size * channels;
        double best = 1e9;
        for (int r = 0; r < reps; r++) {
            for (size_t i = 0; i < count; i++) input[i] = (float)((i + r) & 15) * 0.5f;
            const double start = seconds_now();
            if (strcmp(variant, "avx512") == 0) lookalike_depthwise_avx512(input, &shape, weights, bias, 1, 1, output);
            else if (strcmp(variant, "avx2") == 0) lookalike_depthwise_avx2(input, &shape, weights, bias, 1, 1, output);
            else lookalike_depthwise_portable(input, &shape, weights, bias, 1, 1, output);
            const double elapsed = seconds_now() - start;
            if (elapsed < best) best = elapsed;
        }
        total += best;
        printf("%3d×%-3d×%4d k%d s%d %8.1f\n", size, size, channels, kernel, stride, best * 1e6);
    }
    printf("total %.1f\n", total * 1e6);
    return 0;
}
