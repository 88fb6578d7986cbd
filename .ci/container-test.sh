#!/usr/bin/env bash
# The container test (npm run test:container): Docker engine + base image up, tools built,
# then test/container/*.test.ts; stops a dockerd it started, whatever the outcome.
set -o errexit -o nounset -o pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
trap 'bash .ci/docker-down.sh' EXIT
bash .ci/docker-up.sh
[ -x .tools/helm4/helm ] || command -v helm >/dev/null 2>&1 || bash .ci/setup-k8s-tools.sh
npm run --silent build
node --import tsx --test --test-reporter=spec --test-concurrency=1 test/container/*.test.ts
