#!/usr/bin/env bash
# RSIBENCH CANARY 385fdf62-4e6f-4e1f-91b5-f4f6068360a5
# Oracle: install the reference kernel.
set -euo pipefail
cp "$SOLUTION_DIR/kernel.c" /workspace/kernel.c
