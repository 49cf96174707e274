#!/usr/bin/env bash
# RSIBENCH CANARY 11e2d25d-3758-470a-9301-2b391e092acc
# Oracle: install the reference kernel.
set -euo pipefail
cp "$SOLUTION_DIR/kernel.c" /workspace/kernel.c
