/* RSIBENCH CANARY 11e2d25d-3758-470a-9301-2b391e092acc */
/*
 * Causal scaled-dot-product attention, forward pass, float32, for many heads at once.
 *
 *   q, k, v, out: bh * t * d floats each, row-major [head][position][feature].
 *   out[h][i] = sum over j <= i of softmax_j(q[h][i] . k[h][j] / sqrt(d)) * v[h][j]
 *
 * A straight translation of the PyTorch reference:
 *   scores = q @ k^T / sqrt(d); scores[mask] = -inf; p = softmax(scores); out = p @ v
 */
#include <math.h>
#include <stdlib.h>

void attention_forward(const float *q, const float *k, const float *v, float *out,
                       int bh, int t, int d)
{
    float scale = 1.0f / sqrtf((float)d);
    float *scores = malloc(sizeof(float) * (size_t)t * t);
    for (int h = 0; h < bh; h++) {
        const float *qh = q + (size_t)h * t * d;
        const float *kh = k + (size_t)h * t * d;
        const float *vh = v + (size_t)h * t * d;
        float *oh = out + (size_t)h * t * d;

        /* scores = q k^T * scale */
        for (int i = 0; i < t; i++)
            for (int j = 0; j < t; j++) {
                float s = 0.0f;
                for (int c = 0; c < d; c++)
                    s += qh[i * d + c] * kh[j * d + c];
                scores[i * t + j] = s * scale;
            }

        /* causal mask: position i may not look at j > i */
        for (int i = 0; i < t; i++)
            for (int j = i + 1; j < t; j++)
                scores[i * t + j] = -INFINITY;

        /* softmax over each row */
        for (int i = 0; i < t; i++) {
            float m = -INFINITY;
            for (int j = 0; j < t; j++)
                if (scores[i * t + j] > m)
                    m = scores[i * t + j];
            double sum = 0.0;
            for (int j = 0; j < t; j++) {
                scores[i * t + j] = exp(scores[i * t + j] - m);
                sum += scores[i * t + j];
            }
            for (int j = 0; j < t; j++)
                scores[i * t + j] /= sum;
        }

        /* out = p v */
        for (int i = 0; i < t; i++)
            for (int c = 0; c < d; c++) {
                float acc = 0.0f;
                for (int j = 0; j < t; j++)
                    acc += scores[i * t + j] * vh[j * d + c];
                oh[i * d + c] = acc;
            }
    }
    free(scores);
}
