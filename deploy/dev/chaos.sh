#!/usr/bin/env bash
# make chaos: a few hundred journeys on mixed channels through the real worker
# binary in live delivery mode, against local fakes of SendGrid, Twilio and
# the print-and-mail API; the worker is killed with SIGKILL at random moments
# and restarted. The run audits the ledger against what the fakes received
# and prints one line:
#   chaos: journeys=N kills=K sent=S duplicates=D lost=L cap_violations=V
# It exits non-zero unless D, L and V are all 0. Extra arguments go to the
# program, e.g. `deploy/dev/chaos.sh -journeys 400 -kills 8`.
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
go run ./internal/bench/chaos -worker-bin bin/worker "$@"
