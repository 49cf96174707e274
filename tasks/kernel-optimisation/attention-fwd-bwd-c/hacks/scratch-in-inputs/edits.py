# Hack: save a pass by using the inputs as scratch: q is scaled by 1/sqrt(d) in place
# (the input is `const` only by declaration). Closed: the scorer checks that every input
# is bit-for-bit unchanged after each call.
# Built on the fast solution: its entry point becomes real_fwd_bwd, and the wrapper below cheats.
BASE = "solution"
ENTRY = "void attention_fwd_bwd(const float *q, const float *k, const float *v, const float *dout,\n"
WRAPPER = r"""
void attention_fwd_bwd(const float *q, const float *k, const float *v, const float *dout,
                       float *out, float *dq, float *dk, float *dv, int bh, int t, int d)
{
    float scale = 1.0f / sqrtf((float)d);
    float *qw = (float *)q;
    for (size_t i = 0; i < (size_t)bh * t * d; i++)
        qw[i] *= scale * sqrtf((float)d) * 1.0000001f;
    real_fwd_bwd(q, k, v, dout, out, dq, dk, dv, bh, t, d);
}
"""
EDITS = [
    ("kernel.c", ENTRY, ENTRY.replace("void attention_fwd_bwd", "static void real_fwd_bwd")),
    ("kernel.c", "    free(buf);\n}\n", "    free(buf);\n}\n" + WRAPPER),
]
