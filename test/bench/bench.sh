#!/usr/bin/env bash
# bench.sh: the `make bench` peer comparison. Ferry and nginx proxy the same
# backend on loopback; wrk measures each with the same load:
#   wrk -t2 -c64 -d10s --latency -H 'Host: bench.local'
# and the script prints requests/s, p50 and p99 for both and the ratio
# Ferry/nginx. Everything listens on 127.0.0.1 only; everything started here
# is stopped on exit.
#
# Environment: BENCH_DURATION (default 10s), BENCH_CONNECTIONS (64),
# BENCH_THREADS (2), BENCH_WARMUP (3s), BENCH_FERRY_PORT (18180),
# BENCH_API_PORT (18181), BENCH_NGINX_PORT (18182).
set -euo pipefail

source "$(dirname "$0")/lib.sh"

duration="${BENCH_DURATION:-10s}"
connections="${BENCH_CONNECTIONS:-64}"
threads="${BENCH_THREADS:-2}"
warmup="${BENCH_WARMUP:-3s}"
ferry_port="${BENCH_FERRY_PORT:-18180}"
api_port="${BENCH_API_PORT:-18181}"
nginx_port="${BENCH_NGINX_PORT:-18182}"

# Install the peers only when missing.
bench_require nginx:nginx wrk:wrk
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
bench_check_ports 'BENCH_*_PORT' "$ferry_port" "$api_port" "$nginx_port"
bench_build ./test/backend
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
  services:
    bench:
      loadBalancer:
        servers:
          - url: "http://$backend_addr"
YAML
start_web_ferry "$ferry_port" "$api_port"
wait_for "ferry API" curl -sf "http://127.0.0.1:$api_port/ping"
wait_for "ferry route" curl -sf -H 'Host: bench.local' "http://127.0.0.1:$ferry_port/"

# nginx.
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx/nginx.conf" <<CONF
worker_processes auto;
error_log $tmp/nginx/error.log warn;
pid $tmp/nginx/nginx.pid;
events { worker_connections 4096; }
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
    }
}
CONF
"$nginx_bin" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' 2>"$tmp/nginx/stderr.log" &
pids+=($!)
wait_for nginx curl -sf -H 'Host: bench.local' "http://127.0.0.1:$nginx_port/"

# run_wrk NAME PORT: warm-up, then the measured run; prints rps p50 p99 non2xx.
run_wrk() {
	local name="$1" port="$2" out="$tmp/wrk-$1.txt"
	wrk -t"$threads" -c"$connections" -d"$warmup" -H 'Host: bench.local' "http://127.0.0.1:$port/" >/dev/null
	wrk -t"$threads" -c"$connections" -d"$duration" --latency -H 'Host: bench.local' "http://127.0.0.1:$port/" >"$out"
	cat "$out" >&2
	awk '
		/Requests\/sec:/ { rps = $2 }
		$1 == "50%" { p50 = $2 }
		$1 == "99%" { p99 = $2 }
		/Non-2xx or 3xx responses:/ { bad = $NF }
		END { printf "%s %s %s %s\n", rps, p50, p99, (bad == "" ? 0 : bad) }
	' "$out"
}

echo "== ferry (127.0.0.1:$ferry_port) ==" >&2
read -r f_rps f_p50 f_p99 f_bad < <(run_wrk ferry "$ferry_port")
echo "== nginx (127.0.0.1:$nginx_port) ==" >&2
read -r n_rps n_p50 n_p99 n_bad < <(run_wrk nginx "$nginx_port")

ratio="$(awk -v f="$f_rps" -v n="$n_rps" 'BEGIN { if (n > 0) printf "%.2f", f / n; else print "n/a" }')"
echo
echo "wrk -t$threads -c$connections -d$duration --latency -H 'Host: bench.local' (backend: test/backend on $backend_addr, $(nproc) CPUs shared by all processes)"
printf '%-8s %12s %10s %10s %10s\n' proxy "requests/s" p50 p99 non-2xx
printf '%-8s %12s %10s %10s %10s\n' ferry "$f_rps" "$f_p50" "$f_p99" "$f_bad"
printf '%-8s %12s %10s %10s %10s\n' nginx "$n_rps" "$n_p50" "$n_p99" "$n_bad"
echo "ferry/nginx requests/s ratio: $ratio"
