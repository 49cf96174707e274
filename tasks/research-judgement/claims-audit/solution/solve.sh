#!/usr/bin/env bash
# The oracle: the answer key for every question (the scorer reads those a variant asks about).
# RSIBENCH CANARY 81eb1150-095f-4c8d-b961-20c81967740b
set -euo pipefail
cp "$SOLUTION_DIR/audit.json" /workspace/audit.json
