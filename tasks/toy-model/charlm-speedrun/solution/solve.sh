#!/usr/bin/env bash
# The reference solution, run by the oracle agent as the agent user in /workspace; solution/
# is at $SOLUTION_DIR. RSIBENCH CANARY 2ea25c44-f9d7-42f2-96d3-764a0b96ee71
# Oracle: the reference speedrun trainer (see README.md).
set -euo pipefail
cp "$SOLUTION_DIR/train.py" /workspace/train.py
