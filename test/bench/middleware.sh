#!/usr/bin/env bash
# middleware.sh: the `make bench` middleware cost figure. One Ferry serves
# three routers in front of the same backend on loopback:
#   bare          no middleware
#   auth+headers  basicAuth (bcrypt) + headers
#   full          basicAuth (bcrypt) + headers + compress (gzip)
# wrk sends every router the same requests (credentials, Accept-Encoding
# and a header the backend echoes, so its JSON answer is ~1.7 KB, over
# compress's threshold):
#   wrk -t2 -c64 -d10s --latency -H 'Host: <router>.local' ...
# and the script prints requests/s, p50, p99 per run, then each router's
# mean requests/s and its ratio to bare.
# Everything listens on 127.0.0.1 only and is stopped on exit.
#
# Environment: BENCH_DURATION (default 10s), BENCH_CONNECTIONS (64),
# BENCH_THREADS (2), BENCH_WARMUP (3s), BENCH_ROUNDS (2), BENCH_MW_PORT
# (18190), BENCH_MW_API_PORT (18191).
set -euo pipefail

source "$(dirname "$0")/lib.sh"

duration="${BENCH_DURATION:-10s}"
connections="${BENCH_CONNECTIONS:-64}"
threads="${BENCH_THREADS:-2}"
warmup="${BENCH_WARMUP:-3s}"
ferry_port="${BENCH_MW_PORT:-18190}"
api_port="${BENCH_MW_API_PORT:-18191}"

bench_require wrk:wrk
bench_check_ports 'BENCH_MW_*PORT' "$ferry_port" "$api_port"
bench_build ./test/backend
bench_tmp
start_backend

# bench:bench, bcrypt cost 10 (htpasswd -B's default): every request after
# the first is served from basicAuth's cache of verified credentials.
htpasswd_line='bench:$2a$10$ps0sBjcs5h3sqL69e/6hjOHHIBnWCPfKP4TFAtn2lYW9GLo.tlyku'
cat >"$tmp/dynamic.yaml" <<YAML
http:
  routers:
    bare:
      rule: "Host(\`bare.local\`)"
      service: bench
    authheaders:
      rule: "Host(\`auth-headers.local\`)"
      service: bench
      middlewares: [auth, hdr]
    full:
      rule: "Host(\`full.local\`)"
      service: bench
      middlewares: [auth, hdr, gzip]
  services:
    bench:
      loadBalancer:
        servers:
          - url: "http://$backend_addr"
  middlewares:
    auth:
      basicAuth:
        users: ['$htpasswd_line']
        headerField: X-User
    hdr:
      headers:
        customRequestHeaders: {X-Env: bench}
        customResponseHeaders: {Server: ""}
        frameDeny: true
        contentTypeNosniff: true
    gzip:
      compress:
        encodings: [gzip]
YAML
start_web_ferry "$ferry_port" "$api_port"
wait_for "ferry API" curl -sf "http://127.0.0.1:$api_port/ping"

auth="Authorization: Basic $(printf 'bench:bench' | base64)"
pad="X-Pad: $(head -c 1200 /dev/zero | tr '\0' 'x')"
for host in bare.local auth-headers.local full.local; do
	wait_for "route $host" curl -sf -H "Host: $host" -H "$auth" "http://127.0.0.1:$ferry_port/"
done
if ! curl -s -o /dev/null -D - -H 'Host: full.local' -H "$auth" -H 'Accept-Encoding: gzip' -H "$pad" \
	"http://127.0.0.1:$ferry_port/" | grep -qi '^content-encoding: gzip'; then
	echo "bench: full.local does not compress; check $tmp/ferry.log" >&2
	exit 1
fi

# run_wrk HOST: warm-up, then the measured run; prints rps p50 p99 non2xx transfer/s.
run_wrk() {
	local host="$1" out="$tmp/wrk-$1.txt"
	local args=(-t"$threads" -c"$connections" -H "Host: $host" -H "$auth" -H 'Accept-Encoding: gzip' -H "$pad")
	wrk "${args[@]}" -d"$warmup" "http://127.0.0.1:$ferry_port/" >/dev/null
	wrk "${args[@]}" -d"$duration" --latency "http://127.0.0.1:$ferry_port/" >"$out"
	cat "$out" >&2
	awk '
		/Requests\/sec:/ { rps = $2 }
		/Transfer\/sec:/ { xfer = $2 }
		$1 == "50%" { p50 = $2 }
		$1 == "99%" { p99 = $2 }
		/Non-2xx or 3xx responses:/ { bad = $NF }
		END { printf "%s %s %s %s %s\n", rps, p50, p99, (bad == "" ? 0 : bad), xfer }
	' "$out"
}

# The routers take turns, BENCH_ROUNDS times (default 2), so that load from
# other processes on the machine spreads over all three.
rounds="${BENCH_ROUNDS:-2}"
hosts=(bare.local auth-headers.local full.local)
declare -A label=([bare.local]=bare [auth-headers.local]="basicAuth+headers" [full.local]="basicAuth+headers+compress")
declare -A sum
rows=()
for round in $(seq "$rounds"); do
	for host in "${hosts[@]}"; do
		echo "== round $round: $host ==" >&2
		read -r rps p50 p99 bad xfer < <(run_wrk "$host")
		sum[$host]="$(awk -v a="${sum[$host]:-0}" -v b="$rps" 'BEGIN { printf "%.2f", a + b }')"
		rows+=("$(printf '%-5s %-26s %12s %10s %10s %10s %12s' "$round" "${label[$host]}" "$rps" "$p50" "$p99" "$bad" "$xfer")")
	done
done

echo
echo "wrk -t$threads -c$connections -d$duration --latency, same requests to each router, $rounds rounds taking turns (backend: test/backend on $backend_addr, $(nproc) CPUs shared by all processes)"
printf '%-5s %-26s %12s %10s %10s %10s %12s\n' round router "requests/s" p50 p99 non-2xx "transfer/s"
printf '%s\n' "${rows[@]}"
echo
printf '%-26s %16s %8s\n' router "mean requests/s" "vs bare"
for host in "${hosts[@]}"; do
	awk -v name="${label[$host]}" -v a="${sum[$host]}" -v b="${sum[bare.local]}" -v n="$rounds" \
		'BEGIN { printf "%-26s %16.2f %8s\n", name, a / n, (b > 0 ? sprintf("%.2f", a / b) : "n/a") }'
done
