#!/usr/bin/env bash
# lib.sh: the setup the bench scripts share, sourced by each of them after
# `set -euo pipefail`: it moves to the repository root and defines
#   bench_require CMD:PACKAGE...   install the packages whose command is missing
#   bench_check_ports HINT PORT... fail when a port is in use
#   bench_build TARGET...          build bin/ferry and bin/<base of TARGET>
#   bench_tmp                      make $tmp and stop every pid in pids on exit
#   wait_for WHAT COMMAND...       retry COMMAND for up to $bench_wait_tries/10 s
#   wait_port PORT                 wait until something listens on PORT
#   start_backend                  start bin/backend, set $backend_addr
#   start_ferry                    start bin/ferry --config "$tmp/ferry.yaml"
#   start_web_ferry PORT API_PORT  write a one-entry-point ferry.yaml, start_ferry
# Messages start with "$bench_name:" (default bench).

bench_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$bench_root"
bench_name="${bench_name:-bench}"
bench_wait_tries="${bench_wait_tries:-100}"

# bench_require CMD:PACKAGE...: apt-get installs the packages of the
# commands found neither on PATH nor in /usr/sbin.
bench_require() {
	local missing=() spec
	for spec in "$@"; do
		command -v "${spec%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${spec%%:*}" ] || missing+=("${spec##*:}")
	done
	if [ "${#missing[@]}" -gt 0 ]; then
		echo "installing ${missing[*]}..."
		local sudo=""
		[ "$(id -u)" -eq 0 ] || sudo="sudo"
		$sudo apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# bench_check_ports HINT PORT...: exits when a port is in use, telling the
# user which variable (HINT) moves it.
bench_check_ports() {
	local hint="$1" p
	shift
	for p in "$@"; do
		if port_busy "$p"; then
			echo "$bench_name: port 127.0.0.1:$p is in use; set $hint" >&2
			exit 1
		fi
	done
}

# bench_build TARGET...: builds bin/ferry (with its version) and each
# package TARGET into bin/.
bench_build() {
	local names=bin/ferry target
	for target in "$@"; do names+=" and bin/$(basename "$target")"; done
	mkdir -p bin
	echo "building $names..."
	local version
	version="$(git describe --always --dirty 2>/dev/null || echo dev)"
	go build -ldflags "-X main.version=$version" -o bin/ferry ./cmd/ferry
	for target in "$@"; do
		go build -o "bin/$(basename "$target")" "$target"
	done
}

# bench_tmp makes the work directory $tmp (readable by nginx workers, which
# may run as another user) and stops every process in pids, then removes
# $tmp, when the script ends.
bench_tmp() {
	tmp="$(mktemp -d)"
	chmod 755 "$tmp"
	pids=()
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

bench_cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$tmp"
}

# wait_for WHAT COMMAND...: retries COMMAND every 0.1 s, $bench_wait_tries times.
wait_for() {
	local what="$1"
	shift
	for _ in $(seq "$bench_wait_tries"); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	echo "$bench_name: $what not ready within $((bench_wait_tries / 10))s" >&2
	return 1
}

# wait_port PORT: waits up to 10 s until something listens on 127.0.0.1:PORT.
wait_port() {
	for _ in $(seq 100); do
		if port_busy "$1"; then return 0; fi
		sleep 0.1
	done
	echo "$bench_name: nothing listens on 127.0.0.1:$1 after 10s" >&2
	return 1
}

# start_backend starts bin/backend named bench on a free port and sets
# backend_addr once it listens.
start_backend() {
	bin/backend -addr 127.0.0.1:0 -name bench >"$tmp/backend.out" 2>&1 &
	pids+=($!)
	backend_pid=$!
	wait_for backend grep -q '^listening on' "$tmp/backend.out"
	backend_addr="$(sed -n 's/^listening on //p' "$tmp/backend.out" | head -n1)"
}

# cpu_ticks PID... prints the CPU time (user and system, in clock ticks)
# the processes and all their threads have used so far.
cpu_ticks() {
	local p total=0
	for p in "$@"; do
		# Fields after the command name's closing parenthesis: utime is
		# the 12th, stime the 13th.
		total=$((total + $(sed 's/.*) //' "/proc/$p/stat" | awk '{ print $12 + $13 }')))
	done
	echo "$total"
}

# start_ferry starts bin/ferry on $tmp/ferry.yaml, its log in $tmp/ferry.log;
# BENCH_FERRY_ENV adds variables to its environment only (e.g. GOGC=200).
start_ferry() {
	# shellcheck disable=SC2086 # BENCH_FERRY_ENV is a list of NAME=value words
	env ${BENCH_FERRY_ENV:-} bin/ferry --config "$tmp/ferry.yaml" 2>"$tmp/ferry.log" &
	pids+=($!)
}

# start_web_ferry PORT API_PORT writes $tmp/ferry.yaml with the entry point
# "web" on PORT, the API on API_PORT and the unwatched file provider on
# $tmp/dynamic.yaml, then starts ferry.
start_web_ferry() {
	cat >"$tmp/ferry.yaml" <<YAML
entryPoints:
  web:
    address: "127.0.0.1:$1"
providers:
  file:
    filename: "$tmp/dynamic.yaml"
    watch: false
api:
  insecure: true
  address: "127.0.0.1:$2"
log:
  level: warn
  format: console
YAML
	start_ferry
}
