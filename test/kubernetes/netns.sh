#!/usr/bin/env bash
# Runs a command (the compiled e2e test binary) inside fresh network, PID and
# mount namespaces, for the Kubernetes end-to-end tests: the API server
# refuses loopback addresses in EndpointSlices, so backends listen on
# documentation addresses (192.0.2.10-192.0.2.29) put on the namespace's
# own lo, which nothing outside can reach. Ferry, etcd, kube-apiserver, the
# backends and the test's clients all run in there; there is no other
# network, so build every binary before. When the command ends, every
# process left in the namespace is killed with it.
#
#   test/kubernetes/netns.sh bin/e2e.test -test.run '^TestKube'
#
# Needs root (unshare) and iproute2; installs Debian's util-linux and
# iproute2 when missing. Sets FERRY_KUBE_NETNS=1 for the tests.
set -euo pipefail

if [[ "${FERRY_IN_NETNS:-}" != 1 ]]; then
  if [[ "$(id -u)" -ne 0 ]]; then
    echo "netns.sh: needs root for unshare --net" >&2
    exit 1
  fi
  missing=()
  command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
  command -v ip >/dev/null 2>&1 || missing+=(iproute2)
  if ((${#missing[@]})); then
    echo "installing Debian's ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    # Other installers may run at the same time (make e2e): wait for dpkg's lock.
    apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
  FERRY_IN_NETNS=1 exec unshare --net --pid --fork --mount-proc -- "$0" "$@"
fi

# Inside: PID 1 of the new PID namespace.
ip link set lo up
for i in $(seq 10 29); do
  ip addr add "192.0.2.$i/32" dev lo
done
# A private /run (this mount namespace only) where a test can put a pod's
# service account files (/var/run/secrets/kubernetes.io/serviceaccount) to
# run Ferry with its in-cluster configuration.
mount -t tmpfs -o size=16m,mode=0755 tmpfs /run
export FERRY_KUBE_NETNS=1
tmp="$(mktemp -d /tmp/ferry-kube.XXXXXX)"
export TMPDIR="$tmp"
set +e
"$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' INT TERM
wait "$child"
rc=$?
# Everything the tests started (etcd, kube-apiserver, ferry) goes now.
kill -KILL -1 2>/dev/null
rm -rf "$tmp"
exit "$rc"
