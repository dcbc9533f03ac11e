#!/usr/bin/env bash
# make bench: throttle decisions per second on this machine's PostgreSQL, next
# to pgbench's simple-update TPS measured in the same run on the same server,
# and their ratio. Uses two scratch databases (outreach_bench,
# outreach_bench_pgbench), recreated each run.
#   BENCH_CLIENTS (8) and BENCH_SECONDS (10) set the load.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

CLIENTS=${BENCH_CLIENTS:-8}
SECONDS_PER_LOAD=${BENCH_SECONDS:-10}
command -v pgbench >/dev/null || die "pgbench is not installed (Debian: postgresql-contrib or postgresql-client)"
ensure_postgres

ensure_database outreach_bench_pgbench --fresh
log "pgbench -i, then pgbench -N -c $CLIENTS -T $SECONDS_PER_LOAD (simple update)"
pgbench -i -q "$DATABASE_URL" >/dev/null 2>&1 || die "pgbench -i failed"
logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT
# pgbench_run: one simple-update run; prints "tps p99_ms".
pgbench_run() {
  local out
  out=$(cd "$logdir" && rm -f pgbench.* && pgbench -N -c "$CLIENTS" -j 2 -T "$SECONDS_PER_LOAD" -l --log-prefix=pgbench "$PGBENCH_URL" 2>/dev/null)
  # Per-transaction log: the third column is the latency in microseconds.
  printf '%s %s\n' "$(grep -E '^tps' <<<"$out" | head -n 1 | sed -E 's/^tps = ([0-9.]+).*/\1/')" \
    "$(cat "$logdir"/pgbench.* | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {printf "%.2f", a[int(NR*0.99)]/1000}')"
}
PGBENCH_URL=$DATABASE_URL
# pgbench runs before and after the throttle loads, so that a change in the
# machine's load during the run shows, and the ratio uses their mean.
read -r pg_tps1 pg_p99_1 < <(pgbench_run)
[ -n "$pg_tps1" ] || die "could not read pgbench's tps"

ensure_database outreach_bench --fresh
log "throttle decisions, $CLIENTS clients, ${SECONDS_PER_LOAD}s per load"
out=$(cd "$ROOT" && go run ./internal/throttle/bench -db "$DATABASE_URL" -c "$CLIENTS" -T "${SECONDS_PER_LOAD}s")
log "pgbench again"
read -r pg_tps2 pg_p99_2 < <(pgbench_run)
pg_tps=$(awk -v a="$pg_tps1" -v b="$pg_tps2" 'BEGIN { printf "%.0f", (a + b) / 2 }')
echo "$out"
echo "pgbench simple-update before: tps=$pg_tps1 p99=${pg_p99_1}ms"
echo "pgbench simple-update after:  tps=$pg_tps2 p99=${pg_p99_2}ms"
while read -r line; do
  case "$line" in
    *decisions/s=*)
      name=${line%%decisions/s=*}
      rate=$(sed -E 's/.*decisions\/s=([0-9.]+).*/\1/' <<<"$line")
      awk -v n="$name" -v r="$rate" -v p="$pg_tps" 'BEGIN { printf "ratio %s %.2f of pgbench (mean %d tps)\n", n, r / p, p }'
      ;;
  esac
done <<<"$out"
