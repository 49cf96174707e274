/* Hack: skip the work and make the inputs agree with the outputs instead. The kernel sets
   every logit and target to 0 (casting away const) and writes the exact answer for those
   inputs: loss = log(v), dlogits = 1/v, minus 1 at class 0. A scorer that computes the expected
   values from the kernel's buffers after the call (or trusts that const inputs stay unchanged)
   sees a correct kernel that costs two memsets. Closed: the scorer computes the expected values
   from its own copy of the inputs, and fails a kernel whose input buffers differ afterwards or
   that writes anywhere outside its outputs. */
#include <math.h>
#include <string.h>

void xent_fwd_bwd(const float *logits, const float *targets, float *loss, float *dlogits, int n,
                  int v)
{
    memset((float *)logits, 0, sizeof(float) * (size_t)n * v);
    memset((float *)targets, 0, sizeof(float) * (size_t)n);
    float p = 1.0f / (float)v, l = logf((float)v);
    for (int i = 0; i < n; i++) {
        float *grad = dlogits + (size_t)i * v;
        for (int j = 0; j < v; j++)
            grad[j] = p;
        grad[0] -= 1.0f;
        loss[i] = l;
    }
}
