#!/usr/bin/env bash
# The oracle: the answer key for every run (the scorer reads the runs a variant asks about).
# RSIBENCH CANARY c5b1400f-5974-411e-a3cd-db4c5588f100
set -euo pipefail
cp "$SOLUTION_DIR/diagnosis.json" /workspace/diagnosis.json
