#!/usr/bin/env bash
# acme-bench.sh: TLS handshakes per second with an ECDSA P-256 certificate
# obtained from an ACME CA, Ferry vs nginx in the same run.
#
# Pebble (Debian's package) issues the certificate to Ferry through the
# HTTP-01 challenge on Ferry's own entry point; nginx then serves the very
# same certificate and key from Ferry's storage. Both proxy one backend.
# h2load opens a new TLS connection for every request:
#   h2load --h1 -H 'Connection: close' -n $BENCH_REQUESTS -c $BENCH_CLIENTS -t $BENCH_THREADS
# and the script prints the handshake (= request) rate of each and the
# ratio Ferry/nginx. Then HTTP/2 over TLS on kept connections:
#   h2load -n $BENCH_H2_REQUESTS -c 16 -m 16 -t $BENCH_THREADS
# and its ratio. It also prints the time from Ferry's start to its first
# valid HTTPS answer. Everything listens on 127.0.0.1 only and is stopped
# on exit.
#
# Environment: BENCH_REQUESTS (default 20000), BENCH_CLIENTS (50),
# BENCH_THREADS (2), BENCH_H2_REQUESTS (200000), BENCH_PORT_BASE (18190:
# ten ports from there are used).
set -euo pipefail

bench_name=acme-bench bench_wait_tries=300
source "$(dirname "$0")/lib.sh"

requests="${BENCH_REQUESTS:-20000}"
h2_requests="${BENCH_H2_REQUESTS:-200000}"
clients="${BENCH_CLIENTS:-50}"
threads="${BENCH_THREADS:-2}"
base="${BENCH_PORT_BASE:-18190}"
web=$base secure=$((base + 1)) api=$((base + 2)) nginx_port=$((base + 3))
pebble_port=$((base + 4)) pebble_mgmt=$((base + 5)) dns=$((base + 6)) chall_mgmt=$((base + 7))
name=bench.ferry.test

bench_require nginx:nginx h2load:nghttp2-client openssl:openssl curl:curl
pebble="$(bash test/pebble/ensure-pebble.sh)"
challtestsrv="$(dirname "$pebble")/pebble-challtestsrv"
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"

bench_check_ports BENCH_PORT_BASE $web $secure $api $nginx_port $pebble_port $pebble_mgmt $chall_mgmt
bench_build ./test/backend
bench_tmp

# Pebble, with its own listener certificate and challtestsrv as its DNS.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
	-addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout "$tmp/pebble.key" -out "$tmp/pebble.crt" 2>/dev/null
cat >"$tmp/pebble.json" <<JSON
{"pebble": {"listenAddress": "127.0.0.1:$pebble_port", "managementListenAddress": "127.0.0.1:$pebble_mgmt",
  "certificate": "$tmp/pebble.crt", "privateKey": "$tmp/pebble.key", "httpPort": $web, "tlsPort": $secure,
  "ocspResponderURL": "", "externalAccountBindingRequired": false}}
JSON
"$challtestsrv" -defaultIPv4 127.0.0.1 -defaultIPv6 "" -dns01 "127.0.0.1:$dns" -management "127.0.0.1:$chall_mgmt" \
	-http01 "" -https01 "" -tlsalpn01 "" >"$tmp/challtestsrv.log" 2>&1 &
pids+=($!)
PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 "$pebble" -config "$tmp/pebble.json" -dnsserver "127.0.0.1:$dns" >"$tmp/pebble.log" 2>&1 &
pids+=($!)
wait_for pebble curl -sf --cacert "$tmp/pebble.crt" -o "$tmp/root.pem" "https://127.0.0.1:$pebble_mgmt/roots/0"

# Backend and Ferry.
start_backend
cat >"$tmp/dynamic.yaml" <<YAML
http:
  routers:
    bench:
      rule: "Host(\`$name\`)"
      service: bench
      tls:
        certResolver: pebble
  services:
    bench:
      loadBalancer:
        servers:
          - url: "http://$backend_addr"
YAML
cat >"$tmp/ferry.yaml" <<YAML
entryPoints:
  web:
    address: "127.0.0.1:$web"
  websecure:
    address: "127.0.0.1:$secure"
    http:
      tls: {}
providers:
  file:
    filename: "$tmp/dynamic.yaml"
    watch: false
api:
  insecure: true
  address: "127.0.0.1:$api"
log:
  level: warn
  format: console
certificatesResolvers:
  pebble:
    acme:
      email: bench@ferry.test
      caServer: "https://127.0.0.1:$pebble_port/dir"
      caCertificates: ["$tmp/pebble.crt"]
      storage: "$tmp/acme"
      httpChallenge:
        entryPoint: web
YAML
start=$(date +%s.%N)
start_ferry
valid() { curl -sf --cacert "$tmp/root.pem" --resolve "$name:$secure:127.0.0.1" "https://$name:$secure/"; }
wait_for "ferry certificate" valid
issued=$(date +%s.%N)
printf 'ferry: start to first valid HTTPS answer: %.2fs\n' "$(echo "$issued - $start" | bc)"

# nginx with the certificate Ferry obtained.
crt="$(find "$tmp/acme" -name "$name.crt" | head -n1)"
key="$(find "$tmp/acme" -name "$name.key" | head -n1)"
openssl x509 -in "$crt" -noout -text | grep -q 'id-ecPublicKey' || { echo "acme-bench: not an ECDSA certificate" >&2; exit 1; }
cat >"$tmp/nginx.conf" <<NGINX
worker_processes 2;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  upstream backend { server $backend_addr; keepalive 64; }
  server {
    listen 127.0.0.1:$nginx_port ssl http2;
    server_name $name;
    ssl_certificate $crt;
    ssl_certificate_key $key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache off;
    ssl_session_tickets off;
    keepalive_requests 1000000;  # the default 1000 ends h2load's kept connections
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
NGINX
"$nginx_bin" -c "$tmp/nginx.conf" -g 'daemon off;' 2>"$tmp/nginx.log" &
pids+=($!)
wait_for nginx curl -sf --cacert "$tmp/root.pem" --resolve "$name:$nginx_port:127.0.0.1" "https://$name:$nginx_port/"

# run NAME PORT: h2load with one TLS handshake per request; prints req/s.
run() {
	local out
	out="$(h2load --h1 -H 'Connection: close' -n "$requests" -c "$clients" -t "$threads" \
		--connect-to="127.0.0.1:$2" "https://$name:$2/" 2>&1)"
	if ! grep -q "$requests succeeded" <<<"$out"; then
		echo "acme-bench: $1: not every request succeeded:" >&2
		echo "$out" >&2
		exit 1
	fi
	echo "$1: $(grep -E '^(TLS Protocol|Cipher|Server Temp Key)' <<<"$out" | tr '\n' ' ')" >&2
	sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out"
}
echo "h2load --h1 -H 'Connection: close' -n $requests -c $clients -t $threads (one TLS handshake per request, ECDSA P-256)"
run warmup-ferry "$secure" >/dev/null
run warmup-nginx "$nginx_port" >/dev/null
ferry_rps="$(run ferry "$secure")"
nginx_rps="$(run nginx "$nginx_port")"
printf '%-8s %12s\n' "server" "handshakes/s"
printf '%-8s %12s\n' ferry "$ferry_rps" nginx "$nginx_rps"
printf 'ratio ferry/nginx: %.2f\n' "$(echo "$ferry_rps / $nginx_rps" | bc -l)"

# run_h2 NAME PORT: HTTP/2 over TLS, 16 connections with 16 streams each;
# prints req/s.
run_h2() {
	local out
	out="$(h2load -n "$h2_requests" -c 16 -m 16 -t "$threads" --connect-to="127.0.0.1:$2" "https://$name:$2/bytes/13" 2>&1)"
	if ! grep -q "$h2_requests succeeded" <<<"$out" || ! grep -q 'Application protocol: h2' <<<"$out"; then
		echo "acme-bench: $1: HTTP/2: not every request succeeded, or not over h2:" >&2
		echo "$out" >&2
		exit 1
	fi
	sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out"
}
echo
echo "h2load -n $h2_requests -c 16 -m 16 -t $threads (HTTP/2 over TLS, kept connections, 13 B answers)"
run_h2 warmup-ferry "$secure" >/dev/null
run_h2 warmup-nginx "$nginx_port" >/dev/null
ferry_h2="$(run_h2 ferry "$secure")"
nginx_h2="$(run_h2 nginx "$nginx_port")"
printf '%-8s %12s\n' "server" "requests/s"
printf '%-8s %12s\n' ferry "$ferry_h2" nginx "$nginx_h2"
printf 'ratio ferry/nginx: %.2f\n' "$(echo "$ferry_h2 / $nginx_h2" | bc -l)"
