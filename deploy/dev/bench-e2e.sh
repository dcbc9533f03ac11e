#!/usr/bin/env bash
# make bench-e2e: end-to-end journeys per second (sandbox delivery, the real
# throttle, ledger and guardrails) next to a bare Temporal baseline on the
# same dev server with the same worker options, alternating rounds, and the
# ratio of medians; the mean history length per journey; and the real worker
# binary's peak RSS with 1,000 and with 10,000 journeys waiting on timers.
# Extra arguments go to the benchmark, e.g.
# `deploy/dev/bench-e2e.sh -journeys 500 -rounds 5 -waiting 2000`.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if [ -z "${OUTREACH_TEMPORAL_CLI:-}" ] || [ ! -x "$OUTREACH_TEMPORAL_CLI" ]; then
  ensure_temporal_cli
  export OUTREACH_TEMPORAL_CLI="$TEMPORAL_CLI"
fi
ensure_postgres
trap stop_private_postgres EXIT
cd "$ROOT"
go build -o bin/ ./worker
go run ./internal/bench/journeybench -worker-bin bin/worker "$@"
