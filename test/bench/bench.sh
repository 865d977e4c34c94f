#!/usr/bin/env bash
# bench.sh: the `make bench` peer comparison over HTTP/1.1 keep-alive.
# Ferry, nginx and HAProxy (mode http) proxy the same backend on loopback;
# wrk measures each with the same load, for answers of 13 B, 16 KiB and
# 1 MiB (the backend's /bytes/<n>):
#   wrk -t2 -c64 -d10s --latency -H 'Host: bench.local'
# and the script prints one table: requests/s, p50 and p99 per proxy and
# size, the CPU time (user and system) each proxy and the backend spent per
# request during the measured run (from /proc: on a shared machine a
# steadier measure than requests/s), and Ferry's and HAProxy's ratios to
# nginx, of requests/s and of CPU per request. Everything listens on
# 127.0.0.1 only; everything started here is stopped on exit.
#
# Environment: BENCH_DURATION (default 10s), BENCH_CONNECTIONS (64),
# BENCH_THREADS (2), BENCH_WARMUP (3s), BENCH_FERRY_PORT (18180),
# BENCH_API_PORT (18181), BENCH_NGINX_PORT (18182), BENCH_HAPROXY_PORT
# (18183), BENCH_SIZES (default "13 16384 1048576"), BENCH_FERRY_ENV
# (variables for Ferry only, e.g. GOGC=200), BENCH_IDLE_CONNECTIONS (5000:
# then the memory each proxy holds per idle keep-alive client connection,
# from its RSS before and after that many idle connections; 0 skips).
#
# Then WebSocket echo round trips: test/bench/wsload opens
# BENCH_WS_CONNECTIONS (64; 0 skips) connections through each proxy with an
# Upgrade to the backend's /ws echo, each with one message of BENCH_WS_SIZE
# bytes (16) in flight at a time, for BENCH_WARMUP and then BENCH_WS_DURATION
# (default BENCH_DURATION), and a second table gives round trips/s, p50 and
# p99 with the same ratios to nginx. Last, BENCH_H2SPEC (1; 0 skips) runs
# h2spec (test/h2spec/ensure-h2spec.sh builds it once) against Ferry's entry
# point over h2c and prints its pass and fail counts.
set -euo pipefail
ulimit -n "$(ulimit -Hn)" # the idle connections

source "$(dirname "$0")/lib.sh"

duration="${BENCH_DURATION:-10s}"
connections="${BENCH_CONNECTIONS:-64}"
threads="${BENCH_THREADS:-2}"
warmup="${BENCH_WARMUP:-3s}"
ferry_port="${BENCH_FERRY_PORT:-18180}"
api_port="${BENCH_API_PORT:-18181}"
nginx_port="${BENCH_NGINX_PORT:-18182}"
haproxy_port="${BENCH_HAPROXY_PORT:-18183}"
sizes="${BENCH_SIZES:-13 16384 1048576}"
idle_n="${BENCH_IDLE_CONNECTIONS:-5000}"
ws_connections="${BENCH_WS_CONNECTIONS:-64}"
ws_duration="${BENCH_WS_DURATION:-$duration}"
ws_size="${BENCH_WS_SIZE:-16}"
h2spec_run="${BENCH_H2SPEC:-1}"

# go_duration turns wrk's bare seconds ("10") into a Go duration ("10s").
go_duration() { if [[ "$1" =~ ^[0-9]+$ ]]; then echo "${1}s"; else echo "$1"; fi; }

# Install the peers only when missing.
bench_require nginx:nginx wrk:wrk haproxy:haproxy
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
haproxy_bin="$(command -v haproxy || echo /usr/sbin/haproxy)"
bench_check_ports 'BENCH_*_PORT' "$ferry_port" "$api_port" "$nginx_port" "$haproxy_port"
bench_build ./test/backend ./test/bench/idleconns ./test/bench/wsload
bench_tmp

# Backend.
start_backend

# Ferry.
cat >"$tmp/dynamic.yaml" <<YAML
http:
  routers:
    bench:
      rule: "Host(\`bench.local\`)"
      service: bench
    # h2spec sends :authority 127.0.0.1:<port>; bench.local wins by priority.
    any:
      rule: "PathPrefix(\`/\`)"
      service: bench
  services:
    bench:
      loadBalancer:
        servers:
          - url: "http://$backend_addr"
YAML
start_web_ferry "$ferry_port" "$api_port"
ferry_pid="${pids[-1]}"
wait_for "ferry API" curl -sf "http://127.0.0.1:$api_port/ping"
wait_for "ferry route" curl -sf -H 'Host: bench.local' "http://127.0.0.1:$ferry_port/"

# nginx.
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx/nginx.conf" <<CONF
worker_processes auto;
error_log $tmp/nginx/error.log warn;
pid $tmp/nginx/nginx.pid;
worker_rlimit_nofile 19000;
events { worker_connections 16000; }
http {
    access_log off;
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    upstream bench {
        server $backend_addr;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$nginx_port;
        server_name bench.local;
        location / {
            proxy_pass http://bench;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Host \$host;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Forwarded-Port \$server_port;
        }
        location /ws {
            proxy_pass http://bench;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Host \$host;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Forwarded-Port \$server_port;
            proxy_read_timeout 300s;
        }
    }
}
CONF
"$nginx_bin" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' 2>"$tmp/nginx/stderr.log" &
pids+=($!)
nginx_pid=$!
wait_for nginx curl -sf -H 'Host: bench.local' "http://127.0.0.1:$nginx_port/"

# HAProxy, mode http, keep-alive both sides; WebSocket upgrades are
# tunnelled (timeout tunnel).
cat >"$tmp/haproxy.cfg" <<CFG
global
    nbthread $(nproc)
    maxconn 8000
defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout tunnel 300s
frontend bench
    bind 127.0.0.1:$haproxy_port
    default_backend bench
backend bench
    option forwardfor
    server bench $backend_addr
CFG
"$haproxy_bin" -db -f "$tmp/haproxy.cfg" >"$tmp/haproxy.log" 2>&1 &
pids+=($!)
haproxy_pid=$!
wait_for haproxy curl -sf -H 'Host: bench.local' "http://127.0.0.1:$haproxy_port/"

# run_wrk NAME PORT PATH PID...: warm-up, then the measured run; prints rps
# p50 p99 non2xx, and the CPU time per request of the proxy (its PIDs) and
# of the backend, in microseconds.
run_wrk() {
	local name="$1" port="$2" path="$3" out="$tmp/wrk-$1.txt" proxy0 backend0 proxy1 backend1
	shift 3
	wrk -t"$threads" -c"$connections" -d"$warmup" -H 'Host: bench.local' "http://127.0.0.1:$port$path" >/dev/null
	proxy0="$(cpu_ticks "$@")" backend0="$(cpu_ticks "$backend_pid")"
	wrk -t"$threads" -c"$connections" -d"$duration" --latency -H 'Host: bench.local' "http://127.0.0.1:$port$path" >"$out"
	proxy1="$(cpu_ticks "$@")" backend1="$(cpu_ticks "$backend_pid")"
	cat "$out" >&2
	awk -v proxy=$((proxy1 - proxy0)) -v backend=$((backend1 - backend0)) -v hz="$(getconf CLK_TCK)" '
		/ requests in / { n = $1 }
		/Requests\/sec:/ { rps = $2 }
		$1 == "50%" { p50 = $2 }
		$1 == "99%" { p99 = $2 }
		/Non-2xx or 3xx responses:/ { bad = $NF }
		END {
			us = 1e6 / hz / (n > 0 ? n : 1)
			printf "%s %s %s %s %.1f %.1f\n", rps, p50, p99, (bad == "" ? 0 : bad), proxy * us, backend * us
		}
	' "$out"
}

# proxy_pids NAME prints the PIDs of a proxy's processes (nginx: its
# master and workers).
proxy_pids() {
	case "$1" in
	ferry) echo "$ferry_pid" ;;
	nginx) echo "$nginx_pid" $(pgrep -P "$nginx_pid") ;;
	haproxy) echo "$haproxy_pid" ;;
	esac
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

rows=()
for size in $sizes; do
	declare -A rps=()
	declare -A cpu=()
	for proxy in ferry nginx haproxy; do
		port_var="${proxy}_port"
		echo "== $proxy (127.0.0.1:${!port_var}), /bytes/$size ==" >&2
		# shellcheck disable=SC2046 # proxy_pids prints a list of PIDs
		read -r r p50 p99 bad cpu_proxy cpu_backend < <(run_wrk "$proxy" "${!port_var}" "/bytes/$size" $(proxy_pids "$proxy"))
		rps[$proxy]="$r"
		cpu[$proxy]="$cpu_proxy"
		rows+=("$(printf '%-9s %-8s %12s %10s %10s %8s %10s %10s' "$size" "$proxy" "$r" "$p50" "$p99" "$bad" "$cpu_proxy" "$cpu_backend")")
	done
	rows+=("$(printf '%-9s %-8s ferry/nginx %s (CPU per request %s), haproxy/nginx %s (CPU %s)' "$size" ratios \
		"$(ratio "${rps[ferry]}" "${rps[nginx]}")" "$(ratio "${cpu[ferry]}" "${cpu[nginx]}")" \
		"$(ratio "${rps[haproxy]}" "${rps[nginx]}")" "$(ratio "${cpu[haproxy]}" "${cpu[nginx]}")")")
	unset rps cpu
done

echo
echo "HTTP/1.1 keep-alive: wrk -t$threads -c$connections -d$duration --latency -H 'Host: bench.local' /bytes/<size>"
echo "(backend: test/backend on $backend_addr; nginx $("$nginx_bin" -v 2>&1 | sed 's/.*nginx\///'), HAProxy $("$haproxy_bin" -v | head -1 | awk '{print $3}'); $(nproc) CPUs shared by all processes)"
echo "(CPU: microseconds of CPU time per request, user and system, of the proxy and of the backend)"
printf '%-9s %-8s %12s %10s %10s %8s %10s %10s\n' bytes proxy "requests/s" p50 p99 non-2xx "CPU proxy" "CPU backend"
printf '%s\n' "${rows[@]}"

# WebSocket echo round trips through each proxy.
if [ "$ws_connections" -gt 0 ]; then
	ws_rows=()
	declare -A ws_rps=()
	for proxy in ferry nginx haproxy; do
		port_var="${proxy}_port"
		echo "== $proxy (127.0.0.1:${!port_var}), WebSocket echo /ws ==" >&2
		out="$tmp/ws-$proxy.txt"
		if bin/wsload -addr "127.0.0.1:${!port_var}" -host bench.local -path /ws -c "$ws_connections" \
			-size "$ws_size" -warmup "$(go_duration "$warmup")" -d "$(go_duration "$ws_duration")" >"$out"; then
			cat "$out" >&2
			read -r r p50 p99 bad < <(awk '{ print $2, $4, $6, $12 }' "$out")
		else
			r=0 p50=failed p99=failed bad=-
		fi
		ws_rps[$proxy]="$r"
		ws_rows+=("$(printf '%-8s %14s %10s %10s %8s' "$proxy" "$r" "$p50" "$p99" "$bad")")
	done
	ws_rows+=("$(printf '%-8s ferry/nginx %s, haproxy/nginx %s' ratios "$(ratio "${ws_rps[ferry]}" "${ws_rps[nginx]}")" "$(ratio "${ws_rps[haproxy]}" "${ws_rps[nginx]}")")")
	echo
	echo "WebSocket echo round trips: wsload -c$ws_connections -size $ws_size -d$ws_duration, one message in flight per connection, Upgrade to /ws"
	printf '%-8s %14s %10s %10s %8s\n' proxy "round trips/s" p50 p99 errors
	printf '%s\n' "${ws_rows[@]}"
fi

# Memory per idle keep-alive client connection: each proxy's RSS (nginx:
# master and workers) before and after idle_n connections that made one
# request each.
rss_kib() {
	local total=0 p
	for p in "$@"; do
		total=$((total + $(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status")))
	done
	echo "$total"
}
idle_row() { # NAME PORT PID...
	local name="$1" port="$2" before after line
	shift 2
	before="$(rss_kib "$@")"
	coproc IDLE { bin/idleconns -addr "127.0.0.1:$port" -n "$idle_n"; }
	read -r line <&"${IDLE[0]}" || { echo "bench: $name: idle connections failed" >&2; exit 1; }
	sleep 1
	after="$(rss_kib "$@")"
	eval "exec ${IDLE[1]}>&-"
	wait "$IDLE_PID" || true
	printf '%-8s %12s %12s %10s\n' "$name" "$before" "$after" "$(( (after - before) * 1024 / idle_n ))"
}
if [ "$idle_n" -gt 0 ]; then
	echo
	echo "$idle_n idle keep-alive client connections (one request each), RSS in KiB"
	printf '%-8s %12s %12s %10s\n' proxy before after "B/conn"
	idle_row ferry "$ferry_port" "$ferry_pid"
	idle_row nginx "$nginx_port" "$nginx_pid" $(pgrep -P "$nginx_pid")
	idle_row haproxy "$haproxy_port" "$haproxy_pid"
fi

# h2spec against Ferry over h2c (prior knowledge on the plain entry point).
# h2spec_ids prints the ids (http2/4.2/3) of the failed cases of h2spec's
# text report.
h2spec_ids() {
	awk '
		/^Failures:/ { on = 1; next }
		!on { next }
		/^Generic tests/ { group = "generic" }
		/^Hypertext Transfer Protocol/ { group = "http2" }
		/^HPACK/ { group = "hpack" }
		/^ *[0-9][0-9.]*\. / { sec = $1; sub(/\.$/, "", sec) }
		/× [0-9]+:/ { n = $0; sub(/.*× /, "", n); sub(/:.*/, "", n); printf "%s%s/%s/%s", sep, group, sec, n; sep = " " }
	' "$1"
}
if [ "$h2spec_run" != 0 ]; then
	echo
	if h2spec_bin="$(bash test/h2spec/ensure-h2spec.sh)"; then
		out="$tmp/h2spec.txt"
		timeout 300 "$h2spec_bin" -h 127.0.0.1 -p "$ferry_port" -o 3 >"$out" 2>&1 || true
		cat "$out" >&2
		echo "h2spec $("$h2spec_bin" --version | awk '{ print $2 }') against Ferry over h2c (127.0.0.1:$ferry_port): $(tail -n1 "$out")"
		failed="$(h2spec_ids "$out")"
		[ -z "$failed" ] || echo "failed: $failed (test/e2e/h2spec_test.go gives the reasons of the known ones)"
	else
		echo "h2spec: not available (test/h2spec/ensure-h2spec.sh failed)"
	fi
fi
