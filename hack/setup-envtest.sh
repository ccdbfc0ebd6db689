#!/usr/bin/env bash
# Builds the envtest control plane (kube-apiserver, etcd, kubectl) from the Go module proxy into a cache
# outside the repository, once per version. Nothing can be downloaded here but Go modules, so the
# binaries that setup-envtest would normally fetch are compiled from source instead.
#
# Usage: hack/setup-envtest.sh            builds if needed, prints the assets directory
# Env:   KUBE_VERSION (default v1.34.4), ETCD_VERSION (default v3.6.5),
#        KWPS_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/kwps)
set -euo pipefail

KUBE_VERSION=${KUBE_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.6.5}
CACHE=${KWPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kwps}
ASSETS="$CACHE/envtest/k8s-${KUBE_VERSION}-etcd-${ETCD_VERSION}"
PROXY=${GOPROXY:-https://proxy.golang.org}
PROXY=${PROXY%%,*}

if [[ -x "$ASSETS/kube-apiserver" && -x "$ASSETS/etcd" && -x "$ASSETS/kubectl" ]]; then
  echo "$ASSETS"
  exit 0
fi

mkdir -p "$ASSETS"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GOFLAGS=-mod=mod CGO_ENABLED=0

log() { echo "setup-envtest: $*" >&2; }

build_kube() {
  local dir="$work/kube" minor staging
  mkdir -p "$dir"
  minor="v0.${KUBE_VERSION#v1.}"
  log "building kube-apiserver and kubectl $KUBE_VERSION (staging modules $minor)"
  curl -fsSL "$PROXY/k8s.io/kubernetes/@v/${KUBE_VERSION}.mod" -o "$dir/kubernetes.mod"
  # Every staging module k8s.io/kubernetes replaces with ./staging/src/... is published as k8s.io/X v0.Y.Z.
  staging=$(sed -n 's#^\s*\(k8s\.io/[^ ]*\) => \./staging/src/.*#\1#p' "$dir/kubernetes.mod")
  {
    echo "module envtestbuild"
    echo "go 1.24"
    echo "require k8s.io/kubernetes ${KUBE_VERSION}"
    echo "replace ("
    for m in $staging; do echo "  $m => $m $minor"; done
    echo ")"
  } > "$dir/go.mod"
  cat > "$dir/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubectl/pkg/cmd"
)
GO
  (cd "$dir" && go mod tidy >/dev/null 2>&1 || true
   cd "$dir" && go get "k8s.io/kubernetes@${KUBE_VERSION}" >&2
   go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=${KUBE_VERSION}" \
     -o "$ASSETS/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
   go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=${KUBE_VERSION}" \
     -o "$ASSETS/kubectl" k8s.io/kubernetes/cmd/kubectl)
}

build_etcd() {
  local dir="$work/etcd"
  mkdir -p "$dir"
  log "building etcd $ETCD_VERSION"
  (cd "$dir" && go mod init etcdbuild >/dev/null 2>&1 \
   && go get "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" >&2 \
   && go build -trimpath -ldflags "-s -w" -o "$ASSETS/etcd" go.etcd.io/etcd/server/v3)
}

[[ -x "$ASSETS/etcd" ]] || build_etcd
[[ -x "$ASSETS/kube-apiserver" && -x "$ASSETS/kubectl" ]] || build_kube
echo "$ASSETS"
