/* RSIBENCH CANARY 385fdf62-4e6f-4e1f-91b5-f4f6068360a5 */
/*
 * Weight-only int8 quantised linear layer (W8A32), float32 activations:
 *
 *   x:     m * k floats, row-major (m tokens of k features)
 *   w:     n * k int8 weights, row-major, rows packed back to back (row j starts at w + j * k)
 *   scale: n floats, one per output channel (per row of w)
 *   out:   m * n floats, row-major
 *
 *   out[i][j] = scale[j] * sum over c of x[i][c] * w[j][c]
 *
 * A straight translation of "dequantise the weights, then x @ w^T".
 */
#include <stdint.h>

void w8_linear(const float *x, const int8_t *w, const float *scale, float *out, int m, int n,
               int k)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float acc = 0.0f;
            for (int c = 0; c < k; c++) {
                float wf = (float)w[(long)j * k + c] * scale[j]; /* dequantised weight */
                acc += x[(long)i * k + c] * wf;
            }
            out[(long)i * n + j] = acc;
        }
}
