# Evently — one entry point for running, testing and checking the whole monorepo.
# `make run` and `make test` are the two commands a fresh machine needs.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# `go test ./...` stops at module boundaries in a workspace, so every target loops over
# the workspace's modules.
MODULES = $(shell go list -m -f '{{.Dir}}')
# Test flags are GO_TEST_FLAGS from the environment or the command line
# (`make test GO_TEST_FLAGS=-v`); their default lives in scripts/test.sh alone.

.PHONY: help run start stop test test-unit build lint fmt tidy infra-up infra-down infra-status seed bench chaos images deploy-check

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

run: infra-up ## start the servers, build and run every service and the gateway (Ctrl-C stops)
	@bash scripts/run.sh foreground

start: infra-up ## like run, but in the background
	@bash scripts/run.sh start

stop: ## stop services started by `make start`
	@bash scripts/run.sh stop

test: infra-up ## run every module's tests against the real local servers, then the container checks
	@bash scripts/test.sh

test-unit: ## run every module's tests with -short: no servers needed, integration tests skip
	@bash scripts/test.sh unit

bench: infra-up ## start a private copy, run the load scenarios and baselines, write bench/results/<UTC date>/ (BENCH_FLAGS=...)
	@go run ./bench/cmd/bench $(BENCH_FLAGS)

chaos: infra-up ## fault drills on a private copy with its own servers; table + bench/results/<UTC date>/chaos/ (CHAOS_FLAGS=-short ...)
	@go run ./bench/cmd/chaos $(CHAOS_FLAGS)

images: ## build every component's container image with podman or docker (deploy/docker/Dockerfile)
	@bash scripts/images.sh

deploy-check: infra-up ## build and run the images, run a Compose file for real, check chart/overlays/Compose files
	@bash scripts/deploy-check.sh

build: ## compile every module
	@for m in $(MODULES); do (cd $$m && go build ./...) || exit 1; done

lint: ## gofmt, go vet and golangci-lint (when installed)
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@for m in $(MODULES); do (cd $$m && go vet ./...) || exit 1; done
	@if command -v golangci-lint >/dev/null; then \
		for m in $(MODULES); do (cd $$m && golangci-lint run --config $(CURDIR)/.golangci.yml ./...) || exit 1; done; \
	else echo "golangci-lint not installed: go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0"; fi

fmt: ## format every Go file
	@gofmt -w $(MODULES)

tidy: ## go mod tidy in every module (workspace off, so replace lines are honoured)
	@for m in $(MODULES); do (cd $$m && GOWORK=off GOFLAGS=-mod=mod go mod tidy) || exit 1; done

infra-up: ## start PostgreSQL, Redis, Kafka and the SMTP catcher unless already reachable
	@bash scripts/infra.sh up

infra-down: ## stop the servers infra-up started (data is kept)
	@bash scripts/infra.sh down

infra-status: ## show which servers are up
	@bash scripts/infra.sh status

seed: ## load the demo data through the public API of a running system
	@bash scripts/seed.sh
