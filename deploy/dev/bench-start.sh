#!/usr/bin/env bash
# make bench-start: journeys started per second for 10,000 customers, next to
# a bare Temporal baseline (the same number of trivial workflow starts, same
# client, same parallelism, same dev server, alternating rounds), and the
# ratio. Starts its own dev server from the pinned CLI and uses a scratch
# schema on the PostgreSQL found (or started) here. Extra arguments go to the
# benchmark, e.g. `deploy/dev/bench-start.sh -customers 2000 -parallel 32`.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# OUTREACH_TEMPORAL_CLI may name a Temporal CLI binary to use as it is.
if [ -z "${OUTREACH_TEMPORAL_CLI:-}" ] || [ ! -x "$OUTREACH_TEMPORAL_CLI" ]; then
  ensure_temporal_cli
  export OUTREACH_TEMPORAL_CLI="$TEMPORAL_CLI"
fi
ensure_postgres
trap stop_private_postgres EXIT
cd "$ROOT"
go run ./internal/bench/startbench "$@"
