#!/usr/bin/env bash
# demo.sh: the `make demo` target. Builds bin/ferry and bin/backend, starts two
# demo backends (whoami-1 on 127.0.0.1:9001, whoami-2 on 127.0.0.1:9002, as
# configs/demo-dynamic.yaml expects), then runs Ferry with configs/ferry.yaml
# until interrupted. Ctrl-C stops Ferry and the backends.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

mkdir -p bin
echo "building bin/ferry and bin/backend..."
version="$(git describe --always --dirty 2>/dev/null || echo dev)"
go build -ldflags "-X main.version=$version" -o bin/ferry ./cmd/ferry
go build -o bin/backend ./test/backend

tmp="$(mktemp -d)"
pids=()
cleanup() {
	local i
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do # Ferry first, then the backends
		kill "${pids[i]}" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_backend NAME ADDR: starts a backend and waits for its "listening on" line.
start_backend() {
	local name="$1" addr="$2" out="$tmp/$1.out"
	bin/backend -addr "$addr" -name "$name" >"$out" 2>&1 &
	local pid=$!
	pids+=("$pid")
	for _ in $(seq 50); do
		if grep -q '^listening on' "$out"; then
			echo "backend $name: $(head -n1 "$out")"
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "backend $name failed to start:" >&2
			cat "$out" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "backend $name did not start within 5s" >&2
	return 1
}

start_backend whoami-1 127.0.0.1:9001
start_backend whoami-2 127.0.0.1:9002

# first_address SECTION: the first address under a top-level section of configs/ferry.yaml.
first_address() {
	awk -v section="$1" '
		$0 ~ "^" section ":" { inside = 1; next }
		/^[^ #]/ { inside = 0 }
		inside && $1 == "address:" { gsub(/["'\'']/, "", $2); print $2; exit }
	' configs/ferry.yaml
}
web="$(first_address entryPoints)"
api="$(first_address api)"
web="${web:-127.0.0.1:8080}"
api="${api:-127.0.0.1:8081}"

cat <<MSG

Ferry is starting with configs/ferry.yaml (dynamic routes in configs/demo-dynamic.yaml).
Try, in another terminal:

  curl -H 'Host: demo.localhost' http://$web/           # alternates whoami-1 / whoami-2
  curl -H 'Host: demo.localhost' http://$web/api/hello  # PathPrefix(\`/api\`): whoami-1 3 times out of 4
  curl -H 'Host: nothing.localhost' http://$web/        # 404: no router matches
  curl http://$api/api/http/routers                     # routers and their status
  curl http://$api/api/http/services                    # services and their servers
  curl http://$api/api/rawdata                          # everything, with problems

Edit configs/demo-dynamic.yaml while it runs: routes change within a second.
Press Ctrl-C to stop.

MSG

# Ferry runs as a child the script waits for, so that a signal to the script
# (Ctrl-C, kill) stops Ferry and the backends alike.
bin/ferry --config configs/ferry.yaml &
pids+=($!)
wait "$!"
