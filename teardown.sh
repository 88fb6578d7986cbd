#!/usr/bin/env bash
# Removes what deploy.sh made. Best-effort: whatever is already gone is skipped.
#
#   bash teardown.sh            uninstall the Helm release and delete both namespaces
#   bash teardown.sh --cluster  the same, then delete the k3d cluster
#   bash teardown.sh --local    stop the local processes of `deploy.sh --local`
#
# The certificates in .ferry/pki are kept (delete the folder to start afresh).
set -o errexit -o nounset -o pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Blueprint that names the release and the cluster.
BLUEPRINT="${BLUEPRINT:-${REPO_ROOT}/blueprint.yaml}"
# Namespace that stores the Helm release record (as in deploy.sh).
RELEASE_NAMESPACE="${RELEASE_NAMESPACE:-default}"
# Release and cluster names when blueprint.yaml cannot be read (e.g. tools not built).
FERRY_RELEASE="${FERRY_RELEASE:-fast-ferry}"
FERRY_CLUSTER="${FERRY_CLUSTER:-fast-ferry}"
# DEBUG=1 traces every command.
DEBUG="${DEBUG:-}"

# shellcheck source=tools/lib.sh
source "${REPO_ROOT}/tools/lib.sh"

usage() {
  sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# read_names: release and cluster names from blueprint.yaml, if the tools are built.
read_names() {
  local line
  if [ ! -f tools/dist/blueprint.js ] || ! command -v node >/dev/null 2>&1; then
    log "  tools not built; using release ${FERRY_RELEASE}, cluster ${FERRY_CLUSTER}"
    return 0
  fi
  while IFS= read -r line; do
    case "$line" in
      FERRY_RELEASE=*) FERRY_RELEASE="${line#*=}" ;;
      FERRY_CLUSTER=*) FERRY_CLUSTER="${line#*=}" ;;
      *) ;;
    esac
  done < <(node tools/dist/blueprint.js env --file "$BLUEPRINT" 2>/dev/null || true)
  log "  release ${FERRY_RELEASE}, cluster k3d-${FERRY_CLUSTER}"
}

# cluster_exists: k3d knows the cluster (false when k3d is not installed).
cluster_exists() {
  command -v k3d >/dev/null 2>&1 && k3d cluster get "$FERRY_CLUSTER" >/dev/null 2>&1
}

# api_reachable: the cluster's API server answers.
api_reachable() {
  command -v kubectl >/dev/null 2>&1 && kubectl --context "k3d-${FERRY_CLUSTER}" get --raw /readyz >/dev/null 2>&1
}

# uninstall_release: helm uninstall, if the release exists.
uninstall_release() {
  if ! command -v helm >/dev/null 2>&1; then
    warn "helm not found; skipping the release (the namespaces are still deleted)"
  elif helm status "$FERRY_RELEASE" --namespace "$RELEASE_NAMESPACE" --kube-context "k3d-${FERRY_CLUSTER}" >/dev/null 2>&1; then
    helm uninstall "$FERRY_RELEASE" --namespace "$RELEASE_NAMESPACE" --kube-context "k3d-${FERRY_CLUSTER}" --wait --timeout 2m ||
      warn "helm uninstall failed; deleting the namespaces anyway"
  else
    log "  release ${FERRY_RELEASE} is not installed"
  fi
}

# delete_namespaces: both namespaces, with whatever is left in them (Secrets included).
delete_namespaces() {
  kubectl --context "k3d-${FERRY_CLUSTER}" delete namespace "$INITIATOR_NS" "$TERMINATOR_NS" \
    --ignore-not-found --wait --timeout 120s ||
    warn "could not delete the namespaces; check with: kubectl get namespaces"
}

# remove_release: release and namespaces, when there is a cluster to remove them from.
remove_release() {
  if api_reachable; then
    uninstall_release
    delete_namespaces
  elif cluster_exists; then
    warn "cluster ${FERRY_CLUSTER} exists but its API does not answer; skipping release and namespaces"
  else
    log "  no cluster ${FERRY_CLUSTER}; nothing to uninstall"
  fi
}

# delete_cluster: the k3d cluster, if it exists.
delete_cluster() {
  if cluster_exists; then
    k3d cluster delete "$FERRY_CLUSTER"
  else
    log "  no cluster ${FERRY_CLUSTER}"
  fi
}

main() {
  [ -n "$DEBUG" ] && set -o xtrace
  cd "$REPO_ROOT"
  local with_cluster=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --local)
        require_cmd node "install Node.js 20 or newer (https://nodejs.org/)"
        [ -f tools/dist/local.js ] || die "tools/dist/local.js is missing: nothing was started with deploy.sh --local (or run npm run build)"
        exec node tools/dist/local.js down
        ;;
      --cluster) with_cluster=1 ;;
      -h | --help)
        usage
        return 0
        ;;
      *) die "unknown option '$1' (bash teardown.sh --help lists the options)" ;;
    esac
    shift
  done
  trap 'report_failure teardown.sh' EXIT
  step "Reading blueprint.yaml" read_names
  step "Removing release ${FERRY_RELEASE} and its namespaces" remove_release
  if [ -n "$with_cluster" ]; then
    step "Deleting k3d cluster ${FERRY_CLUSTER}" delete_cluster
  fi
  log "✅ Fast Ferry removed"
}

main "$@"
