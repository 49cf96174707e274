/* RSIBENCH CANARY 0a9951ff-b9a5-4669-ac02-7bcd811366b1 */
/*
 * Softmax cross-entropy, forward and backward, for the LM head:
 *
 *   logits:  n * v floats, row-major (n tokens, a vocabulary of v classes)
 *   targets: n floats, each an exact integer class index in [0, v)
 *   loss:    n floats,      loss[i]       = logsumexp(logits[i]) - logits[i][t_i]
 *                                         = -log(softmax(logits[i])[t_i])
 *   dlogits: n * v floats,  dlogits[i][j] = softmax(logits[i])[j] - (j == t_i)
 *
 * (per-token losses and their gradients; no averaging over the n tokens)
 */
#include <math.h>
#include <stdlib.h>

/* log(sum_j exp(row[j])), computed stably (the row's max is subtracted before
   exponentiating, so large logits cannot overflow) and summed in long double, so that
   adding up 50k terms loses nothing. */
static double row_logsumexp(const float *row, int v)
{
    long double mx = -INFINITY;
    for (int j = 0; j < v; j++)
        mx = fmaxl(mx, row[j]);
    long double sum = 0.0L;
    for (int j = 0; j < v; j++)
        sum += expl(row[j] - mx);
    return (double)(mx + logl(sum));
}

/* p[j] = exp(row[j]) / sum_k exp(row[k]), stably */
static void row_softmax(const float *row, int v, double *p)
{
    double mx = -INFINITY;
    for (int j = 0; j < v; j++)
        mx = fmax(mx, row[j]);
    double sum = 0.0;
    for (int j = 0; j < v; j++)
        sum += exp(row[j] - mx);
    for (int j = 0; j < v; j++)
        p[j] = exp(row[j] - mx) / sum;
}

void xent_fwd_bwd(const float *logits, const float *targets, float *loss, float *dlogits, int n,
                  int v)
{
    /* forward: the loss of each token */
    for (int i = 0; i < n; i++) {
        const float *row = logits + (size_t)i * v;
        int t = (int)targets[i];
        loss[i] = (float)(row_logsumexp(row, v) - row[t]);
    }

    /* backward: d loss[i] / d logits[i][j] = softmax(logits[i])[j] - (j == t_i) */
    for (int i = 0; i < n; i++) {
        const float *row = logits + (size_t)i * v;
        float *grad = dlogits + (size_t)i * v;
        int t = (int)targets[i];
        double *p = malloc((size_t)v * sizeof(double));
        row_softmax(row, v, p);
        for (int j = 0; j < v; j++) {
            double onehot = j == t ? 1.0 : 0.0;
            grad[j] = (float)(p[j] - onehot);
        }
        free(p);
    }
}
