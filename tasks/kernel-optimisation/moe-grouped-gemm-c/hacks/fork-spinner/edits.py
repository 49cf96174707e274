# Hack: leave processes that burn CPU while the starting and reference kernels are timed, so
# that the candidate's speedup looks larger than it is (the kernel itself is the starting one).
# Closed: the candidate's kernel process may not fork or start threads (RLIMIT_NPROC = 1),
# every candidate process is killed before anything else is timed, and the trusted kernels are
# timed in their own processes.
SPINNERS = r"""#include <pthread.h>
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

"""
EDITS = [("kernel.c", "#include <stdint.h>\n", "#include <stdint.h>\n" + SPINNERS)]
