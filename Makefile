# Ferry's build, test and benchmark entry points.
GO      ?= go
BIN     := bin/ferry
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
STATICCHECK_VERSION := v0.8.2

.PHONY: build test unit e2e e2e-kube chaos bench lint fuzz demo image clean

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/ferry

# test is what CI runs: formatting, vet, unit tests with the race detector,
# then the end-to-end tests against the built binary and real backends. The
# slow builds of the test servers (kube-apiserver, Consul; cached under
# ~/.cache/ferry) start first, in the background, so that lint and the unit
# tests overlap them on a fresh machine.
test: build
	@mkdir -p bin; bash test/kubernetes/ensure-kube.sh >/dev/null 2>bin/kube-build.log & kube=$$!; \
	  bash test/consul/ensure-consul.sh >/dev/null 2>bin/consul-build.log & consul=$$!; \
	  $(MAKE) lint unit; rc=$$?; \
	  wait $$kube || { cat bin/kube-build.log; rc=1; }; wait $$consul || { cat bin/consul-build.log; rc=1; }; \
	  [ $$rc -eq 0 ] && $(MAKE) e2e

unit:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v /test/)

# e2e runs the Kubernetes end-to-end tests (as e2e-kube) at the same time as
# the others, which skip them.
e2e: build
	bash test/etcd/ensure-etcd.sh >/dev/null || exit 1; ( $(KUBE_E2E) ) & kube=$$!; \
	  consul=$$(bash test/consul/ensure-consul.sh) && etcd=$$(bash test/etcd/ensure-etcd.sh) && \
	  pebble=$$(bash test/pebble/ensure-pebble.sh) && knot=$$(bash test/knot/ensure-knot.sh) && prom=$$(bash test/prometheus/ensure-prometheus.sh) && \
	  chromium=$$(bash test/chromium/ensure-chromium.sh) && h2spec=$$(bash test/h2spec/ensure-h2spec.sh) && \
	  dockerhost=$$(bash test/docker/engine.sh) && DOCKER_HOST=$$dockerhost FERRY_DOCKER_REQUIRED=1 \
	  FERRY_PEBBLE_BIN=$$pebble FERRY_KNOT_BIN=$$knot FERRY_CONSUL_BIN=$$consul FERRY_ETCD_BIN=$$etcd \
	  FERRY_PROMETHEUS_BIN=$$prom FERRY_PROMETHEUS_REQUIRED=1 FERRY_CHROMIUM_BIN=$$chromium FERRY_CHROMIUM_REQUIRED=1 \
	  FERRY_H2SPEC_BIN=$$h2spec FERRY_H2SPEC_REQUIRED=1 \
	  $(GO) test -count=1 -timeout 15m -skip '^TestKube' ./test/...; rc=$$?; \
	  wait $$kube; krc=$$?; [ $$rc -eq 0 ] && [ $$krc -eq 0 ]

# e2e-kube: the Kubernetes tests (TestKube*), against a real kube-apiserver
# and etcd, from a test binary compiled first, run inside network, PID and
# mount namespaces of their own (test/kubernetes/netns.sh, as root; the API
# server refuses loopback endpoints). kube-apiserver and kubectl are built
# once into ~/.cache/ferry (test/kubernetes/ensure-kube.sh, 10-30 minutes the
# first time). FERRY_E2E_SCALE=1 adds the 1,000-Ingress measurement;
# KUBE_E2E_FLAGS=-test.v prints the figures (propagation, scale).
e2e-kube: build
	$(KUBE_E2E)

KUBE_E2E = kube=$$(bash test/kubernetes/ensure-kube.sh) && etcd=$$(bash test/etcd/ensure-etcd.sh) && \
	  $(GO) test -c -o bin/e2e-kube.test ./test/e2e && \
	  cd test/e2e && FERRY_E2E_BIN=$(CURDIR)/$(BIN) FERRY_KUBE_BIN_DIR=$$kube FERRY_ETCD_BIN=$$etcd \
	  bash ../kubernetes/netns.sh $(CURDIR)/bin/e2e-kube.test -test.run '^TestKube' -test.count=1 -test.timeout 15m $(KUBE_E2E_FLAGS)

# chaos: the chaos suite's full form (FERRY_CHAOS=full); make test runs its
# short form with the other end-to-end tests.
chaos: build
	consul=$$(bash test/consul/ensure-consul.sh) && etcd=$$(bash test/etcd/ensure-etcd.sh) && \
	  dockerhost=$$(bash test/docker/engine.sh) && DOCKER_HOST=$$dockerhost FERRY_DOCKER_REQUIRED=1 \
	  FERRY_CONSUL_BIN=$$consul FERRY_ETCD_BIN=$$etcd FERRY_CHAOS=full \
	  $(GO) test -count=1 -timeout 15m -v -run '^TestChaos' ./test/e2e/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

# bench: Go micro-benchmarks, then Ferry against nginx and HAProxy on
# loopback with wrk, WebSocket echo round trips and h2spec's counts, then
# the cost of middlewares (bare router vs basicAuth + headers + compress),
# then TCP throughput and connection rate against HAProxy (mode tcp).
bench: build
	$(GO) test -run='^$$' -bench=. -benchmem ./cmd/ferry ./router/... ./providers/...
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
	$(GO) test -run='^$$' -fuzz=FuzzDigestAuthorization -fuzztime=30s ./router/middleware/

# image: the container image (Dockerfile), FROM scratch: the static binary
# (CGO_ENABLED=0) and the build machine's CA bundle, put in a build context of
# their own (IMAGE_CONTEXT) so that nothing is pulled. IMAGE names it;
# IMAGE_FLAGS are more docker build flags (--label ...).
IMAGE         ?= ferry:$(VERSION)
IMAGE_CONTEXT ?= bin/image
IMAGE_FLAGS   ?=
CA_BUNDLE     ?= /etc/ssl/certs/ca-certificates.crt

image:
	mkdir -p $(IMAGE_CONTEXT)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o $(IMAGE_CONTEXT)/ferry ./cmd/ferry
	cp $(CA_BUNDLE) $(IMAGE_CONTEXT)/ca-certificates.crt
	docker build $(IMAGE_FLAGS) -f Dockerfile -t $(IMAGE) $(IMAGE_CONTEXT)

# demo: Ferry on the embedded example configuration in front of two demo backends.
demo: build
	bash test/demo.sh

clean:
	rm -rf bin
