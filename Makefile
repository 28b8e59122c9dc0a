# edge: an edge CDN compute node. `make run` starts a node with the demo
# site; `make test` is what CI runs.

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
BENCHTIME ?= 2s

.PHONY: all build run test test-short bench lint fmt examples fuzz clean

all: lint test

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/edge ./cmd/edge

# A node on 127.0.0.1:8080 (http) and :8443 (https, h1/h2/h3) serving the
# embedded demo site, with its data (dev CA) in ./edge-data.
run: build
	./bin/edge serve

test: lint
	$(GO) test -race -count=1 -timeout 15m ./...

test-short:
	$(GO) test -short -count=1 ./...

# Per-request costs (with a native Go handler as the baseline in the same
# run), then restart-to-first-response with a cold and a warm cache.
# Then end-to-end load over HTTP/1.1 (bombardier, 64 connections), each
# guest against a native Go handler writing the same bytes.
bench:
	$(GO) test -run '^$$' -bench . -skip HTTPLoad -benchtime $(BENCHTIME) -benchmem ./modules/ ./edge/...
	$(GO) test -run '^$$' -bench RestartGoGuest -benchtime 7x ./cmd/edge/
	$(GO) install github.com/codesenberg/bombardier@v1.2.6
	$(GO) test -run '^$$' -bench HTTPLoad -benchtime 1x ./edge/

lint:
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) mod tidy -diff

fmt:
	gofmt -w .

# Rebuild the example guests (installs clang, wasi-libc and wabt if missing).
examples:
	bash modules/examples/build.sh

# Fuzz every parser that meets untrusted bytes: guest CGI output, edge.toml,
# deploy manifests, gossip messages, wasm modules (pre-initialisation).
# The seed corpora also run in make test.
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParseCGIResponse -fuzztime $(FUZZTIME) ./modules/
	$(GO) test -run '^$$' -fuzz FuzzParseConfig -fuzztime $(FUZZTIME) ./edge/app/
	$(GO) test -run '^$$' -fuzz FuzzManifest -fuzztime $(FUZZTIME) ./gossip/trust/
	$(GO) test -run '^$$' -fuzz FuzzDecodeRecord -fuzztime $(FUZZTIME) ./gossip/
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME) ./modules/wasmbin/
	$(GO) test -run '^$$' -fuzz FuzzRewrite -fuzztime $(FUZZTIME) ./modules/wasmbin/

clean:
	rm -rf bin
