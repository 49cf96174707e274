#!/usr/bin/env bash
# RSIBENCH CANARY f33e71b1-bcc0-43cb-a544-87895a0b8b95
# Oracle: install the reference kernel.
set -euo pipefail
cp "$SOLUTION_DIR/kernel.c" /workspace/kernel.c
