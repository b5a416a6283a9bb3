# Shared by ensure-postgres.sh and stop-postgres.sh (sourced, not run): where the throwaway
# cluster's state lives and how to run PostgreSQL programs as a non-root user.

# One throwaway cluster per checkout; .tmp/ is git-ignored.
PG_STATE_FILE="${STRONGROOM_PG_STATE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.tmp/throwaway-postgres.env}"

pg_log() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }

# PostgreSQL refuses to run as root, so as root we run its programs as the postgres system user
# (created by Debian's postgresql package); otherwise as ourselves.
as_pg() {
  if [[ "$(id -u)" != 0 ]]; then
    "$@"
  elif command -v runuser >/dev/null 2>&1; then
    runuser -u postgres -- "$@"
  else
    su -s /bin/bash postgres -c "$(printf '%q ' "$@")"
  fi
}

# Is something accepting connections on host:port?
pg_answers() {
  local host="$1" port="$2"
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h "$host" -p "$port" -t 3 >/dev/null 2>&1
  else
    timeout 3 bash -c "</dev/tcp/$host/$port" >/dev/null 2>&1
  fi
}
