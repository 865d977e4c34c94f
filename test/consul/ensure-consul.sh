#!/usr/bin/env bash
# Prints the path of a Consul agent binary for the end-to-end tests,
# building it from the Go module proxy (module test/consul) when it is not
# cached yet. The cache is keyed by version, so reruns on the same machine
# reuse it; $FERRY_CONSUL_BIN, when set to an executable, wins.
set -euo pipefail

version=1.13.9
if [[ -n "${FERRY_CONSUL_BIN:-}" && -x "${FERRY_CONSUL_BIN}" ]]; then
  echo "$FERRY_CONSUL_BIN"
  exit 0
fi
cache="${XDG_CACHE_HOME:-$HOME/.cache}/ferry"
bin="$cache/consul-$version"
if [[ ! -x "$bin" ]]; then
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  mkdir -p "$cache"
  echo "building consul $version into $bin (takes a few minutes)" >&2
  tmp="$bin.tmp.$$"
  (cd "$here" && go build -mod=readonly -o "$tmp" github.com/hashicorp/consul) >&2
  mv "$tmp" "$bin"
fi
echo "$bin"
