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
	$(GO) test -count=1 -timeout 15m ./test/...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

# bench: Go micro-benchmarks, then Ferry against nginx on loopback with wrk.
bench: build
	$(GO) test -run='^$$' -bench=. -benchmem ./router/... ./providers/...
	bash test/bench/bench.sh

fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzCompile -fuzztime=30s ./router/rule/
	$(GO) test -run='^$$' -fuzz=FuzzParseYAMLDecode -fuzztime=30s ./providers/decode/

# demo: Ferry on the embedded example configuration in front of two demo backends.
demo: build
	bash test/demo.sh

clean:
	rm -rf bin
