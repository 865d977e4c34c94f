#!/usr/bin/env bash
# tcp.sh: the `make bench` layer 4 comparison. Ferry (a HostSNI(`*`) TCP
# router) and HAProxy (mode tcp) forward to the same echo backend on
# loopback; tcpload measures, for each and for the backend directly:
#   throughput: BENCH_TCP_CONNS (4) streams echoing up to 512 MiB each, at most BENCH_TCP_DURATION (10s)
#   rate:       BENCH_TCP_WORKERS (32) workers opening short connections for BENCH_TCP_DURATION
# Everything listens on 127.0.0.1 only; everything started here is stopped
# on exit. Ports: BENCH_TCP_PORT_BASE (18290) to +4.
set -euo pipefail

source "$(dirname "$0")/lib.sh"

duration="${BENCH_TCP_DURATION:-10s}"
conns="${BENCH_TCP_CONNS:-4}"
workers="${BENCH_TCP_WORKERS:-32}"
base="${BENCH_TCP_PORT_BASE:-18290}"
backend_port=$base ferry_port=$((base + 1)) api_port=$((base + 2)) haproxy_port=$((base + 3))

bench_require haproxy:haproxy
haproxy_bin="$(command -v haproxy || echo /usr/sbin/haproxy)"
bench_check_ports BENCH_TCP_PORT_BASE "$backend_port" "$ferry_port" "$api_port" "$haproxy_port"
bench_build ./test/bench/tcpload
bench_tmp

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
  insecure: true
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
start_ferry

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
