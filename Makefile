# kwps: self-hosted, Kubernetes-native Azure Web PubSub.
# Run `make help` for the targets.

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

GO        ?= go
LOCALBIN  ?= $(CURDIR)/bin
KWPS      ?= $(LOCALBIN)/kwps
CACHE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/kwps
export KWPS_CACHE := $(CACHE_DIR)

# Tools, pinned; built with `go install` into $(LOCALBIN).
GOLANGCI_LINT_VERSION  ?= v2.15.0
CONTROLLER_GEN_VERSION ?= v0.23.0
HELM_VERSION           ?= v3.22.0
GOLANGCI_LINT  := $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
CONTROLLER_GEN := $(LOCALBIN)/controller-gen-$(CONTROLLER_GEN_VERSION)
HELM           := $(LOCALBIN)/helm-$(HELM_VERSION)
BUF_VERSION            ?= v1.75.0
PROTOC_GEN_GO_VERSION  ?= v1.36.12
BUF            := $(LOCALBIN)/buf-$(BUF_VERSION)
PROTOC_GEN_GO  := $(LOCALBIN)/protoc-gen-go-$(PROTOC_GEN_GO_VERSION)

# Tests: -race always; FUZZTIME is each fuzz target's budget in `make test` (executions: see hack/fuzz.sh).
TEST_FLAGS ?= -race -shuffle=on -timeout 30m
FUZZTIME   ?= 50000x
PKGS       ?= ./...

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: build
build: ## Build the kwps binary into bin/kwps.
	$(GO) build -o $(KWPS) .

# The release build, and the one definition of its flags: the Dockerfile runs this target, and
# test/e2e checks that what it builds is static and runs. VERSION is stamped into `kwps version`.
VERSION        ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
CONTAINER_TOOL ?= docker
IMG            ?= ghcr.io/kwps/kwps:$(VERSION)

.PHONY: build-static
build-static: ## Build the static release binary into bin/kwps (CGO_ENABLED=0, -trimpath), as the image does.
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o $(KWPS) .

.PHONY: docker-build
docker-build: ## Build the container image $(IMG) (needs a container engine; CONTAINER_TOOL=docker).
	$(CONTAINER_TOOL) build --build-arg VERSION=$(VERSION) -t $(IMG) .

.PHONY: run
run: build ## Run `kwps serve` on the sample Hub manifest; prints the connection string.
	$(KWPS) serve -f config/samples/webpubsub_v1alpha1_hub_local.yaml

.PHONY: fmt
fmt: ## Run gofmt.
	gofmt -s -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## Run go vet.
	$(GO) vet $(PKGS)

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint.
	$(GOLANGCI_LINT) run $(PKGS)

##@ Generate

# What `make manifests generate` writes; `make verify-generated` and api/v1alpha1/generated_test.go check it.
GENERATED_PATHS := ':(glob)api/**/zz_generated.*.go' config/crd/bases config/rbac/role.yaml

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate the CRDs (config/crd/bases) and the operator's ClusterRole (config/rbac/role.yaml) from markers.
	$(CONTROLLER_GEN) crd paths=./api/... output:crd:artifacts:config=config/crd/bases
	@if [ -n "$$(find controllers -name '*.go' ! -name '*_test.go' 2>/dev/null)" ]; then \
	  echo "$(CONTROLLER_GEN) rbac:roleName=manager-role paths=./controllers/... output:rbac:artifacts:config=config/rbac"; \
	  $(CONTROLLER_GEN) rbac:roleName=manager-role paths=./controllers/... output:rbac:artifacts:config=config/rbac; \
	else \
	  echo "manifests: no Go files under controllers/ yet: config/rbac/role.yaml not generated"; \
	fi

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate the DeepCopy methods (zz_generated.deepcopy.go) of the API types.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...

.PHONY: verify-generated
verify-generated: manifests generate ## Regenerate, then fail if a generated file differs from the committed one.
	@if [ -n "$$(git status --porcelain -- $(GENERATED_PATHS))" ]; then \
	  git status --short -- $(GENERATED_PATHS); git --no-pager diff --stat -- $(GENERATED_PATHS); \
	  echo "generated files are stale: run 'make manifests generate' and commit the result" >&2; exit 1; \
	fi

# PROTO_VERIFY=1 checks the committed code instead of writing it (dataplane/protocol/pb's test does).
.PHONY: proto
proto: $(BUF) $(PROTOC_GEN_GO) ## Generate dataplane/protocol/pb from dataplane/protocol/webpubsub.proto (offline: buf and protoc-gen-go from the module proxy).
	BUF=$(BUF) PROTOC_GEN_GO=$(PROTOC_GEN_GO) hack/protogen.sh $(if $(PROTO_VERIFY),verify,write)

##@ Test

.PHONY: test
test: test-deps build ## Install what the tests need, then run every test with -race, and the fuzz targets briefly.
	KUBEBUILDER_ASSETS="$$(hack/setup-envtest.sh)" KWPS_BIN=$(KWPS) $(GO) test $(TEST_FLAGS) $(PKGS)
	$(MAKE) fuzz FUZZTIME=$(FUZZTIME)

.PHONY: test-deps
test-deps: ## Install test dependencies: envtest binaries, redis-server, npm packages.
	hack/test-deps.sh

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each.
	hack/fuzz.sh $(FUZZTIME)

##@ Benchmark

.PHONY: bench
bench: build ## Run the benchmark suite (test/bench, under 10 min): kwps, the Centrifuge peer and a bare baseline; writes test/bench/RESULTS.md and the table in test/bench/README.md and README.md. BENCH_FLAGS adds flags.
	$(GO) build -o $(LOCALBIN)/kwps-bench ./test/bench/cmd/kwps-bench
	$(LOCALBIN)/kwps-bench -kwps $(KWPS) -peer-src $(CURDIR)/../shared/bench/centrifuge-peer \
	  -out test/bench/RESULTS.md -readme test/bench/README.md,README.md -profile-dir $(LOCALBIN)/bench-profiles $(BENCH_FLAGS)

##@ Helm chart

.PHONY: chart-sync
chart-sync: ## Copy the generated CRDs and the operator's ClusterRole into charts/kwps/files (run after `make manifests`).
	rm -f charts/kwps/files/crds/*.yaml
	cp config/crd/bases/*.yaml charts/kwps/files/crds/
	cp config/rbac/role.yaml charts/kwps/files/rbac/manager-role.yaml

.PHONY: helm-test
helm-test: $(HELM) build ## Lint and render charts/kwps, check it against config/, and apply it to envtest (test/chart).
	HELM=$(HELM) KUBEBUILDER_ASSETS="$$(hack/setup-envtest.sh)" KWPS_BIN=$(KWPS) $(GO) test $(TEST_FLAGS) ./test/chart/...

##@ Tools

$(LOCALBIN):
	mkdir -p $(LOCALBIN)

$(GOLANGCI_LINT): | $(LOCALBIN)
	GOBIN=$(LOCALBIN) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(LOCALBIN)/golangci-lint $@

$(CONTROLLER_GEN): | $(LOCALBIN)
	GOBIN=$(LOCALBIN) $(GO) install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VERSION)
	mv $(LOCALBIN)/controller-gen $@

$(HELM): | $(LOCALBIN)
	GOBIN=$(LOCALBIN) $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
	mv $(LOCALBIN)/helm $@

$(BUF): | $(LOCALBIN)
	GOBIN=$(LOCALBIN) $(GO) install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	mv $(LOCALBIN)/buf $@

$(PROTOC_GEN_GO): | $(LOCALBIN)
	GOBIN=$(LOCALBIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	mv $(LOCALBIN)/protoc-gen-go $@
