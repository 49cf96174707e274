# Hack: lower the precision: round q, k, v and dout to bfloat16 (8 significant bits) before
# the fast kernel, the way a bf16 GEMM would see them. Closed: the tolerance, 1e-3 + 1e-3|x|,
# is about 20x the float32 kernels' worst error and below what bf16 rounding produces.
# Built on the fast solution: its entry point becomes real_fwd_bwd, and the wrapper below cheats.
BASE = "solution"
ENTRY = "void attention_fwd_bwd(const float *q, const float *k, const float *v, const float *dout,\n"
WRAPPER = r"""
static float bf16(float x)
{
    unsigned u;
    memcpy(&u, &x, 4);
    u = (u + 0x7fff + ((u >> 16) & 1)) & 0xffff0000u;
    memcpy(&x, &u, 4);
    return x;
}

void attention_fwd_bwd(const float *q, const float *k, const float *v, const float *dout,
                       float *out, float *dq, float *dk, float *dv, int bh, int t, int d)
{
    size_t n = (size_t)bh * t * d;
    float *c = malloc(4 * n * sizeof(float));
    const float *src[4] = {q, k, v, dout};
    for (int a = 0; a < 4; a++)
        for (size_t i = 0; i < n; i++)
            c[a * n + i] = bf16(src[a][i]);
    real_fwd_bwd(c, c + n, c + 2 * n, c + 3 * n, out, dq, dk, dv, bh, t, d);
    free(c);
}
"""
EDITS = [
    ("kernel.c", ENTRY, ENTRY.replace("void attention_fwd_bwd", "static void real_fwd_bwd")),
    ("kernel.c", "    free(buf);\n}\n", "    free(buf);\n}\n" + WRAPPER),
]
