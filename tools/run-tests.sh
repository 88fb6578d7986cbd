#!/usr/bin/env bash
# Runs every Fast Ferry test suite on this machine, installing what they need first:
# npm dependencies, helm 3 + 4 and shellcheck (chart and script suites), nats-server (JetStream
# example), and a Docker engine for the container test (stopped again if this script started it).
#
#   bash tools/run-tests.sh            # everything (what CI runs)
#   bash tools/run-tests.sh --quick    # no Docker, helm or chaos: unit + integration + adversarial
#
# Settings: DEBUG=1 traces the script.
set -o errexit -o nounset -o pipefail
[ "${DEBUG:-0}" = "1" ] && set -o xtrace

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QUICK=0
RESULTS="${REPO_ROOT}/.ferry/test-results.txt"

# shellcheck source=lib.sh
source "${REPO_ROOT}/tools/lib.sh"
# This script's own progress and failure lines (lib.sh's ensure_node_modules logs through log).
log() { printf '\n▶ %s\n' "$*"; }
die() { printf '❌ %s\n' "$*" >&2; exit 1; }

parse_args() {
  for arg in "$@"; do
    case "$arg" in
      --quick) QUICK=1 ;;
      -h|--help) sed -n '2,9p' "${BASH_SOURCE[0]}"; exit 0 ;;
      *) die "unknown argument ${arg} (try --help)" ;;
    esac
  done
}

check_node() {
  require_cmd node "install Node.js 20 or newer from your package manager or https://nodejs.org/"
  require_version node "$(node --version)" 20 "install Node.js 20 or newer from your package manager or https://nodejs.org/"
  command -v openssl >/dev/null 2>&1 || die "openssl is required (tests issue real certificates): apt-get install openssl"
}

test_files() {
  local files=(core/test/*.test.ts tools/test/*.test.ts bench/test/*.test.ts test/integration/*.test.ts test/adversarial/*.test.ts)
  if [ "$QUICK" = "0" ]; then
    files+=(test/chart/*.test.ts test/scripts/*.test.ts test/container/*.test.ts test/chaos/*.test.ts test/jetstream/*.test.ts)
  fi
  local f
  for f in "${files[@]}"; do [ -f "$f" ] && echo "$f"; done
}

main() {
  parse_args "$@"
  cd "$REPO_ROOT"
  check_node
  # The same stamp as deploy.sh (tools/lib.sh): no second npm ci right after a deploy.
  ensure_node_modules
  log "build and typecheck"
  npm run --silent typecheck
  if [ "$QUICK" = "0" ]; then
    log "tools: helm 3 + 4, shellcheck, nats-server"
    bash .ci/setup-k8s-tools.sh
    bash .ci/setup-nats.sh
    log "Docker engine and base image"
    trap 'bash .ci/docker-down.sh' EXIT
    bash .ci/docker-up.sh
    log "benchmark smoke (keeps the benchmark working; asserts no timings)"
    npm run --silent bench:smoke
  fi
  log "test suites"
  mkdir -p "$(dirname "$RESULTS")"
  local status=0
  # One runner over every suite, one file at a time: the container and chaos suites own the
  # machine while they run, and the closing pass/fail count covers everything.
  mapfile -t files < <(test_files)
  node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}" | tee "$RESULTS" || status=$?
  local passed failed cancelled
  passed="$(sed -n 's/^ℹ pass \([0-9]*\)$/\1/p' "$RESULTS" | tail -1)"
  failed="$(sed -n 's/^ℹ fail \([0-9]*\)$/\1/p' "$RESULTS" | tail -1)"
  # node:test counts a test whose promise never settled (the event loop ran dry) as cancelled.
  cancelled="$(sed -n 's/^ℹ cancelled \([0-9]*\)$/\1/p' "$RESULTS" | tail -1)"
  if [ "$QUICK" = "0" ]; then
    bash .ci/docker-down.sh
    trap - EXIT
  fi
  printf '\ntests: %s passed, %s failed, %s cancelled\n' "${passed:-0}" "${failed:-0}" "${cancelled:-0}"
  return "$status"
}

main "$@"
