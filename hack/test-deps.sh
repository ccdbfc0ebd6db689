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
  # npm ci runs again only when the lock file changed since the last install.
  stamp="$dir/node_modules/.kwps-lock.sha256"
  want=$(sha256sum "$lock" | cut -d' ' -f1)
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    echo "test-deps: npm ci in $dir" >&2
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
    echo "$want" > "$stamp"
  fi
done

hack/setup-envtest.sh >/dev/null
