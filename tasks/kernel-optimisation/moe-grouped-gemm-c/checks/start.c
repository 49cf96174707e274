/* RSIBENCH CANARY 27752cae-e234-4d23-b200-8a18189646d5 */
/* The expert matmul of a mixture-of-experts layer: tokens sorted by expert, ragged groups.
   Straight from the definition: for each token of expert g's group and each output feature j,
   a dot product of the token's row of x with column j of W[g]. */
#include <stdint.h>

void moe_grouped_gemm(const float *x, const float *w, const int32_t *offsets, float *out,
                      int t, int e, int d, int f)
{
    (void)t;
    for (int g = 0; g < e; g++) {
        const float *wg = w + (long)g * d * f; /* W[g]: d rows of f floats */
        for (int i = offsets[g]; i < offsets[g + 1]; i++) {
            for (int j = 0; j < f; j++) {
                float acc = 0.0f;
                for (int c = 0; c < d; c++)
                    acc += x[(long)i * d + c] * wg[(long)c * f + j];
                out[(long)i * f + j] = acc;
            }
        }
    }
}
