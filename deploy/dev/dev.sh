#!/usr/bin/env bash
# make dev: a local engine that stays up. Temporal dev server with its state in
# .dev/temporal.db (journeys survive a restart; UI on http://localhost:8233),
# PostgreSQL database outreach_dev, sample customers, and a worker in the
# foreground. Ctrl-C stops the worker and the dev server it started.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ensure_temporal_cli
ensure_postgres
ensure_database outreach_dev
build_binaries
ensure_temporal_server "$DEV_DIR/temporal.db"
trap '[ -n "$TEMPORAL_DEV_PID" ] && kill -TERM "$TEMPORAL_DEV_PID" 2>/dev/null; wait; stop_private_postgres' EXIT

ensure_search_attributes
# Metrics, probes and the codec endpoint, on this machine only.
export OUTREACH_OPS_ADDR=${OUTREACH_OPS_ADDR:-127.0.0.1:9090}
"$ROOT/bin/starter" db migrate
"$ROOT/bin/starter" customers import --file "$ROOT/deploy/dev/sample/customers.jsonl"
cat >&2 <<MSG

  Temporal UI:   http://localhost:8233
  In another shell:
    export TEMPORAL_ADDRESS=$TEMPORAL_ADDRESS DATABASE_URL='$DATABASE_URL'
    bin/starter start --journey welcome --customer c-001 --max-wait 30s
    bin/starter status --journey welcome --customer c-001
    bin/starter ledger --customer c-001
  Ops (metrics, probes): curl -s localhost:9090/metrics | grep '^outreach_'
                         curl -s localhost:9090/readyz

MSG
"$ROOT/bin/worker"
