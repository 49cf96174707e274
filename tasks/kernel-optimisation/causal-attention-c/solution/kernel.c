/* RSIBENCH CANARY 11e2d25d-3758-470a-9301-2b391e092acc */
/* Reference solution for causal-attention-c (also checks/reference.c): register-tiled,
   vectorised with GCC vector extensions (SSE on x86-64, NEON on arm64; no -m flags), causal
   blocks skipped, a vectorised exp; single-threaded. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* 4-wide float vectors: SSE on x86-64, NEON on arm64, with no -m flags needed */
typedef float v4f __attribute__((vector_size(16)));
typedef int v4i __attribute__((vector_size(16)));
#define QB 4 /* query rows per block */

static inline v4f ld(const float *p) { v4f r; memcpy(&r, p, sizeof r); return r; }
static inline void st(float *p, v4f x) { memcpy(p, &x, sizeof x); }
static inline v4f splat(float a) { return (v4f){a, a, a, a}; }

/* exp(x) for x <= 0: x = n ln2 + r, degree-6 polynomial for e^r (Cephes expf coefficients),
   2^n from exponent bits; relative error about 2e-7, and 0 below -87. */
static inline v4f exp4(v4f x)
{
    v4i low = x < splat(-87.0f);
    x = (v4f)((low & (v4i)splat(-87.0f)) | (~low & (v4i)x));
    v4f fx = x * splat(1.44269504088896341f) + splat(0.5f);
    v4i n = __builtin_convertvector(fx, v4i);
    n += __builtin_convertvector(n, v4f) > fx; /* floor: a true comparison is -1 */
    v4f fn = __builtin_convertvector(n, v4f);
    x = x - fn * splat(0.693359375f) - fn * splat(-2.12194440e-4f);
    v4f y = splat(1.9875691500e-4f);
    y = y * x + splat(1.3981999507e-3f);
    y = y * x + splat(8.3334519073e-3f);
    y = y * x + splat(4.1665795894e-2f);
    y = y * x + splat(1.6666665459e-1f);
    y = y * x + splat(5.0000001201e-1f);
    y = y * x * x + x + splat(1.0f);
    v4i bits = (n + 127) << 23;
    return y * (v4f)bits;
}

void attention_forward(const float *q, const float *k, const float *v, float *out,
                       int bh, int t, int d)
{
    const float scale = 1.0f / sqrtf((float)d);
    const int tp = (t + 7) & ~7; /* keys padded to the 8-wide score tile */
    const int dp = (d + 3) & ~3; /* columns padded to the vector width */
    float *kt = malloc(sizeof(float) * (size_t)d * tp);  /* K^T, zero-padded */
    float *vp = malloc(sizeof(float) * (size_t)tp * dp); /* V, zero-padded */
    float *s = malloc(sizeof(float) * (size_t)QB * tp);  /* one block's probabilities */
    float *qs = malloc(sizeof(float) * (size_t)QB * d);  /* one block's scaled queries */
    for (int h = 0; h < bh; h++) {
        const float *qh = q + (size_t)h * t * d;
        const float *kh = k + (size_t)h * t * d;
        const float *vh = v + (size_t)h * t * d;
        float *oh = out + (size_t)h * t * d;
        memset(kt, 0, sizeof(float) * (size_t)d * tp);
        memset(vp, 0, sizeof(float) * (size_t)tp * dp);
        for (int j = 0; j < t; j++)
            for (int c = 0; c < d; c++) {
                kt[(size_t)c * tp + j] = kh[(size_t)j * d + c];
                vp[(size_t)j * dp + c] = vh[(size_t)j * d + c];
            }
        for (int i0 = 0; i0 < t; i0 += QB) {
            const int nb = t - i0 < QB ? t - i0 : QB;
            const int jv = (i0 + nb + 7) & ~7; /* causal: later keys are never needed */
            for (int r = 0; r < QB; r++)
                for (int c = 0; c < d; c++)
                    qs[r * d + c] = r < nb ? qh[(size_t)(i0 + r) * d + c] * scale : 0.0f;
            /* scores: a 4-row x 8-key tile stays in registers over the whole dot product */
            for (int j = 0; j < jv; j += 8) {
                v4f a0 = splat(0), b0 = splat(0), a1 = splat(0), b1 = splat(0);
                v4f a2 = splat(0), b2 = splat(0), a3 = splat(0), b3 = splat(0);
                for (int c = 0; c < d; c++) {
                    const float *kc = kt + (size_t)c * tp + j;
                    v4f ka = ld(kc), kb = ld(kc + 4);
                    v4f x0 = splat(qs[c]), x1 = splat(qs[d + c]);
                    v4f x2 = splat(qs[2 * d + c]), x3 = splat(qs[3 * d + c]);
                    a0 += x0 * ka; b0 += x0 * kb;
                    a1 += x1 * ka; b1 += x1 * kb;
                    a2 += x2 * ka; b2 += x2 * kb;
                    a3 += x3 * ka; b3 += x3 * kb;
                }
                st(s + j, a0); st(s + j + 4, b0);
                st(s + tp + j, a1); st(s + tp + j + 4, b1);
                st(s + 2 * tp + j, a2); st(s + 2 * tp + j + 4, b2);
                st(s + 3 * tp + j, a3); st(s + 3 * tp + j + 4, b3);
            }
            /* softmax rows; masked and padding keys get probability 0 */
            float inv[QB];
            for (int r = 0; r < QB; r++) {
                float *sr = s + (size_t)r * tp;
                const int n = r < nb ? i0 + r + 1 : 0;
                float m = -INFINITY;
                for (int j = 0; j < n; j++)
                    m = sr[j] > m ? sr[j] : m;
                v4f sum4 = splat(0);
                int j = 0;
                for (; j + 4 <= n; j += 4) {
                    v4f e = exp4(ld(sr + j) - m);
                    st(sr + j, e);
                    sum4 += e;
                }
                float sum = sum4[0] + sum4[1] + sum4[2] + sum4[3];
                for (; j < n; j++) {
                    sr[j] = expf(sr[j] - m);
                    sum += sr[j];
                }
                for (; j < jv; j++)
                    sr[j] = 0.0f;
                inv[r] = n ? 1.0f / sum : 0.0f;
            }
            /* out = P V: a 4-row x 8-column tile in registers, streaming V rows */
            for (int c = 0; c < dp; c += 4) {
                const int two = c + 4 < dp;
                v4f a0 = splat(0), b0 = splat(0), a1 = splat(0), b1 = splat(0);
                v4f a2 = splat(0), b2 = splat(0), a3 = splat(0), b3 = splat(0);
                for (int j = 0; j < jv; j++) {
                    const float *vj = vp + (size_t)j * dp + c;
                    v4f va = ld(vj), vb = two ? ld(vj + 4) : splat(0);
                    v4f p0 = splat(s[j]), p1 = splat(s[tp + j]);
                    v4f p2 = splat(s[2 * tp + j]), p3 = splat(s[3 * tp + j]);
                    a0 += p0 * va; b0 += p0 * vb;
                    a1 += p1 * va; b1 += p1 * vb;
                    a2 += p2 * va; b2 += p2 * vb;
                    a3 += p3 * va; b3 += p3 * vb;
                }
                v4f acc[QB][2] = {{a0 * inv[0], b0 * inv[0]}, {a1 * inv[1], b1 * inv[1]},
                                  {a2 * inv[2], b2 * inv[2]}, {a3 * inv[3], b3 * inv[3]}};
                const int cn = d - c < 8 ? d - c : 8;
                for (int r = 0; r < nb; r++)
                    memcpy(oh + (size_t)(i0 + r) * d + c, acc[r], sizeof(float) * cn);
                c += two ? 4 : 0;
            }
        }
    }
    free(qs);
    free(s);
    free(vp);
    free(kt);
}
