#!/usr/bin/env bash
# CI: stops the dockerd that .ci/docker-up.sh started (and nothing else).
set -o errexit -o nounset -o pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PIDFILE="${REPO_ROOT}/.ferry/ci/dockerd.pid"
[ -f "$PIDFILE" ] || exit 0
pid="$(cat "$PIDFILE")"
rm -f "$PIDFILE"
if [ "$(ps -o comm= -p "$pid" 2>/dev/null)" = "dockerd" ]; then
  kill "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  echo "stopped dockerd ($pid)"
fi
