#!/usr/bin/env bash
# Prepare this machine for rsibench, idempotently: a virtual environment with rsibench installed,
# a running Docker daemon (installed from Debian's docker.io and started when we are root), and,
# as root, debootstrap (air-gapped image builds) and tmux (the terminal tests of `rsibench baseline`).
# Sourced by ./rsibench and scripts/test.sh; exports RSIBENCH_VENV.
set -euo pipefail

RSIBENCH_HOME="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RSIBENCH_VENV="${RSIBENCH_VENV:-$RSIBENCH_HOME/.venv}"
export RSIBENCH_VENV

say() { printf '\033[1m[rsibench setup]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31m[rsibench setup] %s\033[0m\n' "$*" >&2; exit 2; }

is_root() { [ "$(id -u)" = 0 ]; }

apt_install() {
  is_root || die "need root to install $*: run 'sudo apt-get install $*' and try again"
  command -v apt-get >/dev/null || die "no apt-get here: install $* with your package manager"
  if [ -z "${RSIBENCH_APT_UPDATED:-}" ]; then
    apt-get update -qq >&2 || die "apt-get update failed; check the Debian mirror is reachable"
    RSIBENCH_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2 || die "apt-get install $* failed"
}

ensure_venv() {
  local py
  py="$(command -v python3.11 || command -v python3 || true)"
  [ -n "$py" ] || die "Python 3.11 or newer is needed (apt-get install python3 python3-venv)"
  "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "$py is $("$py" -V 2>&1); rsibench needs Python 3.11 or newer"
  if [ ! -x "$RSIBENCH_VENV/bin/python" ]; then
    say "creating $RSIBENCH_VENV"
    "$py" -m venv "$RSIBENCH_VENV" || die "python3 -m venv failed (apt-get install python3-venv)"
  fi
  local stamp="$RSIBENCH_VENV/.rsibench-installed"
  if [ ! -f "$stamp" ] || [ "$RSIBENCH_HOME/pyproject.toml" -nt "$stamp" ]; then
    say "installing rsibench and its dependencies into $RSIBENCH_VENV (a few minutes the first time)"
    "$RSIBENCH_VENV/bin/python" -m pip install -q --upgrade pip >&2
    "$RSIBENCH_VENV/bin/python" -m pip install -q -e "$RSIBENCH_HOME[dev]" >&2 \
      || die "pip install failed; see the messages above"
    touch "$stamp"
  fi
}

docker_answers() {
  "$RSIBENCH_VENV/bin/python" - <<'PY' 2>/dev/null
import docker
docker.from_env(timeout=5).ping()
PY
}

ensure_docker() {
  docker_answers && return 0
  if ! command -v dockerd >/dev/null; then
    say "installing Debian's docker.io (Docker Engine)"
    apt_install docker.io
  fi
  is_root || die "the Docker daemon is not running: start it with 'sudo systemctl start docker'"
  say "starting the Docker daemon"
  if [ -d /run/systemd/system ] && systemctl start docker 2>/dev/null; then
    :
  else
    mkdir -p /var/log
    setsid dockerd >/var/log/rsibench-dockerd.log 2>&1 < /dev/null &
  fi
  for _ in $(seq 60); do
    docker_answers && return 0
    sleep 1
  done
  die "the Docker daemon did not start; see /var/log/rsibench-dockerd.log"
}

ensure_debootstrap() {
  # Needed only where no registry can be reached (air-gapped): the base image is bootstrapped.
  command -v debootstrap >/dev/null && return 0
  is_root && command -v apt-get >/dev/null && apt_install debootstrap
  return 0
}

ensure_chromium() {
  # Headless Chromium checks the leaderboard page in a real browser (tests/test_leaderboard_page.py).
  command -v chromium >/dev/null && return 0
  is_root && command -v apt-get >/dev/null && apt_install chromium
  return 0
}

ensure_tmux() {
  # The tests drive `rsibench baseline` sessions in a real terminal through tmux.
  command -v tmux >/dev/null && return 0
  if is_root && command -v apt-get >/dev/null; then
    apt_install tmux
  else
    say "tmux is missing: the terminal tests of 'rsibench baseline' will be skipped (apt-get install tmux)"
  fi
}

ensure_venv
ensure_docker
ensure_debootstrap
