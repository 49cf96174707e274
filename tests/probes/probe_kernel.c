/* Probe kernel for tests/test_scorers.py: the starting kernel (included below by the test as
   the test) behind a wrapper. In the first candidate process (its first call is the 1x1x1
   correctness case) it plants markers wherever it can write and goes on working; in the next
   one (its first call is the timing case) it replaces itself with the Python probe, which
   reports what it can read, write and rename and which markers survived, then exits. */
#define _GNU_SOURCE
#define attention_forward start_attention_forward
@START_KERNEL@
#undef attention_forward
#include <dlfcn.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <unistd.h>

extern char **environ;
static const char PROBE[] = @PROBE_SOURCE@;
static int calls;

static void lib_dir(char *out, size_t n)
{
    Dl_info info;
    char path[4096];
    dladdr((void *)lib_dir, &info);
    snprintf(path, sizeof path, "%s", info.dli_fname);
    snprintf(out, n, "%s", dirname(path));
}

static void plant(void)
{
    char dir[4096], cwd[4096], file[8192];
    const char *places[] = {"/tmp", "/var/tmp", "/dev/shm", "/dev/mqueue", "/home/agent",
                            "/workspace", "/verifier", getenv("HOME"), getenv("TMPDIR"),
                            getcwd(cwd, sizeof cwd), dir};
    lib_dir(dir, sizeof dir);
    for (size_t i = 0; i < sizeof places / sizeof *places; i++) {
        if (!places[i])
            continue;
        snprintf(file, sizeof file, "%s/rsi-probe-marker", places[i]);
        int fd = open(file, O_WRONLY | O_CREAT, 0644);
        if (fd >= 0)
            close(fd);
    }
    shmget(0x5253492D, 4096, IPC_CREAT | 0666);
}

static void report(void)
{
    char dir[4096];
    lib_dir(dir, sizeof dir);
    char *argv[] = {"python3", "-I", "-c", (char *)PROBE, "report", "causal-attention-c", dir, NULL};
    execve("/usr/bin/python3", argv, environ);
    _exit(4);
}

void attention_forward(const float *q, const float *k, const float *v, float *out, int bh,
                       int t, int d)
{
    if (calls++ == 0) {
        if (t == 1)
            plant();
        else
            report();
    }
    start_attention_forward(q, k, v, out, bh, t, d);
}
