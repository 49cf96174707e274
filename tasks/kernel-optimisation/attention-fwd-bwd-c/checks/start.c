/* RSIBENCH CANARY f33e71b1-bcc0-43cb-a544-87895a0b8b95 */
/*
 * Causal multi-head attention, forward and backward, float32: one training step's worth.
 *
 *   q, k, v, dout:    inputs, bh * t * d floats each, row-major [head][position][feature]
 *   out, dq, dk, dv:  outputs, same shape
 *
 *   s[i][j] = q[i] . k[j] / sqrt(d) for j <= i (causal), p = softmax over j, out = p v
 *   dq, dk, dv: the gradients of sum(out * dout) with respect to q, k and v.
 *
 * A straight translation of autograd: materialise p (t * t) and dp (t * t) per head.
 */
#include <math.h>
#include <stdlib.h>

void attention_fwd_bwd(const float *q, const float *k, const float *v, const float *dout,
                       float *out, float *dq, float *dk, float *dv, int bh, int t, int d)
{
    float scale = 1.0f / sqrtf((float)d);
    float *p = malloc(sizeof(float) * (size_t)t * t);
    float *dp = malloc(sizeof(float) * (size_t)t * t);
    for (int h = 0; h < bh; h++) {
        size_t off = (size_t)h * t * d;
        const float *qh = q + off, *kh = k + off, *vh = v + off, *doh = dout + off;
        float *oh = out + off, *dqh = dq + off, *dkh = dk + off, *dvh = dv + off;

        /* forward: p = softmax(mask(q k^T * scale)) */
        for (int i = 0; i < t; i++)
            for (int j = 0; j < t; j++) {
                float s = 0.0f;
                for (int c = 0; c < d; c++)
                    s += qh[i * d + c] * kh[j * d + c];
                p[i * t + j] = j <= i ? s * scale : -INFINITY;
            }
        for (int i = 0; i < t; i++) {
            float m = -INFINITY;
            for (int j = 0; j < t; j++)
                if (p[i * t + j] > m)
                    m = p[i * t + j];
            double sum = 0.0;
            for (int j = 0; j < t; j++) {
                p[i * t + j] = expf(p[i * t + j] - m);
                sum += p[i * t + j];
            }
            for (int j = 0; j < t; j++)
                p[i * t + j] /= sum;
        }
        /* out = p v */
        for (int i = 0; i < t; i++)
            for (int c = 0; c < d; c++) {
                float acc = 0.0f;
                for (int j = 0; j < t; j++)
                    acc += p[i * t + j] * vh[j * d + c];
                oh[i * d + c] = acc;
            }

        /* backward: dv = p^T dout */
        for (int j = 0; j < t; j++)
            for (int c = 0; c < d; c++) {
                float acc = 0.0f;
                for (int i = 0; i < t; i++)
                    acc += p[i * t + j] * doh[i * d + c];
                dvh[j * d + c] = acc;
            }
        /* dp = dout v^T */
        for (int i = 0; i < t; i++)
            for (int j = 0; j < t; j++) {
                float acc = 0.0f;
                for (int c = 0; c < d; c++)
                    acc += doh[i * d + c] * vh[j * d + c];
                dp[i * t + j] = acc;
            }
        /* ds = p * (dp - rowsum(p * dp)), scaled; stored over dp */
        for (int i = 0; i < t; i++) {
            float rowdot = 0.0f;
            for (int j = 0; j < t; j++)
                rowdot += p[i * t + j] * dp[i * t + j];
            for (int j = 0; j < t; j++)
                dp[i * t + j] = p[i * t + j] * (dp[i * t + j] - rowdot) * scale;
        }
        /* dq = ds k, dk = ds^T q */
        for (int i = 0; i < t; i++)
            for (int c = 0; c < d; c++) {
                float acc = 0.0f;
                for (int j = 0; j < t; j++)
                    acc += dp[i * t + j] * kh[j * d + c];
                dqh[i * d + c] = acc;
            }
        for (int j = 0; j < t; j++)
            for (int c = 0; c < d; c++) {
                float acc = 0.0f;
                for (int i = 0; i < t; i++)
                    acc += dp[i * t + j] * qh[i * d + c];
                dkh[j * d + c] = acc;
            }
    }
    free(p);
    free(dp);
}
