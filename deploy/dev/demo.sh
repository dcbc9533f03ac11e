#!/usr/bin/env bash
# make demo: the whole engine end to end on embedded defaults. Starts what is
# missing (Temporal dev server, PostgreSQL), loads the sample customers, runs a
# worker, starts the welcome journey for every customer in sandbox mode, prints
# what each customer received, stops what it started, and ends with one
# summary line.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ensure_temporal_cli
ensure_postgres
trap stop_private_postgres EXIT
ensure_database outreach_demo --fresh
build_binaries
ensure_temporal_server
# The demo's own namespace keeps its tasks away from any `make dev` worker
# that may be polling the same server.
export TEMPORAL_NAMESPACE=${TEMPORAL_NAMESPACE:-outreach-demo}
ensure_namespace "$TEMPORAL_NAMESPACE"
ensure_search_attributes
# Any free port for the demo worker's ops server, so a `make dev` worker on
# 9090 does not stop the demo.
export OUTREACH_OPS_ADDR=${OUTREACH_OPS_ADDR:-127.0.0.1:0}
# Real caps and quiet hours; deferred touches expire after seconds, not days.
export OUTREACH_THROTTLE_POLICY=${OUTREACH_THROTTLE_POLICY:-$ROOT/deploy/dev/demo-throttle.yaml}

WORKER_PID=
cleanup() {
  [ -n "$WORKER_PID" ] && kill -TERM "$WORKER_PID" 2>/dev/null && wait "$WORKER_PID" 2>/dev/null
  [ -n "$TEMPORAL_DEV_PID" ] && kill -TERM "$TEMPORAL_DEV_PID" 2>/dev/null && wait "$TEMPORAL_DEV_PID" 2>/dev/null
  WORKER_PID= TEMPORAL_DEV_PID=
  stop_private_postgres
  return 0
}
trap cleanup EXIT

"$ROOT/bin/starter" db migrate
"$ROOT/bin/starter" customers import --file "$ROOT/deploy/dev/sample/customers.jsonl"
"$ROOT/bin/worker" 2>"$DEV_DIR/worker.log" &
WORKER_PID=$!
log "worker running (JSON logs in .dev/worker.log); starting the welcome journey for every customer"
log "waits are capped at 2s for the demo; the journey itself waits a day, then a week"
set +e
"$ROOT/bin/starter" start --journey welcome --all --max-wait 2s --wait --reentry | tee "$DEV_DIR/demo.out"
status=${PIPESTATUS[0]}
set -e
summary=$(grep -E '^journeys=' "$DEV_DIR/demo.out" | tail -n 1)
# Caring check-ins are calls by a person, never robo-calls. No agent works the
# desk in the demo, so each call task expires after 2s and the journey sends
# its fallback, a personal email; customers without voice consent get no task.
log "wellness journey: a caring check-in opens a human-call task (no robo-call); unworked tasks expire after 2s"
"$ROOT/bin/starter" start --journey wellness --all --max-wait 2s --wait --reentry >"$DEV_DIR/wellness.out" || status=1
grep -E '^journeys=' "$DEV_DIR/wellness.out" | sed 's/^/wellness: /' || true
"$ROOT/bin/starter" tasks list --status all || status=1
cleanup
trap - EXIT
[ -n "$summary" ] || die "the starter printed no summary (exit $status); see .dev/worker.log"
echo "demo: $summary"
exit "$status"
