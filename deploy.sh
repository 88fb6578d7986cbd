#!/usr/bin/env bash
# Deploys Fast Ferry to a local k3d cluster, or runs it as local processes (--local).
#
#   bash deploy.sh                 cluster (if absent) → images → certificates → chart → verify
#   bash deploy.sh --rotate-certs  the same, re-issuing the CA and pod certificates (rolls both pods)
#   bash deploy.sh --local [ARGS]  no cluster, no Docker: both apps as local processes
#                                  (ARGS go to `node tools/dist/local.js up`, e.g. --once)
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
# How long helm waits for the rollout.
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

usage() {
  sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
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

# install_chart: renders blueprint.yaml into values, then helm upgrade --install --wait.
install_chart() {
  node tools/dist/blueprint.js values --file "$BLUEPRINT" --out "$VALUES_FILE" \
    --tag "initiator=${INITIATOR_TAG}" --tag "terminator=${TERMINATOR_TAG}" --tls-checksum "$TLS_CHECKSUM"
  if ! helm upgrade --install "$FERRY_RELEASE" "$CHART_DIR" --namespace "$RELEASE_NAMESPACE" \
    --kube-context "k3d-${FERRY_CLUSTER}" --values "$VALUES_FILE" --history-max 5 --wait --timeout "$HELM_TIMEOUT"; then
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

main() {
  [ -n "$DEBUG" ] && set -o xtrace
  cd "$REPO_ROOT"
  while [ $# -gt 0 ]; do
    case "$1" in
      --local)
        shift
        check_local_prerequisites
        step "Building the apps and tools" build_tools
        exec node tools/dist/local.js up "$@"
        ;;
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
  log "   kubectl logs -n ${INITIATOR_NS} deployment/initiator -c web-app -f"
}

main "$@"
