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
pg_out=$(cd "$logdir" && pgbench -N -c "$CLIENTS" -j 2 -T "$SECONDS_PER_LOAD" -l --log-prefix=pgbench "$DATABASE_URL" 2>/dev/null)
# Per-transaction log: the third column is the latency in microseconds.
pg_p99=$(cat "$logdir"/pgbench.* | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {printf "%.2fms", a[int(NR*0.99)]/1000}')
pg_tps=$(grep -E '^tps' <<<"$pg_out" | head -n 1 | sed -E 's/^tps = ([0-9.]+).*/\1/')
pg_lat=$(grep -E '^latency average' <<<"$pg_out" | sed -E 's/^latency average = //')
[ -n "$pg_tps" ] || die "could not read pgbench's tps"

ensure_database outreach_bench --fresh
log "throttle decisions, $CLIENTS clients, ${SECONDS_PER_LOAD}s per load"
out=$(cd "$ROOT" && go run ./internal/throttle/bench -db "$DATABASE_URL" -c "$CLIENTS" -T "${SECONDS_PER_LOAD}s")
echo "$out"
echo "pgbench simple-update: tps=$pg_tps latency average=$pg_lat p99=$pg_p99"
while read -r line; do
  case "$line" in
    *decisions/s=*)
      name=${line%%decisions/s=*}
      rate=$(sed -E 's/.*decisions\/s=([0-9.]+).*/\1/' <<<"$line")
      awk -v n="$name" -v r="$rate" -v p="$pg_tps" 'BEGIN { printf "ratio %s %.2f of pgbench\n", n, r / p }'
      ;;
  esac
done <<<"$out"
