#!/usr/bin/env bash
# Prints the path of an etcd server binary for the end-to-end tests,
# installing Debian's etcd-server when none is found. $FERRY_ETCD_BIN, when
# set to an executable, wins. The package's own service is not started
# (tests start etcd themselves on free loopback ports).
set -euo pipefail

if [[ -n "${FERRY_ETCD_BIN:-}" && -x "${FERRY_ETCD_BIN}" ]]; then
  echo "$FERRY_ETCD_BIN"
  exit 0
fi
if ! command -v etcd >/dev/null 2>&1; then
  echo "installing Debian's etcd-server" >&2
  if [[ "$(id -u)" -eq 0 ]]; then sudo=; else sudo=sudo; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >&2
  $sudo apt-get install -y -qq --no-install-recommends etcd-server >&2
fi
command -v etcd
