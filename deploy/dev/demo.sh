#!/usr/bin/env bash
# make demo: the whole engine end to end on embedded defaults. Starts what is
# missing (Temporal dev server, PostgreSQL), loads the sample customers, runs a
# worker, previews the guardrails, runs the built-in and sample journeys for
# every customer in sandbox mode, prints what each customer received, why, and
# which human-call tasks opened, stops what it started, and ends with one
# summary line over every journey.
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

section() { printf '\n== %s\n' "$*"; }
section "preview: what the offers journey would send, change or block, and why (nothing is sent)"
"$ROOT/bin/starter" preview --journey offers --all | tail -n 18

"$ROOT/bin/worker" 2>"$DEV_DIR/worker.log" &
WORKER_PID=$!
log "worker running (JSON logs in .dev/worker.log)"
log "every wait, wait_for timeout and call deadline is capped at 2s for the demo"

# Each journey runs for every customer; the summaries add up to the last line.
journeys=0 completed=0 failed=0 sent=0 blocked=0 status=0
run_journey() {
  local name=$1 show=$2 out
  out="$DEV_DIR/demo-$(basename "$name" .yaml).out"
  "$ROOT/bin/starter" start --journey "$name" --all --max-wait 2s --wait --reentry >"$out" 2>&1 || status=1
  if [ "$show" = full ]; then cat "$out"; fi
  local line
  line=$(grep -E '^journeys=' "$out" | tail -n 1)
  [ -n "$line" ] || { log "no summary for $name (see $out)"; status=1; return; }
  printf '%-28s %s\n' "$(basename "$name" .yaml):" "$line"
  eval "$(echo "$line" | sed -E 's/journeys=([0-9]+) completed=([0-9]+) failed=([0-9]+) touches_sent=([0-9]+) touches_blocked=([0-9]+).*/j=\1 c=\2 f=\3 s=\4 b=\5/')"
  journeys=$((journeys + j)) completed=$((completed + c)) failed=$((failed + f)) sent=$((sent + s)) blocked=$((blocked + b))
}

set +e
section "welcome: what each customer received"
run_journey welcome full
section "offers, and the five sample journey files (full output in .dev/demo-*.out)"
run_journey offers short
for f in "$ROOT"/deploy/dev/sample/journeys/*.yaml; do
  run_journey "$f" short
done
set -e

section "why: the ledger explains each touch of a customer"
"$ROOT/bin/starter" why --customer c-023 | head -n 20 || status=1
# Caring check-ins are calls by a person, never robo-calls. No agent works the
# desk in the demo, so each call task expires and the journey sends its
# fallback, a personal note; customers without voice consent get no task.
section "human-call tasks opened by the wellness check-in (no agent works the desk in the demo, so they expire)"
"$ROOT/bin/starter" tasks list --status all | head -n 12 || status=1

cleanup
trap - EXIT
[ "$journeys" -gt 0 ] || die "no journey ran; see .dev/worker.log"
echo "demo: journeys=$journeys completed=$completed failed=$failed touches_sent=$sent touches_blocked=$blocked"
exit "$status"
