#!/usr/bin/env bash
# Prints the directory holding kube-apiserver and kubectl for the Kubernetes
# end-to-end tests, building both from the Go module proxy (module
# test/kubernetes/apiserver) the first time. The cache is keyed by version, so
# reruns on the same machine reuse it (a cold build takes 10-30 minutes on two
# cores). $FERRY_KUBE_BIN_DIR, when it holds both binaries, wins.
set -euo pipefail

version=1.34.4
if [[ -n "${FERRY_KUBE_BIN_DIR:-}" && -x "${FERRY_KUBE_BIN_DIR}/kube-apiserver" && -x "${FERRY_KUBE_BIN_DIR}/kubectl" ]]; then
  echo "$FERRY_KUBE_BIN_DIR"
  exit 0
fi
cache="${XDG_CACHE_HOME:-$HOME/.cache}/ferry"
dir="$cache/kubernetes-$version"
if [[ ! -x "$dir/kube-apiserver" || ! -x "$dir/kubectl" ]]; then
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  mkdir -p "$dir"
  tmp="$dir/tmp.$$"
  mkdir -p "$tmp"
  echo "building kube-apiserver and kubectl $version into $dir (10-30 minutes the first time)" >&2
  (cd "$here/apiserver" && CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags=-s -o "$tmp/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl) >&2
  mv "$tmp/kube-apiserver" "$tmp/kubectl" "$dir/"
  rmdir "$tmp"
fi
echo "$dir"
