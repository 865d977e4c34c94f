#!/usr/bin/env bash
# Prints the path of a Chromium browser for the dashboard's end-to-end
# tests (driven headless with chromedp), installing Debian's chromium when
# none is found. $FERRY_CHROMIUM_BIN, when set to an executable, wins. The
# tests never let it resolve a host name: it reaches loopback only.
set -euo pipefail

if [[ -n "${FERRY_CHROMIUM_BIN:-}" && -x "${FERRY_CHROMIUM_BIN}" ]]; then
  echo "$FERRY_CHROMIUM_BIN"
  exit 0
fi
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian's chromium" >&2
  if [[ "$(id -u)" -eq 0 ]]; then sudo=; else sudo=sudo; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >&2
  # fonts-dejavu-core: the system fonts the dashboard's screenshots use.
  $sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
fi
command -v chromium
