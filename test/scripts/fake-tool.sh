#!/usr/bin/env bash
# One recording fake for docker, k3d, kubectl, helm, npm and node (see fakes.ts); it dispatches
# on the name it is called by, appends the call to $FAKE_LOG and keeps state in $FAKE_STATE.
set -u
tool="$(basename "$0")"
# one write per call, so calls of piped commands (kubectl create | kubectl apply) never interleave
line="$tool"; for a in "$@"; do line="$line $a"; done
printf '%s\n' "$line" >>"$FAKE_LOG"
S="$FAKE_STATE"; mkdir -p "$S/clusters" "$S/images" "$S/cluster-images"
key() { printf '%s' "$1" | tr '/:' '__'; }
case "$tool" in
  docker)
    case "$1" in
      info) [ ! -e "$S/docker-down" ] ;;
      image) [ -e "$S/images/$(key "$3")" ] ;;
      build) while [ $# -gt 0 ]; do [ "$1" = --tag ] && touch "$S/images/$(key "$2")"; shift; done ;;
      exec) [ -e "$S/cluster-images/$(key "${@: -1}")" ] ;;
      *) exit 0 ;;
    esac ;;
  k3d)
    case "$1 ${2:-}" in
      "version "*) echo "k3d version ${FAKE_K3D_VERSION:-v5.7.4}"; echo "k3s version v1.31.5-k3s1 (default)" ;;
      "cluster get") [ -e "$S/clusters/$3" ] ;;
      "cluster create") touch "$S/clusters/$3" ;;
      "cluster delete") rm -f "$S/clusters/$3"; rm -f "$S"/cluster-images/* ;;
      "image import") touch "$S/cluster-images/$(key "$3")" ;;
      *) exit 0 ;;
    esac ;;
  kubectl)
    args=" $* "
    case "$args" in
      *" get --raw /readyz "*) compgen -G "$S/clusters/*" >/dev/null ;;
      *" create secret "*) printf 'apiVersion: v1\nkind: Secret\n' ;;
      *" apply "*) cat >/dev/null ;;
      # A follower: one line naming its namespace, then it follows (blocks) until killed.
      " logs "*" --follow "*)
        ns=""; prev=""; for a in "$@"; do [ "$prev" = --namespace ] && ns="$a"; prev="$a"; done
        echo "[pod/fake/web-app] log line from $ns"
        exec sleep 300 ;;
      *) exit 0 ;;
    esac ;;
  helm)
    case "$1" in
      version) echo "${FAKE_HELM_VERSION:-v3.18.0+gcc58e3f}" ;;
      upgrade) touch "$S/release"; exit "${FAKE_HELM_EXIT:-0}" ;;
      test) [ -e "$S/release" ] || exit 1; exit "${FAKE_HELM_TEST_EXIT:-0}" ;;
      status) [ -e "$S/release" ] ;;
      uninstall) rm -f "$S/release" ;;
      *) exit 0 ;;
    esac ;;
  npm)
    case "$1" in
      ci) mkdir -p node_modules; touch node_modules/.package-lock.json ;;
      *) exit 0 ;;
    esac ;;
  node)
    case "${1:-}" in
      --version) echo "${FAKE_NODE_VERSION:-v20.19.0}" ;;
      tools/dist/blueprint.js)
        case "$2" in
          env) printf 'FERRY_RELEASE=fast-ferry\nFERRY_CLUSTER=fast-ferry\nFERRY_NODE_IMAGE=node:20-bookworm-slim\nFERRY_INITIATOR_IMAGE=fast-ferry/initiator\nFERRY_TERMINATOR_IMAGE=fast-ferry/terminator\nFERRY_AUTO_TRIGGER_COUNT=5\n' ;;
          values) out=""; prev=""; for a in "$@"; do [ "$prev" = --out ] && out="$a"; prev="$a"; done; printf '%s\n' "$@" >"$out" ;;
        esac ;;
      # With FAKE_REAL_NODE (a real node with tsx), the watcher and the content hash are the real
      # tools/src ones, run on the sandbox's files; otherwise a hash from the fake's state.
      tools/dist/watch.js | tools/dist/image-hash.js)
        if [ -n "${FAKE_REAL_NODE:-}" ]; then
          src="${FAKE_TOOLS_SRC}/$(basename "$1" .js).ts"; shift
          # shellcheck disable=SC2086 # FAKE_REAL_NODE is "node --import tsx-loader"
          exec $FAKE_REAL_NODE "$src" "$@"
        fi
        [ "$1" = tools/dist/watch.js ] || echo "hash-$2-$(cat "$S/content-$2" 2>/dev/null || echo 1)" ;;
      tools/dist/pki.js)
        dir="$4"
        if [ ! -e "$dir/ca.crt" ] || [ "${5:-}" = --rotate ]; then
          n=$(( $(cat "$S/pki-generation" 2>/dev/null || echo 0) + 1 )); echo "$n" >"$S/pki-generation"
          mkdir -p "$dir/initiator" "$dir/terminator"
          for f in ca.crt initiator/tls.crt initiator/tls.key terminator/tls.crt terminator/tls.key; do echo "generation $n $f" >"$dir/$f"; done
          echo "issued certificates in $dir"
        else
          echo "reused certificates in $dir"
        fi ;;
      # The line is core's autoTriggerCompleteLine(5, 5) (core/src/runtime/auto-trigger-line.ts holds
      # the format and its parser); deploy.test.ts compares it with that function's output.
      tools/dist/verify.js) [ "${FAKE_VERIFY_EXIT:-0}" = 0 ] && echo "  🔁 Auto-trigger complete — 5/5 messages sent."; exit "${FAKE_VERIFY_EXIT:-0}" ;;
      *) exit 0 ;;
    esac ;;
esac
