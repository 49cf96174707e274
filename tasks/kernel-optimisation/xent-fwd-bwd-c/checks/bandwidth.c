/* RSIBENCH CANARY 0a9951ff-b9a5-4669-ac02-7bcd811366b1 */
/* The roofline figures of README.md, one core (not used by the scorer):
   - memory: read, write and copy bandwidth over 64 MiB buffers (best of 5 passes), the
     traffic a cross-entropy kernel cannot avoid (read the logits, write the gradient);
   - compute: the reference's AVX2 exp on data in L1 (elements per ns), the arithmetic a
     kernel that exponentiates every logit once cannot avoid.
   gcc -O2 -o bandwidth bandwidth.c -lm && ./bandwidth */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

__attribute__((target("avx2,fma"))) static __m256 exp8(__m256 x)
{
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.33654f));
    __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    __m256 y = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_cvtps_epi32(k), 23);
    return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(y), e));
}

__attribute__((target("avx2,fma"), noinline)) static float exp_rate(const float *x, float *y,
                                                                     int n, int reps)
{
    __m256 s = _mm256_setzero_ps();
    for (int r = 0; r < reps; r++)
        for (int j = 0; j < n; j += 8) {
            __m256 e = exp8(_mm256_loadu_ps(x + j));
            _mm256_storeu_ps(y + j, e);
            s = _mm256_add_ps(s, e);
        }
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0];
}

int main(void)
{
    size_t n = 64u << 20;
    char *a = malloc(n), *b = malloc(n);
    memset(a, 1, n);
    memset(b, 2, n);
    double rd = 1e9, wr = 1e9, cp = 1e9;
    volatile long sink = 0;
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        long acc = 0;
        const long *p = (const long *)a;
        for (size_t i = 0; i < n / 8; i += 8)
            acc += p[i] ^ p[i + 1] ^ p[i + 2] ^ p[i + 3] ^ p[i + 4] ^ p[i + 5] ^ p[i + 6] ^ p[i + 7];
        sink += acc;
        double t = now() - t0;
        rd = t < rd ? t : rd;
        t0 = now();
        memset(b, r, n);
        sink += b[r * 4096];
        t = now() - t0;
        wr = t < wr ? t : wr;
        t0 = now();
        memcpy(b, a, n);
        sink += b[r * 8192];
        t = now() - t0;
        cp = t < cp ? t : cp;
    }
    printf("read %.1f GB/s, write %.1f GB/s, copy %.1f GB/s (bytes copied per second)\n",
           n / rd / 1e9, n / wr / 1e9, n / cp / 1e9);
    int m = 2048, reps = 20000;
    float *x = malloc(sizeof(float) * m), *y = malloc(sizeof(float) * m);
    for (int j = 0; j < m; j++)
        x[j] = -20.0f * j / m;
    double t0 = now();
    float s = exp_rate(x, y, m, reps);
    double t = now() - t0;
    printf("AVX2 exp, in L1: %.2f elements/ns (%g)\n", (double)m * reps / t / 1e9, s);
    return (int)(sink & 0);
}
