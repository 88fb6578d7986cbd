#!/usr/bin/env bash
# CI: make sure a Docker engine answers and the base image the Dockerfile's FROM names exists.
# On a machine with only the docker CLI, installs Debian's docker.io and starts dockerd, and
# records its pid in .ferry/ci/dockerd.pid so .ci/docker-down.sh stops only what this started.
# The base image (default node:20-bookworm-slim, as users pull it) is made locally with
# .ci/mk-base-image.sh when absent, because no registry is reachable here.
set -o errexit -o nounset -o pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${REPO_ROOT}/.ferry/ci"
DOCKERD_LOG="${DOCKERD_LOG:-${STATE}/dockerd.log}"
BASE_IMAGE="${BASE_IMAGE:-$(sed -n 's/^ARG NODE_IMAGE=//p' "${REPO_ROOT}/Dockerfile")}"
mkdir -p "$STATE"

if docker info >/dev/null 2>&1; then
  echo "docker engine already up"
else
  if ! command -v dockerd >/dev/null 2>&1; then
    for _ in $(seq 1 60); do # wait for another apt/dpkg to finish
      fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock >/dev/null 2>&1 || break
      sleep 5
    done
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -qq docker.io >/dev/null
  fi
  if ! pgrep -x dockerd >/dev/null; then
    nohup dockerd >"$DOCKERD_LOG" 2>&1 &
    echo $! >"${STATE}/dockerd.pid"
  fi
  for _ in $(seq 1 150); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not come up; see $DOCKERD_LOG" >&2; exit 1; }
  echo "docker engine up"
fi

if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  echo "base image $BASE_IMAGE present"
else
  echo "making base image $BASE_IMAGE locally (no registry here; ~45 s)"
  bash "${REPO_ROOT}/.ci/mk-base-image.sh" "$BASE_IMAGE"
fi
