#!/usr/bin/env bash
# Oracle: the fixed framework. RSIBENCH CANARY e04c1ad7-2538-4cc8-ab65-54a6f87a72b1
set -euo pipefail
cp "$SOLUTION_DIR"/lmt/*.py /workspace/lmt/
