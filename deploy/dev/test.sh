#!/usr/bin/env bash
# make test: go vet, then every test with -race. Integration tests start the
# pinned Temporal dev server themselves and get their own Postgres schema on
# the server found (or started) here.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ensure_temporal_cli
ensure_postgres
trap stop_private_postgres EXIT
export OUTREACH_TEMPORAL_CLI="$TEMPORAL_CLI"
export OUTREACH_REQUIRE_INTEGRATION=1
cd "$ROOT"
go vet ./...
go test -race -count=1 -timeout 15m ./...
# The Kubernetes manifests' checks live in their own module (kustomize and
# the Kubernetes API types stay out of the engine's dependencies).
(cd deploy/k8s && go vet ./... && go test -race -count=1 ./...)
