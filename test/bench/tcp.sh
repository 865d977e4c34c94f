#!/usr/bin/env bash
# tcp.sh: the `make bench` layer 4 comparison. Ferry (a HostSNI(`*`) TCP
# router) and HAProxy (mode tcp) forward to the same echo backend on
# loopback; tcpload measures, for each and for the backend directly:
#   throughput: BENCH_TCP_CONNS (4) streams echoing up to 512 MiB each, at most BENCH_TCP_DURATION (10s)
#   rate:       BENCH_TCP_WORKERS (32) workers opening short connections for BENCH_TCP_DURATION
# Everything listens on 127.0.0.1 only; everything started here is stopped
# on exit. Ports: BENCH_TCP_PORT_BASE (18290) to +4.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

duration="${BENCH_TCP_DURATION:-10s}"
conns="${BENCH_TCP_CONNS:-4}"
workers="${BENCH_TCP_WORKERS:-32}"
base="${BENCH_TCP_PORT_BASE:-18290}"
backend_port=$base ferry_port=$((base + 1)) api_port=$((base + 2)) haproxy_port=$((base + 3))

if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then
	echo "installing haproxy..."
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends haproxy >/dev/null
fi
haproxy_bin="$(command -v haproxy || echo /usr/sbin/haproxy)"

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$backend_port" "$ferry_port" "$api_port" "$haproxy_port"; do
	if port_busy "$p"; then
		echo "bench: port 127.0.0.1:$p is in use; set BENCH_TCP_PORT_BASE" >&2
		exit 1
	fi
done

mkdir -p bin
echo "building bin/ferry and bin/tcpload..."
version="$(git describe --always --dirty 2>/dev/null || echo dev)"
go build -ldflags "-X main.version=$version" -o bin/ferry ./cmd/ferry
go build -o bin/tcpload ./test/bench/tcpload

tmp="$(mktemp -d)"
pids=()
cleanup() {
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

wait_port() {
	for _ in $(seq 100); do
		if port_busy "$1"; then return 0; fi
		sleep 0.1
	done
	echo "bench: nothing listens on 127.0.0.1:$1 after 10s" >&2
	return 1
}

bin/tcpload serve -addr "127.0.0.1:$backend_port" &
pids+=($!)

cat >"$tmp/ferry.yaml" <<YAML
entryPoints:
  tcp:
    address: "127.0.0.1:$ferry_port"
providers:
  file:
    filename: dynamic.yaml
    watch: false
api:
  address: "127.0.0.1:$api_port"
log:
  level: warn
YAML
cat >"$tmp/dynamic.yaml" <<YAML
tcp:
  routers:
    echo:
      rule: HostSNI(\`*\`)
      service: echo
  services:
    echo:
      loadBalancer:
        servers:
          - address: "127.0.0.1:$backend_port"
YAML
bin/ferry --config "$tmp/ferry.yaml" 2>"$tmp/ferry.log" &
pids+=($!)

cat >"$tmp/haproxy.cfg" <<CFG
global
    nbthread 2
    maxconn 4000
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend echo
    bind 127.0.0.1:$haproxy_port
    default_backend echo
backend echo
    server echo 127.0.0.1:$backend_port
CFG
"$haproxy_bin" -db -f "$tmp/haproxy.cfg" >"$tmp/haproxy.log" 2>&1 &
pids+=($!)

wait_port "$backend_port"
wait_port "$ferry_port"
wait_port "$haproxy_port"
for _ in $(seq 100); do
	curl -fsS "http://127.0.0.1:$api_port/api/tcp/routers" 2>/dev/null | grep -q '"enabled"' && break
	sleep 0.1
done

echo
echo "TCP through Ferry and HAProxy $("$haproxy_bin" -v | head -1 | awk '{print $3}') (mode tcp), loopback, $(nproc) CPUs"
for target in "direct:$backend_port" "ferry:$ferry_port" "haproxy:$haproxy_port"; do
	name="${target%%:*}" port="${target##*:}"
	printf '%-8s ' "$name"
	bin/tcpload throughput -addr "127.0.0.1:$port" -conns "$conns" -d "$duration"
	printf '%-8s ' "$name"
	bin/tcpload rate -addr "127.0.0.1:$port" -conns "$workers" -d "$duration"
done
