#!/usr/bin/env bash
# CI: a NATS server with JetStream for test/jetstream (Debian's nats-server package).
# Idempotent: skips the install when nats-server is already there.
set -o errexit -o nounset -o pipefail
PATH="${PATH}:/usr/sbin:/usr/local/sbin"
if ! command -v nats-server >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
  }
fi
nats-server --version
