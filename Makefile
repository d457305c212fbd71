# zoomrecon. `make help` lists the targets.

GO      ?= go
BIN     := bin/zoomrecon
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
STATICCHECK_VERSION := v0.8.2
# The race detector needs cgo and a C compiler; without one the tests still run, unraced.
RACE    ?= $(if $(shell command -v $$($(GO) env CC) 2>/dev/null),-race,)

.DEFAULT_GOAL := help
.PHONY: help build test lint run demo serve bench-ingest bench-zoomapi bench-reconcile fuzz

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## Build bin/zoomrecon (pure Go, CGO_ENABLED=0)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/zoomrecon

test: ## Run every test; PostgreSQL tests run when ZOOMRECON_TEST_POSTGRES_URL is set
	$(GO) test $(RACE) -count=1 ./...

lint: ## go vet, gofmt and staticcheck
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

run: demo ## Same as demo: the whole daemon on SQLite against the bundled fake Zoom

demo: build ## Serve on a fresh zoomrecon-demo.db against a bundled fake Zoom that loses webhooks; alerts print as Slack shows them
	./$(BIN) demo

serve: build ## Serve for real: SQLite zoomrecon.db by default, Zoom credentials from the environment
	./$(BIN) serve

bench-ingest: ## Webhook ingest vs. a verify-only baseline, on SQLite and (if ZOOMRECON_TEST_POSTGRES_URL is set) PostgreSQL
	$(GO) run ./cmd/ingestbench
	@if [ -n "$$ZOOMRECON_TEST_POSTGRES_URL" ]; then $(GO) run ./cmd/ingestbench -db "$$ZOOMRECON_TEST_POSTGRES_URL"; \
	else echo "ZOOMRECON_TEST_POSTGRES_URL is unset: PostgreSQL skipped"; fi

bench-zoomapi: ## Memory and allocations while listing 1,000 and 10,000 past meetings page by page
	$(GO) test -run '^$$' -bench ListPastMeetings -benchmem ./zoomapi/

bench-reconcile: ## Reconcile passes over 1,000 and 10,000 meetings, and a whole day of a Pro (300 users) and a Business (20,000 meetings) account against quota and budget
	$(GO) test -run '^$$' -bench 'Pass10k|ReconcileADay' -benchtime=1x -benchmem -timeout 30m ./reconciler/

fuzz: ## Fuzz the webhook handler for FUZZTIME (default 60s)
	$(GO) test ./webhook -run '^$$' -fuzz FuzzHandler -fuzztime $(or $(FUZZTIME),60s)

.PHONY: check-deploy
check-deploy: ## promtool check and unit-test deploy/prometheus/zoomrecon.rules.yml (needs promtool: apt-get install prometheus)
	promtool check rules deploy/prometheus/zoomrecon.rules.yml
	cd deploy/prometheus && promtool test rules zoomrecon.rules.test.yml
