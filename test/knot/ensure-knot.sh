#!/usr/bin/env bash
# Prints the path of knotd, Knot DNS's authoritative server, for the DNS-01
# end-to-end tests (an RFC 2136 dynamic-update target with a TSIG key),
# installing Debian's "knot" package when it is missing.
# $FERRY_KNOT_BIN, when set to an executable, wins.
set -euo pipefail

if [[ -n "${FERRY_KNOT_BIN:-}" && -x "${FERRY_KNOT_BIN}" ]]; then
  echo "$FERRY_KNOT_BIN"
  exit 0
fi
knotd=$(command -v knotd || true)
[[ -z "$knotd" && -x /usr/sbin/knotd ]] && knotd=/usr/sbin/knotd
if [[ -z "$knotd" ]]; then
  echo "installing Debian's knot package" >&2
  sudo=""
  [[ "$(id -u)" == 0 ]] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # The package's service is not wanted: the tests start their own server.
  $sudo apt-get install -y -q --no-install-recommends knot >&2 ||
    { $sudo apt-get update -q >&2 && $sudo apt-get install -y -q --no-install-recommends knot >&2; }
  knotd=/usr/sbin/knotd
fi
echo "$knotd"
