#!/usr/bin/env bash
# RSIBENCH CANARY 27752cae-e234-4d23-b200-8a18189646d5
# Oracle: install the reference kernel.
set -euo pipefail
cp "$SOLUTION_DIR/kernel.c" /workspace/kernel.c
