# zoomrecon. `make help` lists the targets.

GO      ?= go
BIN     := bin/zoomrecon
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
STATICCHECK_VERSION := v0.8.2
NFPM_VERSION := v2.48.0
# Package version: the tag without its v (v1.2.0-3-gabc1234 gives
# 1.2.0+3.gabc1234), or 0.0.0+git.<commit> before the first tag.
PKG_VERSION ?= $(shell v=$$(git describe --tags --match 'v[0-9]*' 2>/dev/null) && echo "$$v" | sed 's/^v//; s/-\([0-9]*\)-g/+\1.g/' || echo "0.0.0+git.$$(git rev-parse --short HEAD 2>/dev/null || echo unknown)")
DOCS    := build/docs
# make install: PREFIX and DESTDIR as usual; the unit's ExecStart follows PREFIX.
PREFIX  ?= /usr/local
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
# The race detector needs cgo and a C compiler; without one the tests still run, unraced.
RACE    ?= $(if $(shell command -v $$($(GO) env CC) 2>/dev/null),-race,)

.DEFAULT_GOAL := help
.PHONY: help build test lint run demo demo-websocket serve bench-ingest bench-forward bench-zoomapi bench-reconcile bench-retention fuzz
.PHONY: docs package package-check install clean

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

demo-websocket: build ## The demo over the fake Zoom's WebSocket event subscription, losing events to its outages
	./$(BIN) demo --websocket

serve: build ## Serve for real: SQLite zoomrecon.db by default, Zoom credentials from the environment
	./$(BIN) serve

bench-ingest: ## Webhook ingest vs. a verify-only baseline, on SQLite and (if ZOOMRECON_TEST_POSTGRES_URL is set) PostgreSQL
	$(GO) run ./cmd/ingestbench
	@if [ -n "$$ZOOMRECON_TEST_POSTGRES_URL" ]; then $(GO) run ./cmd/ingestbench -db "$$ZOOMRECON_TEST_POSTGRES_URL"; \
	else echo "ZOOMRECON_TEST_POSTGRES_URL is unset: PostgreSQL skipped"; fi

bench-forward: ## Relay: ingest with 0/1/3 forwarding destinations, and draining a 20,000-event queue vs. raw POSTs, on SQLite and (if ZOOMRECON_TEST_POSTGRES_URL is set) PostgreSQL
	$(GO) run ./cmd/relaybench
	@if [ -n "$$ZOOMRECON_TEST_POSTGRES_URL" ]; then $(GO) run ./cmd/relaybench -db "$$ZOOMRECON_TEST_POSTGRES_URL"; \
	else echo "ZOOMRECON_TEST_POSTGRES_URL is unset: PostgreSQL skipped"; fi

bench-zoomapi: ## Memory and allocations while listing 1,000 and 10,000 past meetings page by page
	$(GO) test -run '^$$' -bench ListPastMeetings -benchmem ./zoomapi/

bench-reconcile: ## Reconcile passes over 1,000 and 10,000 meetings, and a whole day of a Pro (300 users) and a Business (20,000 meetings) account against quota and budget
	$(GO) test -run '^$$' -bench 'Pass10k|ReconcileADay' -benchtime=1x -benchmem -timeout 30m ./reconciler/

bench-retention: ## 60 simulated days at 1/100 of a 600k-events/day account on SQLite: file size per day with 30d retention vs. never pruned
	$(GO) run ./cmd/retentionbench

fuzz: ## Fuzz the webhook handler for FUZZTIME (default 60s)
	$(GO) test ./webhook -run '^$$' -fuzz FuzzHandler -fuzztime $(or $(FUZZTIME),60s)

docs: build ## Man pages and bash, zsh and fish completions into build/docs
	rm -rf $(DOCS)
	SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct 2>/dev/null || echo 0) ./$(BIN) gen-docs --dir $(DOCS) >/dev/null
	gzip -9nf $(DOCS)/man/*.1

package: build docs ## .deb and .rpm into dist/ with nfpm (pinned)
	mkdir -p dist
	for p in deb rpm; do \
		PKG_VERSION='$(PKG_VERSION)' GOARCH=$$($(GO) env GOARCH) \
		$(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@$(NFPM_VERSION) package --config nfpm.yaml --packager $$p --target dist/ || exit 1; \
	done

package-check: package ## Build the .deb, check its contents and fields, and systemd-analyze its unit
	.ci/package-check dist/zoomrecon_$(PKG_VERSION)_$$($(GO) env GOARCH).deb

install: build docs ## Install under DESTDIR/PREFIX (default /usr/local): binary, unit, man pages, completions, and the example config if absent
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/zoomrecon
	install -d -m 0755 $(DESTDIR)$(UNITDIR)
	sed 's|/usr/bin/zoomrecon|$(PREFIX)/bin/zoomrecon|' deploy/zoomrecon.service > $(DESTDIR)$(UNITDIR)/zoomrecon.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/zoomrecon.service
	install -d -m 0750 $(DESTDIR)$(SYSCONFDIR)/zoomrecon $(DESTDIR)$(SYSCONFDIR)/zoomrecon/credentials
	[ -e $(DESTDIR)$(SYSCONFDIR)/zoomrecon/zoomrecon.env ] || install -m 0640 deploy/zoomrecon.env.example $(DESTDIR)$(SYSCONFDIR)/zoomrecon/zoomrecon.env
	install -d -m 0755 $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0644 $(DOCS)/man/*.1.gz $(DESTDIR)$(PREFIX)/share/man/man1/
	install -D -m 0644 $(DOCS)/completions/zoomrecon $(DESTDIR)$(PREFIX)/share/bash-completion/completions/zoomrecon
	install -D -m 0644 $(DOCS)/completions/_zoomrecon $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_zoomrecon
	install -D -m 0644 $(DOCS)/completions/zoomrecon.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/zoomrecon.fish

clean: ## Remove bin/, dist/ and build/ (generated docs)
	rm -rf bin dist build

.PHONY: check-deploy
check-deploy: ## promtool check and unit-test deploy/prometheus/zoomrecon.rules.yml (needs promtool: apt-get install prometheus)
	promtool check rules deploy/prometheus/zoomrecon.rules.yml
	cd deploy/prometheus && promtool test rules zoomrecon.rules.test.yml
