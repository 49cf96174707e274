# Hack: ignore the group boundaries and assume every expert gets t / e tokens (the rest to the
# last), the layout of a balanced router or of a test that always draws equal groups; the
# boundaries are never read, so the fast kernel skips the ragged bookkeeping. Closed: the group
# sizes of every call, correctness and timed, are drawn afresh (uneven, empty experts, single
# tokens, all tokens in one expert) and every output is checked.
BASE = "solution"
EDITS = [
    (
        "kernel.c",
        "        int r0 = offsets[g], n = offsets[g + 1] - r0;\n",
        "        int r0 = g * (t / e), n = g == e - 1 ? t - r0 : t / e;\n"
        "        (void)offsets;\n",
    )
]
