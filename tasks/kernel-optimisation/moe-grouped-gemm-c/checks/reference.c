/* Reference solution for moe-grouped-gemm-c. RSIBENCH CANARY 27752cae-e234-4d23-b200-8a18189646d5

   out[i] = x[i] @ W[g] for every token i of expert g's group (offsets[g] <= i < offsets[g+1]).

   Per expert with a non-empty group: the group's rows of x are packed into panels of MR = 6
   rows (d x 6, row index fastest, zero rows past the group's end) and W[g] into panels of
   NR = 16 columns (d x 16, zero columns past f). Then, for each column panel (16 KiB at
   d = 256, kept in L1) and each row panel, a 6 x 16 register tile: 12 accumulators of 8
   floats, per step of the reduction 2 vector loads of W, 6 broadcasts of x and 12 fused
   multiply-adds. The tile is compiled for AVX2 + FMA behind a target attribute and picked at
   run time, with a portable fallback. Ragged edges (a group's last rows, the last columns of
   f) are computed in full on the zero padding and only the valid part is stored. */
#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { MR = 6, NR = 16 };

static float *pack_a, *pack_b;
static size_t cap_a, cap_b;

static float *grow(float **buf, size_t *cap, size_t n)
{
    if (n > *cap) {
        free(*buf);
        *buf = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
        *cap = *buf ? n : 0;
    }
    return *buf;
}

/* rows [r0, r0 + n) of x as panels of MR rows: a[p][c][i] = x[r0 + p*MR + i][c] or 0 */
static void pack_rows(const float *x, int r0, int n, int d, float *a)
{
    for (int p = 0; p * MR < n; p++) {
        float *ap = a + (size_t)p * d * MR;
        for (int i = 0; i < MR; i++) {
            int r = p * MR + i;
            if (r < n) {
                const float *xr = x + (size_t)(r0 + r) * d;
                for (int c = 0; c < d; c++) ap[c * MR + i] = xr[c];
            } else {
                for (int c = 0; c < d; c++) ap[c * MR + i] = 0.0f;
            }
        }
    }
}

/* W[g] (d x f) as panels of NR columns: b[q][c][j] = wg[c][q*NR + j] or 0 */
static void pack_cols(const float *wg, int d, int f, float *b)
{
    for (int q = 0; q * NR < f; q++) {
        float *bq = b + (size_t)q * d * NR;
        int j0 = q * NR, nr = f - j0 < NR ? f - j0 : NR;
        for (int c = 0; c < d; c++) {
            const float *src = wg + (size_t)c * f + j0;
            float *dst = bq + (size_t)c * NR;
            memcpy(dst, src, sizeof(float) * nr);
            for (int j = nr; j < NR; j++) dst[j] = 0.0f;
        }
    }
}

static void store_tile(const float *tile, float *out, long ldo, int mr, int nr)
{
    for (int i = 0; i < mr; i++) memcpy(out + i * ldo, tile + i * NR, sizeof(float) * nr);
}

#define ROW(i)                                                                      \
    {                                                                               \
        __m256 ai = _mm256_broadcast_ss(ak + i);                                    \
        c##i##0 = _mm256_fmadd_ps(ai, b0, c##i##0);                                 \
        c##i##1 = _mm256_fmadd_ps(ai, b1, c##i##1);                                 \
    }
#define STORE(i)                                                                    \
    _mm256_storeu_ps(dst + i * ld + 0, c##i##0);                                    \
    _mm256_storeu_ps(dst + i * ld + 8, c##i##1);

__attribute__((target("avx2,fma"))) static void tile_avx2(int d, const float *a,
                                                          const float *b, float *out,
                                                          long ldo, int mr, int nr)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
           c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int k = 0; k < d; k++) {
        const float *ak = a + k * MR, *bk = b + k * NR;
        __m256 b0 = _mm256_load_ps(bk), b1 = _mm256_load_ps(bk + 8);
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
    }
    float tile[MR * NR] __attribute__((aligned(32)));
    int full = mr == MR && nr == NR;
    float *dst = full ? out : tile;
    long ld = full ? ldo : NR;
    STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5)
    if (!full) store_tile(tile, out, ldo, mr, nr);
}

static void tile_portable(int d, const float *a, const float *b, float *out, long ldo, int mr,
                          int nr)
{
    float acc[MR][NR] = {{0}};
    for (int k = 0; k < d; k++)
        for (int i = 0; i < MR; i++) {
            float ai = a[k * MR + i];
            for (int j = 0; j < NR; j++) acc[i][j] += ai * b[k * NR + j];
        }
    store_tile(&acc[0][0], out, ldo, mr, nr);
}

void moe_grouped_gemm(const float *x, const float *w, const int32_t *offsets, float *out,
                      int t, int e, int d, int f)
{
    static int simd = -1;
    if (simd < 0) {
        __builtin_cpu_init();
        simd = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    if (t <= 0 || f <= 0) return;
    if (d <= 0) {
        memset(out, 0, sizeof(float) * (size_t)t * f);
        return;
    }
    size_t panels = (size_t)(f + NR - 1) / NR;
    float *b = grow(&pack_b, &cap_b, panels * NR * d);
    float *a = grow(&pack_a, &cap_a, (size_t)(t + MR - 1) / MR * MR * d);
    if (!a || !b) abort();
    for (int g = 0; g < e; g++) {
        int r0 = offsets[g], n = offsets[g + 1] - r0;
        if (n <= 0) continue;
        pack_rows(x, r0, n, d, a);
        pack_cols(w + (size_t)g * d * f, d, f, b);
        for (size_t q = 0; q < panels; q++) {
            int j0 = (int)q * NR, nr = f - j0 < NR ? f - j0 : NR;
            const float *bq = b + q * d * NR;
            for (int p = 0; p * MR < n; p++) {
                int mr = n - p * MR < MR ? n - p * MR : MR;
                const float *ap = a + (size_t)p * d * MR;
                float *o = out + (size_t)(r0 + p * MR) * f + j0;
                if (simd)
                    tile_avx2(d, ap, bq, o, f, mr, nr);
                else
                    tile_portable(d, ap, bq, o, f, mr, nr);
            }
        }
    }
}
