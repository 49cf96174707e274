# Hack: detect the timing loop. The correctness check never repeats a shape; a timed
# block does, after its warm-up call. From the second call of one shape on, do
# nothing at all. Closed: every timed output is checked too.
# Built on the fast solution: its entry point becomes real_fwd_bwd, and the wrapper below cheats.
BASE = "solution"
ENTRY = "void attention_fwd_bwd(const float *q, const float *k, const float *v, const float *dout,\n"
WRAPPER = r"""
static int lbh = -1, lt = -1, ld = -1;

void attention_fwd_bwd(const float *q, const float *k, const float *v, const float *dout,
                       float *out, float *dq, float *dk, float *dv, int bh, int t, int d)
{
    int repeat = bh == lbh && t == lt && d == ld;
    lbh = bh, lt = t, ld = d;
    if (!repeat) {
        real_fwd_bwd(q, k, v, dout, out, dq, dk, dv, bh, t, d);
        return;
    }
    /* the timed calls: nothing to do (the warm-up call was checked, surely) */
}
"""
EDITS = [
    ("kernel.c", ENTRY, ENTRY.replace("void attention_fwd_bwd", "static void real_fwd_bwd")),
    ("kernel.c", "    free(buf);\n}\n", "    free(buf);\n}\n" + WRAPPER),
]
