#!/usr/bin/env bash
# The oracle: the answer key measured by checks/measure.py (the scorer reads what a variant asks).
# RSIBENCH CANARY 2db0c65a-60d3-4960-b8e3-39e9ee1c74a6
set -euo pipefail
cp "$SOLUTION_DIR/answer.json" /workspace/answer.json
