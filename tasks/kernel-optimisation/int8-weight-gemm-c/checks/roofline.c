/* RSIBENCH CANARY 385fdf62-4e6f-4e1f-91b5-f4f6068360a5 */
/* The roofline figures of README.md, one core: AVX2 FMA throughput (12 independent
   accumulators) and read bandwidth (best of 5 passes over 256 MiB). Not used by the scorer.
   gcc -O2 -o roofline roofline.c && ./roofline */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
typedef float v8 __attribute__((vector_size(32)));
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
__attribute__((target("avx2,fma"), noinline)) static float fma_peak(long iters)
{
    v8 a[12]; v8 x = {0.9999f, 0.9999f, 0.9999f, 0.9999f, 0.9999f, 0.9999f, 0.9999f, 0.9999f}, y = x * 0.9999f;
    for (int i = 0; i < 12; i++) a[i] = x * (float)i;
    for (long it = 0; it < iters; it++) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) a[i] = a[i] * x + y;
    }
    float s = 0; for (int i = 0; i < 12; i++) s += a[i][0]; return s;
}
int main(void)
{
    long iters = 50000000;
    double t0 = now(); float s = fma_peak(iters); double t = now() - t0;
    printf("fma peak: %.1f GFLOP/s (%g)\n", iters * 12.0 * 8 * 2 / t / 1e9, s);
    size_t n = 256u << 20; char *buf = malloc(n); memset(buf, 1, n);
    double best = 1e9; volatile long sink = 0;
    for (int r = 0; r < 5; r++) {
        t0 = now(); long acc = 0; const long *p = (const long *)buf;
        for (size_t i = 0; i < n / 8; i += 8) acc += p[i] ^ p[i + 1] ^ p[i + 2] ^ p[i + 3] ^ p[i + 4] ^ p[i + 5] ^ p[i + 6] ^ p[i + 7];
        sink += acc; t = now() - t0; if (t < best) best = t;
    }
    printf("read bandwidth: %.1f GB/s\n", n / best / 1e9);
    return 0;
}
