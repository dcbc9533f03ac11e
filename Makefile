# The two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
GO    ?= go

.PHONY: demo dev test unit vet tools build bench

## demo: run the engine end to end on embedded defaults (sandbox delivery)
demo:
	@deploy/dev/demo.sh

## dev: keep a dev server (UI :8233), Postgres and a worker running
dev:
	@deploy/dev/dev.sh

## test: vet, unit tests and integration tests (real dev server, real Postgres), all with -race
test:
	@deploy/dev/test.sh

## unit: the tests that need neither Temporal nor Postgres
unit:
	$(GO) test -race -short ./...

## bench: throttle decisions per second next to pgbench on the same server
bench:
	@deploy/dev/bench.sh

vet:
	$(GO) vet ./...

## tools: build the pinned Temporal CLI into .tools/bin
tools:
	@bash -c '. deploy/dev/lib.sh && ensure_temporal_cli'

build:
	$(GO) build -o bin/ ./worker ./starter

.PHONY: bench-start

# `make bench` runs the start benchmark too (a rule without a recipe adds a prerequisite).
bench: bench-start

## bench-start: journeys started per second for 10,000 customers vs a bare Temporal baseline
bench-start:
	@deploy/dev/bench-start.sh

.PHONY: bench-e2e chaos

# `make bench` runs the end-to-end benchmark too.
bench: bench-e2e

## bench-e2e: journeys and touches per second vs bare Temporal, history length, worker RSS with waiting journeys
bench-e2e:
	@deploy/dev/bench-e2e.sh

## chaos: SIGKILL the worker during 240 live-mode journeys against fake providers; audit duplicates, losses, caps
chaos:
	@deploy/dev/chaos.sh
