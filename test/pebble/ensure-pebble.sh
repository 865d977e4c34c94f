#!/usr/bin/env bash
# Prints the path of the Pebble ACME test CA binary for the end-to-end
# tests (pebble-challtestsrv, its DNS server, sits next to it), installing
# Debian's "pebble" package (which ships both) when it is missing.
# $FERRY_PEBBLE_BIN, when set to an executable, wins.
set -euo pipefail

if [[ -n "${FERRY_PEBBLE_BIN:-}" && -x "${FERRY_PEBBLE_BIN}" ]]; then
  echo "$FERRY_PEBBLE_BIN"
  exit 0
fi
if ! command -v pebble >/dev/null || ! command -v pebble-challtestsrv >/dev/null; then
  echo "installing Debian's pebble package" >&2
  sudo=""
  [[ "$(id -u)" == 0 ]] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q pebble >&2 || { $sudo apt-get update -q >&2 && $sudo apt-get install -y -q pebble >&2; }
fi
command -v pebble
