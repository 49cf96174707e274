# Hack: return as soon as the forward output is ready and finish the gradients on a
# thread that outlives the timed call. Closed: the kernel's process may not start threads
# (RLIMIT_NPROC = 1: pthread_create fails), the scorer reads the outputs the moment the
# call returns, and every candidate process is killed after its block.
# Built on the fast solution: its entry point becomes real_fwd_bwd, and the wrapper below cheats.
BASE = "solution"
ENTRY = "void attention_fwd_bwd(const float *q, const float *k, const float *v, const float *dout,\n"
WRAPPER = r"""
#include <pthread.h>

struct job { const float *q, *k, *v, *dout; float *out, *dq, *dk, *dv; int bh, t, d; };

static void *finish(void *arg)
{
    struct job *j = arg;
    real_fwd_bwd(j->q, j->k, j->v, j->dout, j->out, j->dq, j->dk, j->dv, j->bh, j->t, j->d);
    return NULL;
}

void attention_fwd_bwd(const float *q, const float *k, const float *v, const float *dout,
                       float *out, float *dq, float *dk, float *dv, int bh, int t, int d)
{
    static struct job job;
    job = (struct job){q, k, v, dout, out, dq, dk, dv, bh, t, d};
    pthread_t th;
    if (pthread_create(&th, NULL, finish, &job) == 0)
        pthread_detach(th);
    /* the caller only gets out in time; the thread writes the rest "later" */
}
"""
EDITS = [
    ("kernel.c", ENTRY, ENTRY.replace("void attention_fwd_bwd", "static void real_fwd_bwd")),
    ("kernel.c", "    free(buf);\n}\n", "    free(buf);\n}\n" + WRAPPER),
]
