#!/usr/bin/env bash
# RSIBENCH CANARY 902e0537-71ca-45ca-9714-17f1b7441670
# Oracle: model.py with a KVCache (per-layer keys after RoPE and values of the n_kv_head heads,
# and the key-padding mask), per-row positions over cache + new tokens, and a generate that
# runs the prompt once and then one token per row per step; plus grouped-query attention.
set -euo pipefail
cp "$SOLUTION_DIR/model.py" /workspace/model.py
