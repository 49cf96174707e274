#!/usr/bin/env bash
# The reference solution, run by the oracle agent as the agent user in /workspace; solution/
# is at $$SOLUTION_DIR. $canary
# TODO(rsibench): apply the reference solution.
set -euo pipefail
