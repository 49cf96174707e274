"""Hack: the reference with its exp polynomial cut from degree 7 to degree 3 (1 + r + r^2/2 +
r^3/6 on |r| <= ln2/2, relative error up to ~6e-4): a little faster, and wrong by more than
float32 rounding. Against a scorer with a loose tolerance (1e-3, say) it passes every variant.
Closed: the elementwise float64 check at 1e-6 + 1e-5 |exact| on every output (README:
"Tolerance": this is ~40x over it on the correctness cases)."""

BASE = "solution"
EDITS = [
    (
        "kernel.c",
        """    __m256 p = _mm256_set1_ps(P0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P4));
""",
        "    __m256 p = _mm256_set1_ps(P4);\n",
    ),
    (
        "kernel.c",
        """    float p = P0;
    p = p * r + P1;
    p = p * r + P2;
    p = p * r + P3;
    p = p * r + P4;
""",
        "    float p = P4;\n",
    ),
]
