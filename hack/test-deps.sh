#!/usr/bin/env bash
# Installs what the tests need on a fresh machine, idempotently:
#  - redis-server (Debian package) for the scale-out tests,
#  - the npm packages of the compatibility suites, from their committed lock files,
#  - kube-apiserver and etcd for envtest, built from the Go module proxy (hack/setup-envtest.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1; then
  echo "test-deps: installing redis-server" >&2
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
fi

for lock in test/*/package-lock.json; do
  [[ -e "$lock" ]] || continue
  dir=$(dirname "$lock")
  # npm ci is skipped when node_modules already matches the lock file.
  if [[ ! -f "$dir/node_modules/.package-lock.json" ]] || ! cmp -s <(sed 1,3d "$lock") <(sed 1,3d "$dir/node_modules/.package-lock.json" 2>/dev/null); then
    echo "test-deps: npm ci in $dir" >&2
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  fi
done

hack/setup-envtest.sh >/dev/null
