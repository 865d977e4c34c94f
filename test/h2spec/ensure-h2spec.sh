#!/usr/bin/env bash
# Prints the path of an h2spec binary (the HTTP/2 conformance tester) for
# the end-to-end tests and the benchmark, building it from the Go module
# proxy (module test/h2spec) when it is not cached yet. The cache is keyed
# by version, so reruns on the same machine reuse it; $FERRY_H2SPEC_BIN,
# when set to an executable, wins.
set -euo pipefail

version=2.2.1
if [[ -n "${FERRY_H2SPEC_BIN:-}" && -x "${FERRY_H2SPEC_BIN}" ]]; then
  echo "$FERRY_H2SPEC_BIN"
  exit 0
fi
cache="${XDG_CACHE_HOME:-$HOME/.cache}/ferry"
bin="$cache/h2spec-$version"
if [[ ! -x "$bin" ]]; then
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  mkdir -p "$cache"
  echo "building h2spec $version into $bin" >&2
  tmp="$bin.tmp.$$"
  (cd "$here" && go build -mod=readonly -ldflags "-X main.VERSION=$version" -o "$tmp" \
    github.com/summerwind/h2spec/cmd/h2spec) >&2
  mv "$tmp" "$bin"
fi
echo "$bin"
