# Hack: lower the precision: round the weights to bfloat16 (8 significant bits) while packing
# them, as a bf16 expert GEMM would store them (half the weight bytes). Closed: the tolerance,
# 1e-4 + 1e-4|exact|, is about 60x the float32 kernels' worst error and far below what bf16
# rounding of W produces (README: "Tolerance").
BASE = "solution"
BF16 = r"""static float bf16(float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    u = (u + 0x7fff + ((u >> 16) & 1)) & 0xffff0000u;
    memcpy(&v, &u, 4);
    return v;
}

/* W[g] (d x f) as panels"""
EDITS = [
    ("kernel.c", "/* W[g] (d x f) as panels", BF16),
    (
        "kernel.c",
        "            memcpy(dst, src, sizeof(float) * nr);\n",
        "            for (int j = 0; j < nr; j++) dst[j] = bf16(src[j]);\n",
    ),
]
