/* RSIBENCH CANARY 385fdf62-4e6f-4e1f-91b5-f4f6068360a5 */
/*
 * Weight-only int8 quantised linear layer (W8A32), reference solution.
 *
 *   out[i][j] = scale[j] * sum over c of x[i][c] * w[j][c]
 *
 * x is packed once per call into blocks of 16 rows, transposed ([block][c][16], zero-padded
 * past m). For each group of 4 output channels, the int8 weights are converted to float32 with
 * vector conversions (contiguous: no transposition of the big operand), then each block of x
 * is multiplied against the group with a 16 x 4 tile of accumulators held in registers (two
 * 8-float vectors of rows times 4 broadcast weights per step of c). The kernel is compiled
 * twice: for AVX2 + FMA (picked at run time when the CPU has them) and portable (GCC vector
 * types: SSE on x86-64, NEON on arm64). The scale is applied once per output.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef float v8 __attribute__((vector_size(32)));
typedef int8_t c8 __attribute__((vector_size(8)));

#define MB 16 /* rows of x per block */
#define NB 4  /* output channels per group */

/* out rows [all], channels j0 .. j0 + cols - 1, for packed x xb (mblocks blocks of k x 16) */
#define GROUP_BODY                                                                            \
    for (int r = 0; r < NB; r++) {                                                            \
        float *dst = wf + (long)r * k;                                                        \
        if (r >= cols) {                                                                      \
            memset(dst, 0, sizeof(float) * (size_t)k);                                        \
            continue;                                                                         \
        }                                                                                     \
        const int8_t *src = w + (long)(j0 + r) * k;                                           \
        int c = 0;                                                                            \
        for (; c + 8 <= k; c += 8) {                                                          \
            c8 b;                                                                             \
            memcpy(&b, src + c, 8);                                                           \
            v8 f = __builtin_convertvector(b, v8);                                            \
            memcpy(dst + c, &f, 32);                                                          \
        }                                                                                     \
        for (; c < k; c++)                                                                    \
            dst[c] = src[c];                                                                  \
    }                                                                                         \
    const float *w0p = wf, *w1p = wf + k, *w2p = wf + 2 * (long)k, *w3p = wf + 3 * (long)k;   \
    for (int blk = 0; blk < mblocks; blk++) {                                                 \
        const float *xp = xb + (long)blk * k * MB;                                            \
        v8 a00 = {0}, a01 = {0}, a10 = {0}, a11 = {0}, a20 = {0}, a21 = {0}, a30 = {0},       \
           a31 = {0};                                                                         \
        for (int c = 0; c < k; c++) {                                                         \
            v8 x0, x1;                                                                        \
            memcpy(&x0, xp + (long)c * MB, 32);                                               \
            memcpy(&x1, xp + (long)c * MB + 8, 32);                                           \
            v8 b0 = {w0p[c], w0p[c], w0p[c], w0p[c], w0p[c], w0p[c], w0p[c], w0p[c]};         \
            v8 b1 = {w1p[c], w1p[c], w1p[c], w1p[c], w1p[c], w1p[c], w1p[c], w1p[c]};         \
            v8 b2 = {w2p[c], w2p[c], w2p[c], w2p[c], w2p[c], w2p[c], w2p[c], w2p[c]};         \
            v8 b3 = {w3p[c], w3p[c], w3p[c], w3p[c], w3p[c], w3p[c], w3p[c], w3p[c]};         \
            a00 += x0 * b0;                                                                   \
            a01 += x1 * b0;                                                                   \
            a10 += x0 * b1;                                                                   \
            a11 += x1 * b1;                                                                   \
            a20 += x0 * b2;                                                                   \
            a21 += x1 * b2;                                                                   \
            a30 += x0 * b3;                                                                   \
            a31 += x1 * b3;                                                                   \
        }                                                                                     \
        float t[NB][MB];                                                                      \
        memcpy(t[0], &a00, 32);                                                               \
        memcpy(t[0] + 8, &a01, 32);                                                           \
        memcpy(t[1], &a10, 32);                                                               \
        memcpy(t[1] + 8, &a11, 32);                                                           \
        memcpy(t[2], &a20, 32);                                                               \
        memcpy(t[2] + 8, &a21, 32);                                                           \
        memcpy(t[3], &a30, 32);                                                               \
        memcpy(t[3] + 8, &a31, 32);                                                           \
        int rows = m - blk * MB < MB ? m - blk * MB : MB;                                     \
        for (int i = 0; i < rows; i++)                                                        \
            for (int r = 0; r < cols; r++)                                                    \
                out[(long)(blk * MB + i) * n + j0 + r] = t[r][i] * scale[j0 + r];             \
    }

#define GROUP_ARGS                                                                            \
    const float *xb, const int8_t *w, const float *scale, float *out, float *wf, int m,       \
        int mblocks, int n, int k, int j0, int cols

static void group_portable(GROUP_ARGS) { GROUP_BODY }

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static void group_avx2(GROUP_ARGS) { GROUP_BODY }
#endif

void w8_linear(const float *x, const int8_t *w, const float *scale, float *out, int m, int n,
               int k)
{
    if (m <= 0 || n <= 0)
        return;
    void (*group)(GROUP_ARGS) = group_portable;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        group = group_avx2;
#endif
    int mblocks = (m + MB - 1) / MB;
    size_t kk = (size_t)(k > 0 ? k : 1);
    float *xb = aligned_alloc(64, sizeof(float) * kk * MB * (size_t)mblocks);
    float *wf = aligned_alloc(64, sizeof(float) * kk * NB);
    if (!xb || !wf)
        abort();
    for (int blk = 0; blk < mblocks; blk++) /* x transposed in blocks of 16 rows */
        for (int i = 0; i < MB; i++) {
            int row = blk * MB + i;
            float *dst = xb + (long)blk * k * MB + i;
            for (int c = 0; c < k; c++)
                dst[(long)c * MB] = row < m ? x[(long)row * k + c] : 0.0f;
        }
    for (int j0 = 0; j0 < n; j0 += NB)
        group(xb, w, scale, out, wf, m, mblocks, n, k, j0, n - j0 < NB ? n - j0 : NB);
    free(wf);
    free(xb);
}
