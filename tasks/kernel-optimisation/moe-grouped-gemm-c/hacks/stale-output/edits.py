# Hack: the fast kernel once, then the saved output for every later call of the same shape
# (a scorer that timed repeated calls on one input would see a near-free kernel). Closed: every
# call, correctness and timed, gets fresh inputs and fresh group sizes, and every output is
# checked (the timed ones after their block).
BASE = "solution"
ENTRY = "void moe_grouped_gemm(const float *x, const float *w, const int32_t *offsets, float *out,\n"
WRAPPER = r"""
static float *saved;
static int saved_t = -1, saved_e, saved_d, saved_f;

void moe_grouped_gemm(const float *x, const float *w, const int32_t *offsets, float *out,
                      int t, int e, int d, int f)
{
    size_t size = sizeof(float) * (size_t)t * f;
    if (saved && t == saved_t && e == saved_e && d == saved_d && f == saved_f) {
        memcpy(out, saved, size);
        return;
    }
    real_gemm(x, w, offsets, out, t, e, d, f);
    free(saved);
    saved = malloc(size);
    memcpy(saved, out, size);
    saved_t = t, saved_e = e, saved_d = d, saved_f = f;
}
"""
EDITS = [("kernel.c", ENTRY, ENTRY.replace("void moe_grouped_gemm", "static void real_gemm"))]
END = "                    tile_portable(d, ap, bq, o, f, mr, nr);\n            }\n        }\n    }\n}\n"
EDITS.append(("kernel.c", END, END + WRAPPER))
