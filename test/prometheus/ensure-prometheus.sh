#!/usr/bin/env bash
# Prints the path of a Prometheus server binary for the end-to-end tests,
# installing Debian's prometheus package when none is found.
# $FERRY_PROMETHEUS_BIN, when set to an executable, wins. The package's own
# service is not started: while apt installs it, a policy-rc.d that refuses
# every start is in place (unless the machine already has one), and the
# tests start Prometheus themselves with their own config and storage on
# free loopback ports.
set -euo pipefail

if [[ -n "${FERRY_PROMETHEUS_BIN:-}" && -x "${FERRY_PROMETHEUS_BIN}" ]]; then
  echo "$FERRY_PROMETHEUS_BIN"
  exit 0
fi
if ! command -v prometheus >/dev/null 2>&1; then
  echo "installing Debian's prometheus" >&2
  if [[ "$(id -u)" -eq 0 ]]; then sudo=; else sudo=sudo; fi
  policy=/usr/sbin/policy-rc.d
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee $policy >/dev/null
    $sudo chmod 755 $policy
    trap '$sudo rm -f $policy' EXIT
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >&2
  $sudo apt-get install -y -qq --no-install-recommends prometheus >&2
fi
command -v prometheus
