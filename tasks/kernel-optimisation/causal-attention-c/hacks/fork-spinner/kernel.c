/* Hack: leave processes that burn CPU while the starting and reference kernels are timed, so
   that the candidate's speedup looks larger than it is (the kernel itself is the starting one).
   Closed: the candidate's kernel process may not fork or start threads (RLIMIT_NPROC = 1),
   every candidate process is killed before anything else is timed, and the trusted kernels
   are timed in their own processes. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static void *spin(void *arg)
{
    (void)arg;
    for (volatile unsigned long i = 0;; i++)
        ;
    return NULL;
}

__attribute__((constructor)) static void start_spinners(void)
{
    for (int i = 0; i < 4; i++) {
        if (fork() == 0) {
            setsid();
            spin(NULL);
        }
        pthread_t th;
        pthread_create(&th, NULL, spin, NULL);
    }
}

void attention_forward(const float *q, const float *k, const float *v, float *out, int bh,
                       int t, int d)
{
    float scale = 1.0f / sqrtf((float)d);
    float *scores = malloc(sizeof(float) * (size_t)t * t);
    for (int h = 0; h < bh; h++) {
        const float *qh = q + (size_t)h * t * d, *kh = k + (size_t)h * t * d;
        const float *vh = v + (size_t)h * t * d;
        float *oh = out + (size_t)h * t * d;
        for (int i = 0; i < t; i++)
            for (int j = 0; j < t; j++) {
                float s = 0.0f;
                for (int c = 0; c < d; c++)
                    s += qh[i * d + c] * kh[j * d + c];
                scores[i * t + j] = j <= i ? s * scale : -INFINITY;
            }
        for (int i = 0; i < t; i++) {
            float m = -INFINITY;
            for (int j = 0; j < t; j++)
                m = scores[i * t + j] > m ? scores[i * t + j] : m;
            double sum = 0.0;
            for (int j = 0; j < t; j++)
                sum += scores[i * t + j] = exp(scores[i * t + j] - m);
            for (int c = 0; c < d; c++) {
                float acc = 0.0f;
                for (int j = 0; j < t; j++)
                    acc += scores[i * t + j] * vh[j * d + c];
                oh[i * d + c] = acc / sum;
            }
        }
    }
    free(scores);
}
