#!/usr/bin/env bash
# Installs what Strongroom needs, and no more: Debian packages and node_modules.
#   install-deps.sh [run]   running it: clamd and its tools, tesseract (English) and poppler for
#                           search's OCR and thumbnails, openssl and curl (the demo's and the docs'
#                           examples), and a toolchain when npm ci must compile
#   install-deps.sh test    also what only the tests use: chromium (browser tests), litmus and
#                           rclone (WebDAV clients), 7zip (makes real password-protected archives),
#                           PostgreSQL when none answers locally
#   install-deps.sh bench   also what only the benchmark uses: apache2 and rclone (the comparison
#                           WebDAV servers: mod_dav, and rclone serve webdav over a crypt remote)
#   install-deps.sh MODE --list   print the Debian packages MODE wants, one a line, and change nothing
# Idempotent and quiet on success: one line per thing it installs.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/postgres-common.sh

log() { printf 'install-deps: %s\n' "$*" >&2; }

mode="${1:-run}"
list_only=false
[[ "${2:-}" == --list ]] && list_only=true

# clamav-daemon and clamav give us clamd and its tools (we run our own clamd, not Debian's
# service); openssl makes the keys and tokens the docs ask for (`openssl rand`); curl runs the
# demo's printed example. tesseract-ocr with its English data reads scanned pages and images for
# search, and poppler-utils' pdftocairo renders PDF pages for it and for thumbnails; both read from
# stdin and write to stdout, so no plaintext page touches the disk.
packages=(clamav-daemon clamav tesseract-ocr tesseract-ocr-eng poppler-utils openssl curl)

case "$mode" in
  run) ;;
  test)
    # chromium runs the browser tests; litmus and rclone are the WebDAV clients the tests drive;
    # 7zip (Debian 12's 7-Zip, command 7zz) makes the real password-protected 7z and zip archives
    # the inspector and upload tests refuse (test/support/real-archives.ts).
    packages+=(chromium litmus rclone 7zip)
    # Only needed for a throwaway cluster (scripts/ensure-postgres.sh) when no server is running.
    if ! pg_answers 127.0.0.1 5432; then
      packages+=(postgresql)
    fi
    ;;
  bench)
    # apache2 and rclone are the benchmark's comparison WebDAV servers (mod_dav, and `rclone serve
    # webdav` over a crypt remote as the encrypted reference; openssl speed and curl are above);
    # bench/nodes.ts runs its web nodes on PostgreSQL (a throwaway cluster when none is running).
    packages+=(apache2 rclone)
    if ! pg_answers 127.0.0.1 5432; then
      packages+=(postgresql)
    fi
    ;;
  *)
    log "unknown mode '$mode' (run, test or bench)"
    exit 2
    ;;
esac

# npm ci compiles better-sqlite3-multiple-ciphers from source when it cannot download a
# prebuilt binary (offline), so it needs a toolchain. Checked by command rather than package,
# since python3 may come from elsewhere (pyenv).
for tool in make g++ python3; do
  command -v "$tool" >/dev/null 2>&1 || packages+=("$tool")
done

if $list_only; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

is_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

install_debian_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    is_installed "$pkg" || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then return 0; fi

  if [[ "$(id -u)" != 0 ]]; then
    log "missing Debian packages: ${missing[*]}; run as root, then try again:"
    printf 'sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends %s\n' "${missing[*]}" >&2
    exit 1
  fi

  # Keep package scripts from starting services while we install: Debian's clamav-freshclam
  # cannot reach the internet here, clamav-daemon has no signatures yet (we run our own clamd),
  # apache2 would grab port 80, and a stopped postgresql cluster is fine (we use a throwaway).
  # Leave an existing policy-rc.d (e.g. Docker's) alone.
  local policy=/usr/sbin/policy-rc.d
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\n# temporary, from strongroom scripts/install-deps.sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap "rm -f '$policy'" EXIT
  fi

  local aptlog
  aptlog="$(mktemp -t strongroom-apt.XXXXXX)"
  if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; } >"$aptlog" 2>&1; then
    cat "$aptlog" >&2
    log "apt-get failed (log above, also in $aptlog)"
    exit 1
  fi
  rm -f "$aptlog"
  for pkg in "${missing[@]}"; do
    if is_installed "$pkg"; then
      log "installed $pkg"
    else
      log "apt-get reported success but $pkg is not installed"
      exit 1
    fi
  done
}

if command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  install_debian_packages "${packages[@]}"
else
  log "not a Debian system: skipping system packages (${packages[*]})"
fi

# node_modules: npm writes node_modules/.package-lock.json on every install, so it is newer
# than package-lock.json unless the lockfile changed since (or node_modules is missing).
if [[ -f package-lock.json ]]; then
  if [[ ! -d node_modules || ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    npmlog="$(mktemp -t strongroom-npm.XXXXXX)"
    if ! npm ci --no-audit --no-fund >"$npmlog" 2>&1; then
      cat "$npmlog" >&2
      log "npm ci failed"
      exit 1
    fi
    rm -f "$npmlog"
    log "installed node_modules (npm ci)"
  fi
elif [[ ! -d node_modules ]]; then
  npmlog="$(mktemp -t strongroom-npm.XXXXXX)"
  if ! npm install --no-audit --no-fund >"$npmlog" 2>&1; then
    cat "$npmlog" >&2
    log "npm install failed"
    exit 1
  fi
  rm -f "$npmlog"
  log "installed node_modules (npm install, no lockfile)"
fi
