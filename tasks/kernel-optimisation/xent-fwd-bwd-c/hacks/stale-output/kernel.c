/* Hack: compute once per shape (with the starting kernel's arithmetic), then return the cached
   outputs for every later call of the same shape: the timed calls all share one shape, so on a
   scorer that reused its inputs, or checked only the first output, this would look ~free.
   Closed: every call (correctness and timed) gets fresh random inputs and every output is
   checked. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

static float *cached_loss, *cached_grad;
static int cached_n = -1, cached_v = -1;

static void compute(const float *logits, const float *targets, float *loss, float *dlogits, int n,
                    int v)
{
    for (int i = 0; i < n; i++) {
        const float *row = logits + (size_t)i * v;
        float *grad = dlogits + (size_t)i * v;
        int t = (int)targets[i];
        double mx = -INFINITY, sum = 0.0;
        for (int j = 0; j < v; j++)
            mx = row[j] > mx ? row[j] : mx;
        for (int j = 0; j < v; j++)
            sum += exp(row[j] - mx);
        for (int j = 0; j < v; j++)
            grad[j] = (float)(exp(row[j] - mx) / sum - (j == t));
        loss[i] = (float)(mx + log(sum) - row[t]);
    }
}

void xent_fwd_bwd(const float *logits, const float *targets, float *loss, float *dlogits, int n,
                  int v)
{
    size_t nv = (size_t)n * v;
    if (cached_grad && n == cached_n && v == cached_v) {
        memcpy(loss, cached_loss, sizeof(float) * n);
        memcpy(dlogits, cached_grad, sizeof(float) * nv);
        return;
    }
    compute(logits, targets, loss, dlogits, n, v);
    free(cached_loss);
    free(cached_grad);
    cached_loss = malloc(sizeof(float) * n);
    cached_grad = malloc(sizeof(float) * nv);
    memcpy(cached_loss, loss, sizeof(float) * n);
    memcpy(cached_grad, dlogits, sizeof(float) * nv);
    cached_n = n, cached_v = v;
}
