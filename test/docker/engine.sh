#!/usr/bin/env bash
# Makes sure a Docker engine answers for the end-to-end tests and prints the
# DOCKER_HOST to use.
#
# The machine's own engine is used when one answers ($DOCKER_HOST, else
# /var/run/docker.sock). Otherwise (a fresh CI machine, as root) Debian's
# docker.io is installed when missing and a private dockerd is started with
# vfs storage under a temporary directory; it keeps running for the rest of
# the CI job and its socket is printed. Its log is in <dir>/dockerd.log.
set -euo pipefail

answers() { DOCKER_HOST="$1" docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

host="${DOCKER_HOST:-unix:///var/run/docker.sock}"
if command -v docker >/dev/null 2>&1 && answers "$host"; then
  echo "$host"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "test/docker/engine.sh: no Docker engine answers at $host and starting one needs root" >&2
  exit 1
fi
if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  echo "test/docker/engine.sh: installing docker.io" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >&2
  if answers "$host"; then # the package's own service may have started
    echo "$host"
    exit 0
  fi
fi

dir="$(mktemp -d /tmp/ferry-dockerd-XXXXXX)"
sock="unix://$dir/docker.sock"
# An empty config file: the machine's /etc/docker/daemon.json may set
# data-root or storage-driver, which dockerd refuses to see twice.
echo '{}' >"$dir/daemon.json"
nohup dockerd --config-file "$dir/daemon.json" --storage-driver vfs -H "$sock" --data-root "$dir/data" --exec-root "$dir/exec" \
  --pidfile "$dir/dockerd.pid" >"$dir/dockerd.log" 2>&1 &
for _ in $(seq 1 100); do
  if answers "$sock"; then
    echo "test/docker/engine.sh: started dockerd at $sock" >&2
    echo "$sock"
    exit 0
  fi
  sleep 0.2
done
echo "test/docker/engine.sh: dockerd did not answer within 20s; log:" >&2
tail -n 40 "$dir/dockerd.log" >&2
exit 1
