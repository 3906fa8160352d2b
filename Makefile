# codecommitd — see README.md. `make help` lists the targets.

PREFIX   ?= $(HOME)/.local
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GO       ?= go
# The race detector needs cgo, so a C compiler; without one, tests run
# without it (and say so). CI sets RACE=-race, so it fails rather than skips.
RACE     ?= $(if $(shell command -v cc || command -v gcc || command -v clang),-race,)
TOOLS    := bin/tools
# grpcnotrace keeps golang.org/x/net/trace (and html/template) out of the
# binaries: less to initialise on every git call. CGO_ENABLED=0 makes them
# static: no dynamic loader or libc to map on every start.
TAGS     := grpcnotrace
LDFLAGS  := -s -w -X github.com/codecommitd/codecommitd/internal/version.Version=$(VERSION)
BINARIES := codecommitd git-remote-codecommit git-credential-codecommit

.DEFAULT_GOAL := help

.PHONY: help
help: ## show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build the binaries into bin/
	CGO_ENABLED=0 $(GO) build -trimpath -tags $(TAGS) -ldflags '$(LDFLAGS)' -o bin/ ./cmd/...

.PHONY: test
test: ## run every test (with the race detector when a C compiler is found; RACE= to turn it off)
	@[ -n "$(RACE)" ] || echo "make test: running without the race detector (it needs a C compiler: apt install gcc, or xcode-select --install)"
	$(GO) test $(RACE) -count=1 -timeout 20m ./...

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each (default 20s)
	./scripts/fuzz.sh $${FUZZTIME:-20s}

.PHONY: lint
lint: $(TOOLS)/golangci-lint $(TOOLS)/buf ## run golangci-lint and buf lint
	$(TOOLS)/golangci-lint run ./...
	$(TOOLS)/buf lint

.PHONY: bench
bench: build ## run the benchmarks: Go benchmarks, then helper start-up and whole git operations, and the git transport's (ONLY=abcefghij for a part)
	$(GO) test -run '^$$' -bench . -benchmem ./...
	$(GO) run ./internal/cmd/bench -bin bin -only '$(ONLY)'

.PHONY: chaos
chaos: build ## run the fault suite against the local stand-ins and print its figures (Linux)
	$(GO) run ./internal/cmd/chaos -bin bin

.PHONY: protos
protos: $(TOOLS)/buf $(TOOLS)/protoc-gen-go $(TOOLS)/protoc-gen-go-grpc ## regenerate the protobuf code
	$(TOOLS)/buf lint
	$(TOOLS)/buf generate

.PHONY: check-protos
check-protos: protos ## fail if the committed generated code is stale
	@git diff --exit-code -- proto/ || { echo "generated code is stale: run make protos and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- proto/)" || { git status --porcelain -- proto/; echo "untracked generated files: run make protos and commit"; exit 1; }

.PHONY: man
man: ## write the man pages of the three programs into bin/man
	rm -rf bin/man
	$(GO) run -tags $(TAGS) -ldflags '$(LDFLAGS)' ./internal/cmd/gendocs bin/man

.PHONY: install
install: build man ## install the binaries, man pages and completions into PREFIX (default ~/.local) and start the user service
	@./scripts/install.sh "$(PREFIX)"

.PHONY: uninstall
uninstall: ## stop and remove the user service, then what make install put in PREFIX (PURGE=1: also the cache, its key and the log)
	@./scripts/uninstall.sh "$(PREFIX)" $(if $(PURGE),--purge,)

.PHONY: demo
demo: build ## clone and push through the helpers against a local stand-in for AWS (LATENCY=50ms: through a WAN link of that round-trip time)
	$(GO) run ./internal/cmd/demo -bin bin -latency $${LATENCY:-0s}

# Package versions must start with a digit: v1.2.3 → 1.2.3, an untagged
# checkout → 0.0.0+git<commit>.
PKG_VERSION ?= $(shell git describe --tags --match 'v[0-9]*' 2>/dev/null | sed 's/^v//' | grep . || echo 0.0.0+git$$(git rev-parse --short HEAD 2>/dev/null || echo unknown))
ARCH        ?= $(shell $(GO) env GOARCH)
DIST        := dist

.PHONY: package
package: $(TOOLS)/nfpm ## build the .deb and .rpm into dist/ (ARCH=amd64|arm64)
	rm -rf $(DIST)/linux_$(ARCH) $(DIST)/completions $(DIST)/man
	GOOS=linux GOARCH=$(ARCH) CGO_ENABLED=0 $(GO) build -trimpath -tags $(TAGS) -ldflags '$(LDFLAGS)' -o $(DIST)/linux_$(ARCH)/ ./cmd/...
	mkdir -p $(DIST)/completions
	$(GO) run -tags $(TAGS) ./cmd/codecommitd completion bash > $(DIST)/completions/codecommitd.bash
	$(GO) run -tags $(TAGS) ./cmd/codecommitd completion zsh > $(DIST)/completions/_codecommitd
	$(GO) run -tags $(TAGS) ./cmd/codecommitd completion fish > $(DIST)/completions/codecommitd.fish
	$(GO) run -tags $(TAGS) -ldflags '$(LDFLAGS)' ./internal/cmd/gendocs $(DIST)/man
	gzip -9nf $(DIST)/man/*.1
	for f in deb rpm; do VERSION='$(PKG_VERSION)' ARCH=$(ARCH) DIST=$(DIST) $(TOOLS)/nfpm package -f packaging/nfpm.yaml -p $$f -t $(DIST)/ || exit 1; done
	ls -l $(DIST)/*.deb $(DIST)/*.rpm

.PHONY: cross
cross: ## cross-build every binary for linux, darwin and windows on amd64 and arm64
	for os in linux darwin windows; do for arch in amd64 arm64; do \
	  echo "$$os/$$arch"; GOOS=$$os GOARCH=$$arch CGO_ENABLED=0 $(GO) build -trimpath -tags $(TAGS) -ldflags '$(LDFLAGS)' -o $(DIST)/cross/$${os}_$$arch/ ./cmd/... || exit 1; \
	done; done

.PHONY: clean
clean: ## remove build output
	rm -rf bin dist

# Tools are pinned in tools/go.mod (Go tool directives) and built from it,
# so they need nothing but the module proxy.
$(TOOLS)/%: tools/go.mod tools/go.sum
	@mkdir -p $(TOOLS)
	cd tools && $(GO) build -o ../$(TOOLS)/ $$(grep -E '^\s+[a-z].*/$*$$' go.mod | awk '{print $$1}' | head -1)
