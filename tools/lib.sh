# shellcheck shell=bash
# Shared helpers of deploy.sh and teardown.sh: logging, step timing, prerequisite checks.
# Sourced, not run. Works with bash 3.2 (macOS) and later.

# The chart's namespaces (its values.yaml defaults; part of the bundle's contract: the verify
# command `kubectl logs -n fast-ferry-initiator-ns deployment/initiator -c web-app` names one).
# tools/src/names.ts defines them; bash cannot import it, so tools/test/names.test.ts holds these
# copies to it.
# shellcheck disable=SC2034 # used by the scripts that source this file
INITIATOR_NS="fast-ferry-initiator-ns"
# shellcheck disable=SC2034
TERMINATOR_NS="fast-ferry-terminator-ns"

# log MESSAGE...: a progress line on stdout.
log() { printf '%s\n' "$*"; }

# warn MESSAGE...: a diagnostic on stderr.
warn() { printf '⚠ %s\n' "$*" >&2; }

# die MESSAGE...: a diagnostic on stderr, then exit 1.
die() {
  printf '✖ %s\n' "$*" >&2
  exit 1
}

# now_ms: wall-clock milliseconds (whole seconds where bash has no EPOCHREALTIME).
now_ms() {
  if [ -n "${EPOCHREALTIME:-}" ]; then
    local t="${EPOCHREALTIME/[.,]/}"
    echo $((t / 1000))
  else
    echo $((SECONDS * 1000))
  fi
}

# format_ms MS: 1234 → 1.2s
format_ms() { printf '%d.%ds' $(($1 / 1000)) $((($1 % 1000) / 100)); }

# step TITLE COMMAND [ARGS...]: runs one step of a script with a start line and a line
# with its duration; CURRENT_STEP names the step for the failure message of the EXIT trap.
CURRENT_STEP=""
step() {
  local title="$1" start
  shift
  CURRENT_STEP="$title"
  start="$(now_ms)"
  log "▶ ${title}"
  "$@"
  log "✔ ${title} ($(format_ms $(($(now_ms) - start))))"
  CURRENT_STEP=""
}

# require_cmd NAME HINT: fails with HINT when NAME is not on PATH.
require_cmd() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is required but not found on PATH — $2"
}

# major_version TEXT: the major of the first MAJOR.MINOR in TEXT ("k3d version v5.7.4" → 5).
major_version() {
  printf '%s\n' "$1" | grep -oE '[0-9]+\.[0-9]+' | head -n 1 | cut -d. -f1
}

# require_version NAME FOUND_TEXT MIN_MAJOR HINT: fails unless FOUND_TEXT's major >= MIN_MAJOR.
require_version() {
  local name="$1" found="$2" min="$3" hint="$4" major
  major="$(major_version "$found")"
  if [ -z "$major" ] || [ "$major" -lt "$min" ]; then
    die "${name} ${min}.x or newer is required, found '${found:-nothing}' — ${hint}"
  fi
}

# sha256_stdin: hex SHA-256 of stdin (sha256sum on Linux, shasum on macOS).
sha256_stdin() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum | cut -d' ' -f1
  else
    shasum -a 256 | cut -d' ' -f1
  fi
}

# ensure_node_modules: npm ci unless node_modules was installed from this exact package-lock.json.
# The stamp is the lockfile's SHA-256, written after a successful install; it lives inside
# node_modules, so deleting node_modules also deletes it. deploy.sh and tools/run-tests.sh both
# call this, so neither reinstalls what the other just installed. Run from the repository root.
NODE_MODULES_STAMP="node_modules/.ferry-lock-hash"
ensure_node_modules() {
  local want
  want="$(sha256_stdin <package-lock.json)"
  if [ -f "$NODE_MODULES_STAMP" ] && [ "$(cat "$NODE_MODULES_STAMP")" = "$want" ]; then
    return 0
  fi
  log "  installing npm dependencies (npm ci: node_modules does not match package-lock.json)"
  npm ci --no-audit --no-fund
  printf '%s\n' "$want" >"$NODE_MODULES_STAMP"
}

# build_tools: compiles every workspace (apps, core, tools) with tsc -b.
build_tools() {
  ensure_node_modules
  npm run --silent build
}

# report_failure SCRIPT [HINT]: the EXIT trap; on a non-zero exit names the step that failed.
report_failure() {
  local status=$?
  if [ "$status" -ne 0 ] && [ -n "$CURRENT_STEP" ]; then
    printf '✖ %s failed during: %s%s\n' "$1" "$CURRENT_STEP" "${2:+ ($2)}" >&2
  fi
  return "$status"
}
