/* RSIBENCH CANARY f33e71b1-bcc0-43cb-a544-87895a0b8b95 */
/*
 * Causal multi-head attention, forward and backward, float32: the fused, memory-efficient
 * version (FlashAttention-2's schedule on one CPU core).
 *
 * Per head: padded copies of the inputs (rows to a multiple of the block, features to a
 * multiple of 8; q pre-scaled; k and v also transposed). Forward: for each block of query
 * rows, an online softmax over blocks of keys up to the diagonal; keeps only the row
 * log-sum-exp. Backward: for each block of keys, recompute s and p for the query blocks at
 * or below the diagonal, accumulate dv and dk in a register-friendly tile and dq in place.
 * Extra memory: O(t * d) per call, never t * t. Everything is a C += A B product through
 * one 6 x 16 AVX2/FMA micro-kernel; exp is a vectorised polynomial (about 1e-7 relative).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC target("avx2,fma")

typedef float v8 __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));

enum { BR = 64, BC = 64, MR = 6 };

static inline v8 splat(float x) { return (v8){x, x, x, x, x, x, x, x}; }

/* exp(x) for a vector of x <= 0 (-inf included): 2^n * poly(r), r in [-ln2/2, ln2/2] */
static inline v8 vexp(v8 x)
{
    v8i live = x > splat(-87.0f); /* below: 0 (also for -inf) */
    x = __builtin_ia32_maxps256(x, splat(-87.0f));
    v8 n = __builtin_ia32_roundps256(x * splat(1.44269504088896341f), 0);
    v8 r = x - n * splat(0.693359375f);
    r = r - n * splat(-2.12194440e-4f);
    v8 p = splat(1.9875691500e-4f);
    p = p * r + splat(1.3981999507e-3f);
    p = p * r + splat(8.3334519073e-3f);
    p = p * r + splat(4.1665795894e-2f);
    p = p * r + splat(1.6666665459e-1f);
    p = p * r + splat(5.0000001201e-1f);
    p = p * r * r + r + splat(1.0f);
    v8i e = (__builtin_convertvector(n, v8i) + 127) << 23;
    return (v8)((v8i)(p * (v8)e) & live);
}

/* C[mr x 8nv] (+)= A[mr x K] B[K x 8nv], A[r][k] = A[r * sm + k * sk] (so A may be read
   transposed); B and C rows 32-byte aligned */
static inline __attribute__((always_inline)) void micro(int mr, int nv, int K,
    const float *A, int sm, int sk, const float *B, int ldb, float *C, int ldc, int acc)
{
    v8 c[MR][2];
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 2
        for (int u = 0; u < 2; u++)
            c[r][u] = splat(0.0f);
    for (int kk = 0; kk < K; kk++) {
        const v8 *b = (const v8 *)(B + (size_t)kk * ldb);
        v8 b0 = b[0], b1 = nv > 1 ? b[1] : splat(0.0f);
#pragma GCC unroll 6
        for (int r = 0; r < MR; r++) {
            if (r < mr) {
                v8 a = splat(A[(size_t)r * sm + (size_t)kk * sk]);
                c[r][0] += a * b0;
                if (nv > 1)
                    c[r][1] += a * b1;
            }
        }
    }
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
        if (r < mr) {
            v8 *o = (v8 *)(C + (size_t)r * ldc);
            o[0] = acc ? o[0] + c[r][0] : c[r][0];
            if (nv > 1)
                o[1] = acc ? o[1] + c[r][1] : c[r][1];
        }
    }
}

static void gemm(int M, int N, int K, const float *A, int sm, int sk, const float *B, int ldb,
                 float *C, int ldc, int acc)
{
    int m = 0;
    for (; m + MR <= M; m += MR) {
        const float *a = A + (size_t)m * sm;
        float *c = C + (size_t)m * ldc;
        int n = 0;
        for (; n + 16 <= N; n += 16)
            micro(MR, 2, K, a, sm, sk, B + n, ldb, c + n, ldc, acc);
        if (n < N)
            micro(MR, 1, K, a, sm, sk, B + n, ldb, c + n, ldc, acc);
    }
    for (; m < M; m++) {
        const float *a = A + (size_t)m * sm;
        float *c = C + (size_t)m * ldc;
        int n = 0;
        for (; n + 16 <= N; n += 16)
            micro(1, 2, K, a, sm, sk, B + n, ldb, c + n, ldc, acc);
        if (n < N)
            micro(1, 1, K, a, sm, sk, B + n, ldb, c + n, ldc, acc);
    }
}

static float *falloc(size_t n)
{
    float *p = aligned_alloc(32, (n * sizeof(float) + 31) / 32 * 32);
    memset(p, 0, n * sizeof(float));
    return p;
}

static void transpose(const float *src, int rows, int cols, int lds, float *dst, int ldd)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            dst[(size_t)c * ldd + r] = src[(size_t)r * lds + c];
}

static void head(const float *q, const float *k, const float *v, const float *dout,
                 float *out, float *dq, float *dk, float *dv, int t, int d, int tp, int dp,
                 float *buf)
{
    const float scale = 1.0f / sqrtf((float)d);
    size_t td = (size_t)tp * dp;
    float *Q = buf, *K = Q + td, *KT = K + td, *V = KT + td, *VT = V + td, *DO = VT + td;
    float *DQ = DO + td, *lse = DQ + td, *Dr = lse + tp;
    float *S = Dr + tp, *P = S + BR * BC, *DS = P + BR * BC;
    float *O = DS + BR * BC, *DKa = O + (size_t)BR * dp, *DVa = DKa + (size_t)BC * dp;
    memset(buf, 0, sizeof(float) * (6 * td));  /* padding must be zero */
    memset(DQ, 0, sizeof(float) * td);
    for (int i = 0; i < t; i++)
        for (int c = 0; c < d; c++) {
            size_t s = (size_t)i * d + c, o = (size_t)i * dp + c;
            Q[o] = q[s] * scale;
            K[o] = k[s];
            V[o] = v[s];
            DO[o] = dout[s];
        }
    transpose(K, tp, dp, dp, KT, tp);
    transpose(V, tp, dp, dp, VT, tp);

    /* forward: online softmax over key blocks */
    for (int i0 = 0; i0 < t; i0 += BR) {
        int mr = t - i0 < BR ? t - i0 : BR;
        float m[BR], l[BR];
        for (int r = 0; r < mr; r++) m[r] = -INFINITY, l[r] = 0.0f;
        memset(O, 0, sizeof(float) * BR * dp);
        int jend = i0 + mr;
        for (int j0 = 0; j0 < jend; j0 += BC) {
            int nk = jend - j0 < BC ? jend - j0 : BC; /* keys that any row here may see */
            gemm(mr, BC, d, Q + (size_t)i0 * dp, dp, 1, KT + j0, tp, S, BC, 0);
            for (int r = 0; r < mr; r++) {
                int i = i0 + r;
                float *s = S + r * BC, *p = P + r * BC;
                int lim = i - j0 + 1; /* columns c < lim are visible */
                for (int c = lim; c < BC; c++) s[c] = -INFINITY;
                v8 vmx = splat(m[r]);
                for (int c = 0; c < BC; c += 8)
                    vmx = __builtin_ia32_maxps256(vmx, *(v8 *)(s + c));
                float mx = vmx[0];
                for (int u = 1; u < 8; u++) mx = vmx[u] > mx ? vmx[u] : mx;
                float alpha = expf(m[r] - mx);
                v8 sum = splat(0.0f), vm = splat(mx);
                for (int c = 0; c < BC; c += 8) {
                    v8 e = vexp(*(v8 *)(s + c) - vm);
                    *(v8 *)(p + c) = e;
                    sum += e;
                }
                float su = 0.0f;
                for (int u = 0; u < 8; u++) su += sum[u];
                l[r] = l[r] * alpha + su;
                m[r] = mx;
                if (alpha != 1.0f) {
                    v8 va = splat(alpha);
                    for (int c = 0; c < dp; c += 8) *(v8 *)(O + r * dp + c) *= va;
                }
            }
            gemm(mr, dp, nk, P, BC, 1, V + (size_t)j0 * dp, dp, O, dp, 1);
        }
        for (int r = 0; r < mr; r++) {
            int i = i0 + r;
            float inv = 1.0f / l[r];
            float dsum = 0.0f;
            for (int c = 0; c < d; c++) {
                float o = O[r * dp + c] * inv;
                out[(size_t)i * d + c] = o;
                dsum += o * dout[(size_t)i * d + c];
            }
            lse[i] = m[r] + logf(l[r]);
            Dr[i] = dsum;
        }
    }
    for (int i = t; i < tp; i++) lse[i] = INFINITY, Dr[i] = 0.0f;

    /* backward: per key block, over the query blocks at or below the diagonal */
    for (int j0 = 0; j0 < t; j0 += BC) {
        int nc = t - j0 < BC ? t - j0 : BC;
        memset(DKa, 0, sizeof(float) * BC * dp);
        memset(DVa, 0, sizeof(float) * BC * dp);
        for (int i0 = j0 / BR * BR; i0 < t; i0 += BR) {
            int mr = t - i0 < BR ? t - i0 : BR;
            gemm(mr, BC, d, Q + (size_t)i0 * dp, dp, 1, KT + j0, tp, S, BC, 0);
            gemm(mr, BC, d, DO + (size_t)i0 * dp, dp, 1, VT + j0, tp, DS, BC, 0); /* dp */
            for (int r = 0; r < mr; r++) {
                int i = i0 + r;
                float *s = S + r * BC, *p = P + r * BC, *ds = DS + r * BC;
                v8 vl = splat(lse[i]), vd = splat(Dr[i]);
                for (int c = 0; c < BC; c += 8) {
                    v8 e = vexp(*(v8 *)(s + c) - vl);
                    *(v8 *)(p + c) = e;
                    *(v8 *)(ds + c) = e * (*(v8 *)(ds + c) - vd);
                }
                int lim = i - j0 + 1;
                for (int c = lim < 0 ? 0 : lim; c < BC; c++) p[c] = 0.0f, ds[c] = 0.0f;
            }
            gemm(nc, dp, mr, P, 1, BC, DO + (size_t)i0 * dp, dp, DVa, dp, 1);
            gemm(mr, dp, nc, DS, BC, 1, K + (size_t)j0 * dp, dp, DQ + (size_t)i0 * dp, dp, 1);
            gemm(nc, dp, mr, DS, 1, BC, Q + (size_t)i0 * dp, dp, DKa, dp, 1);
        }
        for (int c = 0; c < nc; c++)
            for (int x = 0; x < d; x++) {
                dk[(size_t)(j0 + c) * d + x] = DKa[c * dp + x];
                dv[(size_t)(j0 + c) * d + x] = DVa[c * dp + x];
            }
    }
    for (int i = 0; i < t; i++)
        for (int x = 0; x < d; x++)
            dq[(size_t)i * d + x] = DQ[(size_t)i * dp + x] * scale;
}

void attention_fwd_bwd(const float *q, const float *k, const float *v, const float *dout,
                       float *out, float *dq, float *dk, float *dv, int bh, int t, int d)
{
    if (bh <= 0 || t <= 0 || d <= 0)
        return;
    int tp = (t + BR - 1) / BR * BR, dp = (d + 7) / 8 * 8;
    size_t td = (size_t)tp * dp;
    size_t n = 7 * td + 2 * (size_t)tp + 4 * BR * BC + (size_t)(BR + 2 * BC) * dp;
    float *buf = falloc(n);
    if (!buf)
        abort();
    for (int h = 0; h < bh; h++) {
        size_t off = (size_t)h * t * d;
        head(q + off, k + off, v + off, dout + off, out + off, dq + off, dk + off, dv + off,
             t, d, tp, dp, buf);
    }
    free(buf);
}
