#!/usr/bin/env bash
# Prints a PostgreSQL admin URL for the test suites on stdout (and nothing else there).
# Order: $STRONGROOM_TEST_PG_ADMIN_URL if set; the server on 127.0.0.1:5432 if one answers;
# else a throwaway cluster (trust auth, fsync off) in a temp dir on a free port, which
# scripts/stop-postgres.sh stops and removes. FORCE_THROWAWAY=1 goes straight to the last.
set -euo pipefail
SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$SCRIPTS/postgres-common.sh"

if [[ "${FORCE_THROWAWAY:-}" != 1 ]]; then
  if [[ -n "${STRONGROOM_TEST_PG_ADMIN_URL:-}" ]]; then
    printf '%s\n' "$STRONGROOM_TEST_PG_ADMIN_URL"
    exit 0
  fi
  if pg_answers 127.0.0.1 5432; then
    printf '%s\n' "postgres://postgres@127.0.0.1:5432/postgres"
    exit 0
  fi
fi

# Reuse a throwaway cluster this checkout already started, if it is still up.
if [[ -f "$PG_STATE_FILE" ]]; then
  # shellcheck source=/dev/null
  source "$PG_STATE_FILE"
  if [[ -n "${PG_PORT:-}" ]] && as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1 \
    && pg_answers 127.0.0.1 "$PG_PORT"; then
    printf '%s\n' "postgres://postgres@127.0.0.1:$PG_PORT/postgres"
    exit 0
  fi
  bash "$SCRIPTS/stop-postgres.sh"  # stale: clean up before starting afresh
  unset PG_DIR PG_BIN PG_PORT
fi

PG_BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}"
if [[ -z "$PG_BIN" || ! -x "$PG_BIN/initdb" ]]; then
  pg_log "no PostgreSQL answers on 127.0.0.1:5432 and no initdb under /usr/lib/postgresql/*/bin;"
  pg_log "run scripts/install-deps.sh (installs postgresql) or set STRONGROOM_TEST_PG_ADMIN_URL"
  exit 1
fi
if [[ "$(id -u)" == 0 ]] && ! id -u postgres >/dev/null 2>&1; then
  pg_log "running as root but there is no postgres user to run PostgreSQL as"
  exit 1
fi

PG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/strongroom-pg.XXXXXX")"
touch "$PG_DIR/.strongroom-throwaway"  # stop-postgres.sh only deletes directories marked so
mkdir -p "$(dirname "$PG_STATE_FILE")"
write_state() {
  {
    printf 'PG_DIR=%q\n' "$PG_DIR"
    printf 'PG_BIN=%q\n' "$PG_BIN"
    printf 'PG_PORT=%q\n' "${PG_PORT:-}"
  } >"$PG_STATE_FILE"
}
write_state

# Whatever goes wrong from here, leave nothing running or on disk.
started=0
trap '((started)) || bash "$SCRIPTS/stop-postgres.sh"' EXIT

if [[ "$(id -u)" == 0 ]]; then chown postgres: "$PG_DIR"; fi
cd "$PG_DIR"  # PostgreSQL programs want a working directory their user can read

if ! as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
  --no-sync >"$PG_DIR/initdb.log" 2>&1; then
  cat "$PG_DIR/initdb.log" >&2
  pg_log "initdb failed"
  exit 1
fi
as_pg mkdir "$PG_DIR/sock"

free_port() {
  node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# Another process may take the port between choosing and binding it, so try a few.
for attempt in 1 2 3 4 5; do
  PG_PORT="$(free_port)"
  write_state
  if as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k '$PG_DIR/sock' -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null 2>&1; then
    break
  fi
  if ((attempt == 5)); then
    cat "$PG_DIR/postgres.log" >&2 2>/dev/null || true
    pg_log "could not start PostgreSQL (log above)"
    exit 1
  fi
done

if ! "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 30; then
  pg_log "PostgreSQL started but does not answer on 127.0.0.1:$PG_PORT"
  exit 1
fi

started=1
pg_log "started throwaway PostgreSQL $("$PG_BIN/postgres" -V | awk '{print $3}') on 127.0.0.1:$PG_PORT ($PG_DIR)"
printf '%s\n' "postgres://postgres@127.0.0.1:$PG_PORT/postgres"
