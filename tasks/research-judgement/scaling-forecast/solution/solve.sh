#!/usr/bin/env bash
# The oracle: the measured loss of every larger run (the scorer reads the runs a variant asks about).
# RSIBENCH CANARY a32e1c4b-e8ce-4f6f-bda0-e5d0e4ede2a7
set -euo pipefail
cp "$SOLUTION_DIR/forecast.json" /workspace/forecast.json
