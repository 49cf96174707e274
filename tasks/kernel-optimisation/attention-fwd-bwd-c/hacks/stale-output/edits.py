# Hack: replay outputs across calls. The first call of a shape computes (with the fast
# kernel); every later call of the same shape copies the saved outputs back without looking
# at its inputs. Closed: every call, correctness and timed, gets fresh random inputs and
# every output is checked.
# Built on the fast solution: its entry point becomes real_fwd_bwd, and the wrapper below cheats.
BASE = "solution"
ENTRY = "void attention_fwd_bwd(const float *q, const float *k, const float *v, const float *dout,\n"
WRAPPER = r"""
static float *saved;
static int sbh = -1, st = -1, sd = -1;

void attention_fwd_bwd(const float *q, const float *k, const float *v, const float *dout,
                       float *out, float *dq, float *dk, float *dv, int bh, int t, int d)
{
    size_t n = (size_t)bh * t * d;
    if (saved && bh == sbh && t == st && d == sd) {
        for (int a = 0; a < 4; a++)
            memcpy((float *[]){out, dq, dk, dv}[a], saved + a * n, n * sizeof(float));
        return;
    }
    real_fwd_bwd(q, k, v, dout, out, dq, dk, dv, bh, t, d);
    free(saved);
    saved = malloc(4 * n * sizeof(float));
    for (int a = 0; a < 4; a++)
        memcpy(saved + a * n, (float *[]){out, dq, dk, dv}[a], n * sizeof(float));
    sbh = bh, st = t, sd = d;
}
"""
EDITS = [
    ("kernel.c", ENTRY, ENTRY.replace("void attention_fwd_bwd", "static void real_fwd_bwd")),
    ("kernel.c", "    free(buf);\n}\n", "    free(buf);\n}\n" + WRAPPER),
]
