# Shared helpers for the local environment: the pinned Temporal CLI, a
# PostgreSQL server, and the Temporal dev server. Source it from bash.
# Everything it creates lives in ignored folders of the repo (.tools, .dev).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=versions.env
. "$ROOT/deploy/dev/versions.env"
TOOLS_BIN="$ROOT/.tools/bin"
DEV_DIR="$ROOT/.dev"
TEMPORAL_CLI="$TOOLS_BIN/temporal"

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ensure_temporal_cli builds the pinned Temporal CLI once into .tools/bin.
ensure_temporal_cli() {
  # A module-proxy build reports no release version of its own, so the
  # version it was built from is stamped beside it.
  local stamp="$TEMPORAL_CLI.version"
  if [ -x "$TEMPORAL_CLI" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$TEMPORAL_CLI_VERSION" ]; then
    return 0
  fi
  command -v go >/dev/null || die "go is not installed"
  log "building Temporal CLI $TEMPORAL_CLI_VERSION (once; a few minutes the first time)"
  mkdir -p "$TOOLS_BIN"
  GOBIN="$TOOLS_BIN" go install "$TEMPORAL_CLI_MODULE@$TEMPORAL_CLI_VERSION" || die "could not build the Temporal CLI"
  echo "$TEMPORAL_CLI_VERSION" >"$stamp"
}

pg_bindir() {
  if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir; return
  fi
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

# ensure_postgres sets OUTREACH_PG_ADMIN_URL to a server that answers:
# $DATABASE_URL's server when set, else 127.0.0.1:5432 when it answers, else a
# private server started from the machine's binaries under .dev/pgdata.
ensure_postgres() {
  if [ -n "${OUTREACH_PG_ADMIN_URL:-}" ]; then return 0; fi
  if [ -n "${DATABASE_URL:-}" ]; then
    OUTREACH_PG_ADMIN_URL="$DATABASE_URL"; export OUTREACH_PG_ADMIN_URL; return 0
  fi
  if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then
    OUTREACH_PG_ADMIN_URL="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
    export OUTREACH_PG_ADMIN_URL; return 0
  fi
  start_private_postgres
}

start_private_postgres() {
  local bindir port=55432 data="$DEV_DIR/pgdata" sock="$DEV_DIR/pgsock" run=()
  bindir=$(pg_bindir)
  if [ -z "$bindir" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      log "installing PostgreSQL from Debian's packages"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || die "could not install postgresql"
      bindir=$(pg_bindir)
    fi
    [ -n "$bindir" ] || die "no PostgreSQL answers on 127.0.0.1:5432 and no initdb/pg_ctl found; install postgresql or set DATABASE_URL"
  fi
  mkdir -p "$DEV_DIR"
  if [ "$(id -u)" = 0 ]; then
    # initdb refuses to run as root: run the private server as the postgres user.
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    run=(runuser -u postgres --)
    mkdir -p "$data" "$sock"; touch "$DEV_DIR/postgres.log"
    chown postgres "$data" "$sock" "$DEV_DIR/postgres.log"; chmod 700 "$data"
  fi
  if [ ! -s "$data/PG_VERSION" ]; then
    log "initialising a private PostgreSQL in .dev/pgdata"
    "${run[@]}" "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >/dev/null || die "initdb failed"
  fi
  PG_STARTED_BY_US=
  if ! "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port"; then
    log "starting the private PostgreSQL on 127.0.0.1:$port"
    PG_STARTED_BY_US=1
    mkdir -p "$sock"
    "${run[@]}" "$bindir/pg_ctl" -D "$data" -l "$DEV_DIR/postgres.log" -w \
      -o "-h 127.0.0.1 -p $port -k $sock" start >/dev/null || die "pg_ctl start failed (see .dev/postgres.log)"
  fi
  OUTREACH_PG_ADMIN_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
  export OUTREACH_PG_ADMIN_URL
}

# stop_private_postgres stops the private server if this script started it.
stop_private_postgres() {
  [ -n "${PG_STARTED_BY_US:-}" ] || return 0
  local run=()
  [ "$(id -u)" = 0 ] && run=(runuser -u postgres --)
  "${run[@]}" "$(pg_bindir)/pg_ctl" -D "$DEV_DIR/pgdata" stop -m fast >/dev/null 2>&1 || true
  PG_STARTED_BY_US=
}

# ensure_database NAME [--fresh] creates database NAME on the admin server
# (dropping it first with --fresh) and exports DATABASE_URL pointing at it.
ensure_database() {
  local name=$1 fresh=${2:-} base
  base=${OUTREACH_PG_ADMIN_URL%%\?*}; base=${base%/*}
  if [ "$fresh" = --fresh ]; then
    psql -q "$OUTREACH_PG_ADMIN_URL" -c "drop database if exists \"$name\" with (force)" >/dev/null || die "drop database $name"
  fi
  if ! psql -tA "$OUTREACH_PG_ADMIN_URL" -c "select 1 from pg_database where datname = '$name'" | grep -q 1; then
    psql -q "$OUTREACH_PG_ADMIN_URL" -c "create database \"$name\"" >/dev/null || die "create database $name"
  fi
  DATABASE_URL="$base/$name?sslmode=disable"
  export DATABASE_URL
}

# The journeys' search attributes (internal/visibility): journeys upsert them,
# and an unregistered one fails the workflow task. A test keeps this list in
# step with the Go one.
SEARCH_ATTRIBUTE_FLAGS=(
  --search-attribute CustomerId=Keyword
  --search-attribute JourneyName=Keyword
  --search-attribute JourneyStep=Keyword
  --search-attribute JourneyVersion=Int
  --search-attribute LastChannel=Keyword
  --search-attribute Outcome=Keyword
)

temporal_healthy() {
  "$TEMPORAL_CLI" operator cluster health --address "$1" >/dev/null 2>&1
}

# ensure_temporal_server uses $TEMPORAL_ADDRESS when it answers, else starts
# the dev server (in memory, or in the SQLite file given as $1) and sets
# TEMPORAL_DEV_PID.
ensure_temporal_server() {
  local dbfile=${1:-}
  TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-127.0.0.1:7233}
  export TEMPORAL_ADDRESS
  TEMPORAL_DEV_PID=
  if temporal_healthy "$TEMPORAL_ADDRESS"; then
    log "using the Temporal server at $TEMPORAL_ADDRESS"
    return 0
  fi
  local host=${TEMPORAL_ADDRESS%:*} port=${TEMPORAL_ADDRESS##*:} args=()
  [ -n "$dbfile" ] && args=(--db-filename "$dbfile")
  mkdir -p "$DEV_DIR"
  log "starting the Temporal dev server on $TEMPORAL_ADDRESS (UI on http://localhost:8233)"
  "$TEMPORAL_CLI" server start-dev --ip "$host" --port "$port" --ui-port 8233 \
    --log-level warn "${SEARCH_ATTRIBUTE_FLAGS[@]}" "${args[@]}" >"$DEV_DIR/temporal.log" 2>&1 &
  TEMPORAL_DEV_PID=$!
  for _ in $(seq 1 120); do
    temporal_healthy "$TEMPORAL_ADDRESS" && return 0
    kill -0 "$TEMPORAL_DEV_PID" 2>/dev/null || die "the Temporal dev server exited (see .dev/temporal.log)"
    sleep 0.5
  done
  die "the Temporal dev server did not become healthy in 60s (see .dev/temporal.log)"
}

# ensure_namespace NAME registers a namespace on the server (no-op if it exists).
ensure_namespace() {
  "$TEMPORAL_CLI" operator namespace describe --address "$TEMPORAL_ADDRESS" --namespace "$1" >/dev/null 2>&1 && return 0
  "$TEMPORAL_CLI" operator namespace create --address "$TEMPORAL_ADDRESS" --namespace "$1" >/dev/null \
    || die "could not create namespace $1"
  # A new namespace takes a moment to become usable.
  for _ in $(seq 1 40); do
    "$TEMPORAL_CLI" workflow list --address "$TEMPORAL_ADDRESS" --namespace "$1" --limit 1 >/dev/null 2>&1 && return 0
    sleep 0.5
  done
}

# ensure_search_attributes registers the journeys' search attributes on
# $TEMPORAL_NAMESPACE (idempotent): a server that was already running, or a
# namespace created after the dev server started, has not got them yet.
ensure_search_attributes() {
  "$ROOT/bin/starter" temporal setup >/dev/null || die "could not register the search attributes"
}

build_binaries() {
  mkdir -p "$ROOT/bin"
  (cd "$ROOT" && go build -o bin/ ./worker ./starter) || die "go build failed"
}
