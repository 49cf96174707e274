#!/usr/bin/env bash
# Run the test suite on a fresh machine: sets up what is missing, builds the sandbox images,
# then runs ruff, inspect-evals-lint and pytest (Docker tests included). Extra arguments go to pytest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
ensure_chromium   # the leaderboard page is checked in a real browser
ensure_tmux       # `rsibench baseline` sessions are driven in a real terminal
cd "$RSIBENCH_HOME"
"$RSIBENCH_VENV/bin/ruff" check src tests scorers benchmarks tasks
"$RSIBENCH_VENV/bin/ruff" format --check src tests scorers benchmarks tasks
"$RSIBENCH_VENV/bin/inspect-evals-lint" --all   # inspect_evals' conventions ([tool.inspect-evals-lint])
"$RSIBENCH_VENV/bin/rsibench" images build
exec "$RSIBENCH_VENV/bin/pytest" "$@"
