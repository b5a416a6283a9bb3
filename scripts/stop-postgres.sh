#!/usr/bin/env bash
# Stops and deletes the throwaway PostgreSQL cluster started by scripts/ensure-postgres.sh.
# Does nothing when there is none (e.g. the tests used the server on 127.0.0.1:5432).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/postgres-common.sh"

[[ -f "$PG_STATE_FILE" ]] || exit 0
# shellcheck source=/dev/null
source "$PG_STATE_FILE"

if [[ -n "${PG_DIR:-}" && -f "$PG_DIR/data/postmaster.pid" ]]; then
  pid="$(head -n 1 "$PG_DIR/data/postmaster.pid")"
  if ! (cd "$PG_DIR" && as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w -t 30 stop) >/dev/null 2>&1; then
    # pg_ctl failed (binaries gone, user gone…): kill the postmaster if it is still ours.
    if [[ "$pid" =~ ^[0-9]+$ && "$(cat "/proc/$pid/comm" 2>/dev/null)" == postgres ]]; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  pg_log "stopped throwaway PostgreSQL${PG_PORT:+ on 127.0.0.1:$PG_PORT}"
fi

# Only ever delete a directory ensure-postgres.sh made.
if [[ -n "${PG_DIR:-}" && "$(basename "$PG_DIR")" == strongroom-pg.* && -f "$PG_DIR/.strongroom-throwaway" ]]; then
  rm -rf -- "$PG_DIR"
fi
rm -f -- "$PG_STATE_FILE"
