#!/usr/bin/env bash
# Deploys Fast Ferry to a local k3d cluster, or runs it as local processes (--local).
#
#   bash deploy.sh                 cluster (if absent) → images → certificates → chart → verify
#   bash deploy.sh --watch         the same, then watches the sources: each save rebuilds, imports
#                                  and rolls only the app whose image content changed (core/:
#                                  both), while following both apps' logs; Ctrl-C stops watching
#   bash deploy.sh --rotate-certs  the same, re-issuing the CA and pod certificates (rolls both pods)
#   bash deploy.sh logs            follows both apps' logs (every pod), each line prefixed by app
#   bash deploy.sh --local [ARGS]  no cluster, no Docker: both apps as local processes
#                                  (ARGS go to `node tools/dist/local.js up`, e.g. --once)
#   bash deploy.sh --local --watch local processes that restart on save, only the app that changed
#   bash deploy.sh --help          this text, with every variable below and its default
#
# Idempotent: a second run reuses the cluster, rebuilds and imports only images whose content
# changed (tags are content hashes), keeps the certificates, and rolls only changed pods.
# Settings come from blueprint.yaml; the variables below tune the script itself.
set -o errexit -o nounset -o pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Blueprint file to deploy.
BLUEPRINT="${BLUEPRINT:-${REPO_ROOT}/blueprint.yaml}"
# Generated state (certificates, rendered values); git-ignored.
FERRY_STATE_DIR="${FERRY_STATE_DIR:-${REPO_ROOT}/.ferry}"
# Seconds verify waits for the Deployments and the auto-trigger line.
VERIFY_TIMEOUT="${VERIFY_TIMEOUT:-180}"
# How long helm (and, with --watch, kubectl rollout status) waits for a rollout.
HELM_TIMEOUT="${HELM_TIMEOUT:-5m}"
# Namespace that stores the Helm release record (the chart's objects name their own namespaces).
RELEASE_NAMESPACE="${RELEASE_NAMESPACE:-default}"
# DEBUG=1 traces every command.
DEBUG="${DEBUG:-}"

CHART_DIR="${REPO_ROOT}/charts/fast-ferry"
PKI_DIR="${FERRY_STATE_DIR}/pki"
VALUES_FILE="${FERRY_STATE_DIR}/values.yaml"

# shellcheck source=tools/lib.sh
source "${REPO_ROOT}/tools/lib.sh"

# usage: the header above, then every setting of the form NAME="${NAME:-default}" with the
# comment above it, read from this file so the list cannot miss one.
usage() {
  sed -n '2,/^set -o/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
  printf '\nVariables (environment), with their defaults:\n'
  awk '
    /^# / { text = text (text == "" ? "" : " ") substr($0, 3); next }
    /^[A-Z_][A-Z0-9_]*="\$\{[A-Z_][A-Z0-9_]*:-.*\}"$/ {
      name = $0; sub(/=.*/, "", name)
      def = $0; sub(/^[^:]*:-/, "", def); sub(/\}"$/, "", def)
      printf "  %s (default: %s)\n      %s\n", name, (def == "" ? "empty" : def), text
    }
    { text = "" }
  ' "${BASH_SOURCE[0]}"
  # Read by tools/dist/local.js (tools/src/local.ts), which --local runs.
  printf '  %s (default: %s)\n' FERRY_LOCAL_INITIATOR_HTTP_PORT 8080 FERRY_LOCAL_TERMINATOR_HTTP_PORT 8081 FERRY_LOCAL_INITIATOR_TRIGGER_PORT 8082 FERRY_LOCAL_SESSION_PORT 8443
  printf '      %s\n' "--local only: the local apps' ports (any other FERRY_* setting reaches both apps, see docs/configuration.md)"
}

# Filled in by load_blueprint and build_images.
FERRY_RELEASE="" FERRY_CLUSTER="" FERRY_NODE_IMAGE="" FERRY_INITIATOR_IMAGE="" FERRY_TERMINATOR_IMAGE=""
FERRY_AUTO_TRIGGER_COUNT="" INITIATOR_TAG="" TERMINATOR_TAG="" TLS_CHECKSUM="" ROTATE_CERTS=""

# check_local_prerequisites: node 20+ and npm (all --local needs).
check_local_prerequisites() {
  require_cmd node "install Node.js 20 or newer (https://nodejs.org/)"
  require_version node "$(node --version)" 20 "install Node.js 20 or newer (https://nodejs.org/)"
  require_cmd npm "npm ships with Node.js (https://nodejs.org/)"
}

# check_prerequisites: everything the k3d path needs, with what to do when it is missing.
check_prerequisites() {
  check_local_prerequisites
  require_cmd docker "install Docker (https://docs.docker.com/engine/install/)"
  docker info >/dev/null 2>&1 ||
    die "the Docker daemon is not running or not reachable — start Docker Desktop or 'sudo systemctl start docker', then check with 'docker info'"
  require_cmd k3d "install k3d 5.x (https://k3d.io/#installation)"
  require_version k3d "$(k3d version 2>/dev/null | head -n 1)" 5 "install k3d 5.x (https://k3d.io/#installation)"
  require_cmd kubectl "install kubectl (https://kubernetes.io/docs/tasks/tools/)"
  require_cmd helm "install Helm 3 or 4 (https://helm.sh/docs/intro/install/)"
  require_version helm "$(helm version --short 2>/dev/null)" 3 "install Helm 3 or 4 (https://helm.sh/docs/intro/install/)"
}

# load_blueprint: validates blueprint.yaml and reads the settings this script needs.
load_blueprint() {
  local line key value
  local env_text
  env_text="$(node tools/dist/blueprint.js env --file "$BLUEPRINT")" || die "fix ${BLUEPRINT} (the line above names the key)"
  while IFS= read -r line; do
    key="${line%%=*}"
    value="${line#*=}"
    case "$key" in
      FERRY_RELEASE) FERRY_RELEASE="$value" ;;
      FERRY_CLUSTER) FERRY_CLUSTER="$value" ;;
      FERRY_NODE_IMAGE) FERRY_NODE_IMAGE="$value" ;;
      FERRY_INITIATOR_IMAGE) FERRY_INITIATOR_IMAGE="$value" ;;
      FERRY_TERMINATOR_IMAGE) FERRY_TERMINATOR_IMAGE="$value" ;;
      FERRY_AUTO_TRIGGER_COUNT) FERRY_AUTO_TRIGGER_COUNT="$value" ;;
      *) ;;
    esac
  done <<<"$env_text"
  if [ -z "$FERRY_CLUSTER" ] || [ -z "$FERRY_RELEASE" ]; then
    die "tools/dist/blueprint.js env printed no cluster or release name"
  fi
  log "  release ${FERRY_RELEASE}, cluster k3d-${FERRY_CLUSTER}"
}

# api_reachable: the cluster's API server answers through its kubeconfig context.
api_reachable() {
  kubectl --context "k3d-${FERRY_CLUSTER}" get --raw /readyz >/dev/null 2>&1
}

# ensure_cluster: creates the k3d cluster if absent, starts it if stopped, selects its context.
ensure_cluster() {
  if k3d cluster get "$FERRY_CLUSTER" >/dev/null 2>&1; then
    log "  cluster ${FERRY_CLUSTER} exists, reusing it"
    k3d kubeconfig merge "$FERRY_CLUSTER" --kubeconfig-merge-default --kubeconfig-switch-context >/dev/null
    if ! api_reachable; then
      log "  starting cluster ${FERRY_CLUSTER}"
      k3d cluster start "$FERRY_CLUSTER" --wait
    fi
  else
    log "  creating cluster ${FERRY_CLUSTER} (about a minute)"
    k3d cluster create "$FERRY_CLUSTER" --wait --timeout 300s \
      --k3s-arg "--disable=traefik@server:*"
  fi
  kubectl config use-context "k3d-${FERRY_CLUSTER}" >/dev/null
}

# image_in_cluster REF: the k3d server node's containerd already has the image.
image_in_cluster() {
  docker exec "k3d-${FERRY_CLUSTER}-server-0" crictl inspecti "$1" >/dev/null 2>&1
}

# build_image APP REPOSITORY: builds APP's image under its content tag unless it exists, then
# imports it into the cluster unless it is there; prints nothing but progress.
build_image() {
  local app="$1" repo="$2" tag ref
  tag="$(node tools/dist/image-hash.js "$app" --build-arg "NODE_IMAGE=${FERRY_NODE_IMAGE}")"
  ref="${repo}:${tag}"
  if docker image inspect "$ref" >/dev/null 2>&1; then
    log "  ${app}: ${ref} is up to date"
  else
    log "  ${app}: building ${ref}"
    docker build --file Dockerfile --build-arg "APP=${app}" --build-arg "NODE_IMAGE=${FERRY_NODE_IMAGE}" --tag "$ref" "$REPO_ROOT"
  fi
  if image_in_cluster "$ref"; then
    log "  ${app}: already in cluster ${FERRY_CLUSTER}"
  else
    log "  ${app}: importing into cluster ${FERRY_CLUSTER}"
    k3d image import "$ref" --cluster "$FERRY_CLUSTER"
  fi
  case "$app" in
    initiator) INITIATOR_TAG="$tag" ;;
    terminator) TERMINATOR_TAG="$tag" ;;
  esac
}

# build_images: both images; only changed ones are rebuilt and imported.
build_images() {
  build_image initiator "$FERRY_INITIATOR_IMAGE"
  build_image terminator "$FERRY_TERMINATOR_IMAGE"
}

# ensure_certificates: the CA and both pods' certificates, made once (or re-issued on --rotate-certs).
ensure_certificates() {
  if [ -n "$ROTATE_CERTS" ]; then
    node tools/dist/pki.js ensure --dir "$PKI_DIR" --rotate
  else
    node tools/dist/pki.js ensure --dir "$PKI_DIR"
  fi
  TLS_CHECKSUM="$(cat "${PKI_DIR}/ca.crt" "${PKI_DIR}/initiator/tls.crt" "${PKI_DIR}/terminator/tls.crt" | sha256_stdin | cut -c1-16)"
}

# apply_namespace NAME: creates the namespace with Helm's ownership marks, so the chart adopts it.
apply_namespace() {
  kubectl apply --server-side --field-manager=fast-ferry-deploy -f - >/dev/null <<EOF
apiVersion: v1
kind: Namespace
metadata:
  name: $1
  labels:
    app.kubernetes.io/managed-by: Helm
  annotations:
    meta.helm.sh/release-name: ${FERRY_RELEASE}
    meta.helm.sh/release-namespace: ${RELEASE_NAMESPACE}
EOF
}

# apply_tls_secret NAMESPACE NAME DIR: ca.crt + DIR/tls.crt + DIR/tls.key as a kubernetes.io/tls Secret.
apply_tls_secret() {
  kubectl create secret generic "$2" --namespace "$1" --type kubernetes.io/tls \
    --from-file "ca.crt=${PKI_DIR}/ca.crt" \
    --from-file "tls.crt=${3}/tls.crt" \
    --from-file "tls.key=${3}/tls.key" \
    --dry-run=client --output yaml |
    kubectl apply --server-side --force-conflicts --field-manager=fast-ferry-deploy -f - >/dev/null
}

# apply_secrets: both namespaces and their TLS Secrets (never the CA key).
apply_secrets() {
  apply_namespace "$INITIATOR_NS"
  apply_namespace "$TERMINATOR_NS"
  apply_tls_secret "$INITIATOR_NS" initiator-tls "${PKI_DIR}/initiator"
  apply_tls_secret "$TERMINATOR_NS" terminator-tls "${PKI_DIR}/terminator"
}

# helm_upgrade [HELM FLAGS...]: renders blueprint.yaml into values with the current image tags
# and TLS checksum, then helm upgrade --install; an unchanged tag leaves its Deployment alone.
helm_upgrade() {
  node tools/dist/blueprint.js values --file "$BLUEPRINT" --out "$VALUES_FILE" \
    --tag "initiator=${INITIATOR_TAG}" --tag "terminator=${TERMINATOR_TAG}" --tls-checksum "$TLS_CHECKSUM"
  helm upgrade --install "$FERRY_RELEASE" "$CHART_DIR" --namespace "$RELEASE_NAMESPACE" \
    --kube-context "k3d-${FERRY_CLUSTER}" --values "$VALUES_FILE" --history-max 5 "$@"
}

# install_chart: helm_upgrade --wait for the rollout; on failure, what the cluster says.
install_chart() {
  if ! helm_upgrade --wait --timeout "$HELM_TIMEOUT"; then
    warn "helm could not complete the rollout; what the cluster says:"
    node tools/dist/verify.js --context "k3d-${FERRY_CLUSTER}" --diagnose || true
    die "helm upgrade --install failed (see the diagnostics above)"
  fi
}

# verify: both Deployments available and the auto-trigger line in the initiator's log, then
# `helm test`: the chart's test Pod POSTs one message to /trigger and passes only if delivered.
verify() {
  node tools/dist/verify.js --context "k3d-${FERRY_CLUSTER}" \
    --messages "$FERRY_AUTO_TRIGGER_COUNT" --timeout "$VERIFY_TIMEOUT"
  helm test "$FERRY_RELEASE" --namespace "$RELEASE_NAMESPACE" --kube-context "k3d-${FERRY_CLUSTER}" \
    --logs --timeout "$HELM_TIMEOUT" ||
    die "helm test failed: POST /trigger was not delivered (its log is above; the initiator's: kubectl logs -n ${INITIATOR_NS} deployment/initiator -c web-app)"
}

# prefix_lines APP: copies stdin to stdout, each line prefixed [APP] (padded, as --local does).
prefix_lines() {
  local line
  while IFS= read -r line || [ -n "$line" ]; do printf '%-12s %s\n' "[$1]" "$line"; done
}

# follow_logs APP [KUBECTL LOGS FLAGS...]: follows the web-app container of every pod of APP in
# the background, each line prefixed [APP] (and by kubectl with the pod); records the follower.
INITIATOR_LOG_PID="" TERMINATOR_LOG_PID=""
follow_logs() {
  local app="$1" ns
  shift
  case "$app" in initiator) ns="$INITIATOR_NS" ;; *) ns="$TERMINATOR_NS" ;; esac
  kubectl logs --context "k3d-${FERRY_CLUSTER}" --namespace "$ns" \
    --selector "app.kubernetes.io/instance=${FERRY_RELEASE},app.kubernetes.io/component=${app}" \
    --container web-app --follow --prefix --max-log-requests 20 "$@" > >(prefix_lines "$app") 2>&1 &
  case "$app" in initiator) INITIATOR_LOG_PID=$! ;; *) TERMINATOR_LOG_PID=$! ;; esac
}

# stop_log_follower APP: ends APP's follower, if any (its prefixer ends with it).
stop_log_follower() {
  local pid
  case "$1" in initiator) pid="$INITIATOR_LOG_PID" INITIATOR_LOG_PID="" ;; *) pid="$TERMINATOR_LOG_PID" TERMINATOR_LOG_PID="" ;; esac
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}

# logs_main: `bash deploy.sh logs`: both apps' logs until Ctrl-C (or until their pods are gone).
logs_main() {
  require_cmd kubectl "install kubectl (https://kubernetes.io/docs/tasks/tools/)"
  [ -f tools/dist/blueprint.js ] || build_tools >&2
  load_blueprint >/dev/null
  trap 'stop_log_follower initiator; stop_log_follower terminator; exit 0' INT TERM
  follow_logs initiator --tail 20
  follow_logs terminator --tail 20
  wait
}

# watch_round APP...: one save: builds and imports what changed (content tags: the unchanged
# app's image is found up to date), helm upgrade without --wait, then kubectl rollout status of
# the changed apps only. Runs in a subshell, so a failed build ends the round, not the watch.
watch_round() {
  local app ns
  build_images
  helm_upgrade
  for app in "$@"; do
    case "$app" in initiator) ns="$INITIATOR_NS" ;; *) ns="$TERMINATOR_NS" ;; esac
    kubectl rollout status "deployment/${app}" --namespace "$ns" --context "k3d-${FERRY_CLUSTER}" --timeout "$HELM_TIMEOUT"
  done
}

# stop_watching: the EXIT/INT/TERM trap of --watch: ends the watcher and both log followers.
WATCH_PID=""
stop_watching() {
  trap - INT TERM EXIT
  if [ -n "$WATCH_PID" ]; then kill "$WATCH_PID" 2>/dev/null || true; fi
  stop_log_follower initiator
  stop_log_follower terminator
  if [ -n "$WATCH_PID" ]; then wait "$WATCH_PID" 2>/dev/null || true; fi
  log "👋 stopped watching"
  exit 0
}

# watch_main: after a deploy, rebuilds, imports and rolls each app whose sources changed, until
# Ctrl-C. tools/dist/watch.js (fs.watch + the images' content tags) prints the changed apps.
watch_main() {
  local fifo="${FERRY_STATE_DIR}/watch.fifo" apps since start status
  rm -f "$fifo"
  mkfifo "$fifo"
  node tools/dist/watch.js --root "$REPO_ROOT" >"$fifo" &
  WATCH_PID=$!
  exec 3<"$fifo"
  rm -f "$fifo"
  trap stop_watching INT TERM EXIT
  follow_logs initiator --tail 5
  follow_logs terminator --tail 5
  log "👀 watching initiator/app, terminator/app and core/ (Ctrl-C stops)"
  while IFS= read -r apps <&3; do
    start="$(now_ms)"
    since="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    log "✎ changed: ${apps} — rebuilding, importing, rolling"
    set +o errexit
    # shellcheck disable=SC2086 # one word per app
    (set -o errexit; watch_round $apps)
    status=$?
    set -o errexit
    # The rolled pods are new: follow them (kubectl logs -f follows only pods that existed).
    for app in $apps; do
      stop_log_follower "$app"
      follow_logs "$app" --since-time "$since"
    done
    if [ "$status" -eq 0 ]; then
      log "✔ ${apps} rolled out ($(format_ms $(($(now_ms) - start))) after the change was seen)"
    else
      warn "the round for ${apps} failed (above); fix and save again — still watching"
    fi
  done
  warn "the watcher ended"
  stop_watching
}

main() {
  [ -n "$DEBUG" ] && set -o xtrace
  cd "$REPO_ROOT"
  local watch=""
  while [ $# -gt 0 ]; do
    case "$1" in
      logs)
        shift
        [ $# -eq 0 ] || die "logs takes no arguments (got '$*')"
        logs_main
        return 0
        ;;
      --local)
        shift
        check_local_prerequisites
        step "Building the apps and tools" build_tools
        exec node tools/dist/local.js up ${watch:+--watch} "$@"
        ;;
      --watch) watch=1 ;;
      --rotate-certs) ROTATE_CERTS=1 ;;
      -h | --help)
        usage
        return 0
        ;;
      *) die "unknown option '$1' (bash deploy.sh --help lists the options)" ;;
    esac
    shift
  done
  trap 'report_failure deploy.sh "DEBUG=1 bash deploy.sh traces every command"' EXIT
  local start
  start="$(now_ms)"
  mkdir -p "$FERRY_STATE_DIR"
  step "Checking prerequisites" check_prerequisites
  step "Building the apps and tools" build_tools
  step "Reading blueprint.yaml" load_blueprint
  step "Ensuring k3d cluster ${FERRY_CLUSTER:-}" ensure_cluster
  step "Building and importing images" build_images
  step "Ensuring certificates${ROTATE_CERTS:+ (rotating)}" ensure_certificates
  step "Applying namespaces and TLS Secrets" apply_secrets
  step "Installing chart (helm upgrade --install)" install_chart
  step "Verifying" verify
  log "✅ Fast Ferry is up ($(format_ms $(($(now_ms) - start))) in all). Follow it with:"
  log "   bash deploy.sh logs   (both apps; or: kubectl logs -n ${INITIATOR_NS} deployment/initiator -c web-app -f)"
  trap - EXIT
  [ -z "$watch" ] || watch_main
}

main "$@"
