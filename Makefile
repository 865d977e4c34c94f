# Ferry's build, test and benchmark entry points.
GO      ?= go
BIN     := bin/ferry
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
STATICCHECK_VERSION := v0.8.2

.PHONY: build test unit e2e bench lint fuzz demo clean

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/ferry

# test is what CI runs: formatting, vet, unit tests with the race detector,
# then the end-to-end tests against the built binary and real backends.
test: build lint unit e2e

unit:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v /test/)

e2e: build
	consul=$$(bash test/consul/ensure-consul.sh) && etcd=$$(bash test/etcd/ensure-etcd.sh) && \
	  pebble=$$(bash test/pebble/ensure-pebble.sh) && \
	  dockerhost=$$(bash test/docker/engine.sh) && DOCKER_HOST=$$dockerhost FERRY_DOCKER_REQUIRED=1 \
	  FERRY_PEBBLE_BIN=$$pebble FERRY_CONSUL_BIN=$$consul FERRY_ETCD_BIN=$$etcd $(GO) test -count=1 -timeout 15m ./test/...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

# bench: Go micro-benchmarks, then Ferry against nginx on loopback with wrk,
# then the cost of middlewares (bare router vs basicAuth + headers + compress),
# then TCP throughput and connection rate against HAProxy (mode tcp).
bench: build
	$(GO) test -run='^$$' -bench=. -benchmem ./router/... ./providers/...
	bash test/bench/bench.sh
	bash test/bench/middleware.sh
	bash test/bench/tcp.sh
	bash test/bench/acme-bench.sh

fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzCompile$$' -fuzztime=30s ./router/rule/
	$(GO) test -run='^$$' -fuzz=FuzzCompileTCP -fuzztime=30s ./router/rule/
	$(GO) test -run='^$$' -fuzz=FuzzParseClientHello -fuzztime=30s ./router/tcp/
	$(GO) test -run='^$$' -fuzz=FuzzRead -fuzztime=30s ./router/proxyproto/
	$(GO) test -run='^$$' -fuzz=FuzzParseYAMLDecode -fuzztime=30s ./providers/decode/

# demo: Ferry on the embedded example configuration in front of two demo backends.
demo: build
	bash test/demo.sh

clean:
	rm -rf bin
