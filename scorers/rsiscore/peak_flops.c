/*
 * The trusted roofline microbenchmark of c_kernel_speedup: one core's float32 FMA peak.
 *
 *   void rsi_peak_fma(float *out, int iters)
 *
 * runs `iters` rounds of independent fused multiply-adds on the widest vectors this CPU has
 * (AVX-512, else AVX2+FMA, else SSE2 multiply and add), enough independent chains to cover
 * the FMA latency on every port, and few enough that every chain and the two constants stay in
 * registers (16 chains of 32 zmm registers; 12 of the 16 ymm or xmm ones: 16 would spill three
 * accumulators to the stack and read the peak low); out[0] = float32 lanes per vector, out[1] = the
 * flops one round does (so the scorer counts iters * out[1]), out[2] = a checksum that keeps
 * the loop alive. Built with the family's flags and timed by the scorer's clock through
 * kernel_runner.py exactly like a kernel, so the peak and the kernel are measured alike.
 */
#include <stddef.h>

enum { WIDE_CHAINS = 16, NARROW_CHAINS = 12 };

#define PEAK_BODY(T, LANES, ACC)                                                     \
    T a[ACC], x, y;                                                                  \
    for (int l = 0; l < LANES; l++) x[l] = 0.9999f, y[l] = 1e-4f;                    \
    for (int i = 0; i < ACC; i++)                                                    \
        for (int l = 0; l < LANES; l++) a[i][l] = (float)(i + l);                    \
    for (int it = 0; it < iters; it++) {                                             \
        _Pragma("GCC unroll 16") for (int i = 0; i < ACC; i++) a[i] = a[i] * x + y;  \
    }                                                                                \
    float s = 0.0f;                                                                  \
    for (int i = 0; i < ACC; i++) s += a[i][0];                                      \
    return s;

typedef float v16 __attribute__((vector_size(64)));
typedef float v8 __attribute__((vector_size(32)));
typedef float v4 __attribute__((vector_size(16)));

__attribute__((target("avx512f,fma"), noinline)) static float peak512(int iters) { PEAK_BODY(v16, 16, WIDE_CHAINS) }
__attribute__((target("avx2,fma"), noinline)) static float peak256(int iters) { PEAK_BODY(v8, 8, NARROW_CHAINS) }
__attribute__((noinline)) static float peak128(int iters) { PEAK_BODY(v4, 4, NARROW_CHAINS) }

void rsi_peak_fma(float *out, int iters)
{
    __builtin_cpu_init();
    int lanes = __builtin_cpu_supports("avx512f") ? 16
              : (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? 8 : 4;
    float s = lanes == 16 ? peak512(iters) : lanes == 8 ? peak256(iters) : peak128(iters);
    out[0] = (float)lanes;
    out[1] = (float)(2 * (lanes == 16 ? WIDE_CHAINS : NARROW_CHAINS) * lanes);
    out[2] = s;
}
