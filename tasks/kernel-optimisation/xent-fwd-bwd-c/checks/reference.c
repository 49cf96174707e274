/* RSIBENCH CANARY 0a9951ff-b9a5-4669-ac02-7bcd811366b1 */
/* Fused softmax cross-entropy forward and backward: three passes over each row (max; exp,
   stored in dlogits, and its sum; scale by 1/sum), a vectorised exp (AVX2 + FMA, chosen at
   run time), float32 throughout. */
#include <immintrin.h>
#include <math.h>
#include <stddef.h>

/* exp(x) for x <= 0: x = k ln2 + r with |r| <= ln2 / 2, exp(r) by Cephes' degree-7
   polynomial (~1 ulp), 2^k added to the exponent bits. Clamped below at the smallest normal
   float's log, so no denormals (a probability below 1.2e-38 comes out as 1.2e-38). */
#define EXP_LO -87.33654f
#define LOG2E 1.44269504088896341f
#define LN2_HI 0.693359375f
#define LN2_LO -2.12194440e-4f
#define P0 1.9875691500e-4f
#define P1 1.3981999507e-3f
#define P2 8.3334519073e-3f
#define P3 4.1665795894e-2f
#define P4 1.6666665459e-1f
#define P5 5.0000001201e-1f

static inline float exp_scalar(float x)
{
    if (x < EXP_LO)
        x = EXP_LO;
    float k = (x * LOG2E + 12582912.0f) - 12582912.0f; /* round to nearest: 1.5 * 2^23 */
    float r = x - k * LN2_HI;
    r = r - k * LN2_LO;
    float p = P0;
    p = p * r + P1;
    p = p * r + P2;
    p = p * r + P3;
    p = p * r + P4;
    p = p * r + P5;
    float y = p * r * r + r + 1.0f;
    union { float f; int i; } u = {y};
    u.i += (int)k << 23;
    return u.f;
}

/* One row, portable: the same three passes in scalar code. */
static void row_scalar(const float *x, float *g, int v, int t, float *loss)
{
    float mx = x[0];
    for (int j = 1; j < v; j++)
        mx = x[j] > mx ? x[j] : mx;
    float s[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    int j = 0;
    for (; j + 4 <= v; j += 4)
        for (int l = 0; l < 4; l++)
            s[l] += g[j + l] = exp_scalar(x[j + l] - mx);
    for (; j < v; j++)
        s[0] += g[j] = exp_scalar(x[j] - mx);
    float sum = (s[0] + s[1]) + (s[2] + s[3]);
    float inv = 1.0f / sum;
    for (j = 0; j < v; j++)
        g[j] *= inv;
    g[t] -= 1.0f;
    *loss = (mx - x[t]) + logf(sum);
}

__attribute__((target("avx2,fma"))) static inline __m256 exp8(__m256 x)
{
    x = _mm256_max_ps(x, _mm256_set1_ps(EXP_LO));
    __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(LOG2E)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(LN2_HI), x);
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(LN2_LO), r);
    __m256 p = _mm256_set1_ps(P0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P5));
    __m256 y = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_cvtps_epi32(k), 23);
    return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(y), e));
}

__attribute__((target("avx2,fma"))) static float hmax8(__m256 a)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

__attribute__((target("avx2,fma"))) static float hsum8(__m256 a)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

/* One row, AVX2 + FMA: 4 max accumulators, then exp of 16 elements a step (two independent
   exps and sums in flight), then the scale pass over the row, which is still in cache. */
__attribute__((target("avx2,fma"))) static void row_avx2(const float *x, float *g, int v, int t,
                                                         float *loss)
{
    int j = 0;
    float mx = x[0];
    if (v >= 32) {
        __m256 m0 = _mm256_loadu_ps(x), m1 = m0, m2 = m0, m3 = m0;
        for (; j + 32 <= v; j += 32) {
            m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + j));
            m1 = _mm256_max_ps(m1, _mm256_loadu_ps(x + j + 8));
            m2 = _mm256_max_ps(m2, _mm256_loadu_ps(x + j + 16));
            m3 = _mm256_max_ps(m3, _mm256_loadu_ps(x + j + 24));
        }
        mx = hmax8(_mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3)));
    }
    for (; j < v; j++)
        mx = x[j] > mx ? x[j] : mx;

    __m256 vm = _mm256_set1_ps(mx), s0 = _mm256_setzero_ps(), s1 = s0;
    for (j = 0; j + 16 <= v; j += 16) {
        __m256 e0 = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + j), vm));
        __m256 e1 = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + j + 8), vm));
        _mm256_storeu_ps(g + j, e0);
        _mm256_storeu_ps(g + j + 8, e1);
        s0 = _mm256_add_ps(s0, e0);
        s1 = _mm256_add_ps(s1, e1);
    }
    float sum = hsum8(_mm256_add_ps(s0, s1));
    for (; j < v; j++)
        sum += g[j] = exp_scalar(x[j] - mx);

    float inv = 1.0f / sum;
    __m256 vinv = _mm256_set1_ps(inv);
    for (j = 0; j + 8 <= v; j += 8)
        _mm256_storeu_ps(g + j, _mm256_mul_ps(_mm256_loadu_ps(g + j), vinv));
    for (; j < v; j++)
        g[j] *= inv;
    g[t] -= 1.0f;
    *loss = (mx - x[t]) + logf(sum);
}

void xent_fwd_bwd(const float *logits, const float *targets, float *loss, float *dlogits, int n,
                  int v)
{
    static int avx2 = -1;
    if (avx2 < 0)
        avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    for (int i = 0; i < n; i++) {
        const float *x = logits + (size_t)i * v;
        float *g = dlogits + (size_t)i * v;
        int t = (int)targets[i];
        if (avx2)
            row_avx2(x, g, v, t, loss + i);
        else
            row_scalar(x, g, v, t, loss + i);
    }
}
