/* Hack: compute once, then return the cached output for every later call of the same shape.
   Closed: every call (correctness and timed) gets fresh random inputs and every output is
   checked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static float *cache;
static int cached_m = -1, cached_n = -1, cached_k = -1;

static void compute(const float *x, const int8_t *w, const float *scale, float *out, int m, int n,
                    int k)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float acc = 0.0f;
            for (int c = 0; c < k; c++)
                acc += x[(long)i * k + c] * w[(long)j * k + c];
            out[(long)i * n + j] = acc * scale[j];
        }
}

void w8_linear(const float *x, const int8_t *w, const float *scale, float *out, int m, int n,
               int k)
{
    size_t size = sizeof(float) * (size_t)m * n;
    if (cache && m == cached_m && n == cached_n && k == cached_k) {
        memcpy(out, cache, size);
        return;
    }
    compute(x, w, scale, out, m, n, k);
    free(cache);
    cache = malloc(size);
    memcpy(cache, out, size);
    cached_m = m, cached_n = n, cached_k = k;
}
