# Sluice: drop-in Go replacement for Mastodon's streaming server.
GO        ?= go
BIN       := bin
PKGS      := ./...
FUZZTIME  ?= 30s
BENCHTIME ?= 1s

.PHONY: all build run demo test test-race bench bench-go fuzz deps deps-clients vet fmt clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -trimpath -o $(BIN)/sluice ./cmd/sluice
	$(GO) build -trimpath -o $(BIN)/sluice-bench ./cmd/sluice-bench

# run: the server, configured like Mastodon's Node server (environment,
# .env.production / .env in the working directory, or flags: ./bin/sluice -h).
run: build
	./$(BIN)/sluice

# demo: a private Redis and PostgreSQL loaded with the fixtures, sluice on
# :4000, and a publisher posting a status every few seconds.
demo: deps build
	./scripts/demo.sh

# deps installs what the tests need on a fresh Debian machine: redis-server
# and a PostgreSQL server (initdb/pg_ctl). Nothing else is required.
deps:
	@./scripts/deps.sh

# deps-clients installs the real clients of the interoperability tests (npm
# ws and playwright-core, Debian chromium); tests skip if this fails.
deps-clients:
	@./scripts/deps-clients.sh

# SLUICE_TESTENV_REQUIRE turns a missing redis-server/PostgreSQL into a
# failure instead of a skip.
test: deps deps-clients
	$(GO) vet $(PKGS)
	SLUICE_TESTENV_REQUIRE=1 $(GO) test -count=1 -timeout 20m $(PKGS)
	$(GO) test -count=1 -race -timeout 20m ./timeline/ ./proto/ ./auth/ ./netpoll/ ./filter/ ./config/ ./metrics/

test-race: deps
	$(GO) test -count=1 -race -timeout 30m $(PKGS)

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./proto/ ./timeline/ ./netpoll/

# bench: the Go micro-benchmarks, then the sluice-bench suite against a fresh
# Sluice with private Redis and PostgreSQL; rewrites BENCHMARKS.md's
# generated section (a few minutes on 2 cores).
bench: deps build bench-go
	./scripts/bench.sh

fuzz:
	$(GO) test ./proto/ -run '^$$' -fuzz '^FuzzParseRequest$$' -fuzztime $(FUZZTIME)
	$(GO) test ./proto/ -run '^$$' -fuzz '^FuzzQueryValue$$' -fuzztime $(FUZZTIME)
	$(GO) test ./proto/ -run '^$$' -fuzz '^FuzzCanonical$$' -fuzztime $(FUZZTIME)
	$(GO) test ./proto/ -run '^$$' -fuzz '^FuzzNormalizeTag$$' -fuzztime $(FUZZTIME)

vet:
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN)
