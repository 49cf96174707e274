#!/usr/bin/env bash
# RSIBENCH CANARY 0a9951ff-b9a5-4669-ac02-7bcd811366b1
# Oracle: install the reference kernel.
set -euo pipefail
cp "$SOLUTION_DIR/kernel.c" /workspace/kernel.c
