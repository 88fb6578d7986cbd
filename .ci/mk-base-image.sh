#!/usr/bin/env bash
# CI: builds a Debian bookworm minbase image with the host's Node 20 + npm and imports it under
# TAG (default node:20-bookworm-slim), since no container registry is reachable on CI machines.
# Same layout as the official image (node at /usr/local/bin, user node 1000); trusts the host's
# CA bundle (npm reaches the registry through a TLS-intercepting proxy here).
# Needs root and debootstrap (installed if missing); reaches only deb.debian.org.
set -o errexit -o nounset -o pipefail
TAG="${1:-node:20-bookworm-slim}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
NODE_BIN="${NODE_BIN:-$(command -v node)}"
NPM_DIR="${NPM_DIR:-$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")}"
# A fresh machine may have no package lists yet: update once and retry.
if ! command -v debootstrap >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null 2>&1 || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  }
fi
ROOT="$(mktemp -d)"
trap 'rm -rf "$ROOT"' EXIT
chmod 755 "$ROOT"
debootstrap --variant=minbase --include=ca-certificates bookworm "$ROOT" "$MIRROR" >"${LOG:-/dev/null}"
cp "$NODE_BIN" "$ROOT/usr/local/bin/node"
mkdir -p "$ROOT/usr/local/lib/node_modules"
cp -a "$NPM_DIR" "$ROOT/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ROOT/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ROOT/usr/local/bin/npx"
chroot "$ROOT" groupadd -g 1000 node
chroot "$ROOT" useradd -u 1000 -g node -s /bin/bash -m node
cp /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/" 2>/dev/null || true
chroot "$ROOT" update-ca-certificates >/dev/null 2>&1
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* \
  "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* "$ROOT"/usr/share/locale/*
tar --numeric-owner -C "$ROOT" -c . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c "ENV NODE_VERSION=$("$NODE_BIN" -p 'process.versions.node')" \
  -c 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  -c 'CMD ["node"]' \
  - "$TAG" >/dev/null
docker image ls "$TAG"
