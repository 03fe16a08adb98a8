#!/usr/bin/env bash
# Make a fresh clone ready to build and test: the Debian packages the tests
# run (PostgreSQL 15 server, pg_cron, zstd; age for the encryption interop
# tests; libfaketime for a server whose history must seem an hour old) and
# node_modules. Idempotent and quick when everything is there already.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { echo "ensure-deps: $*" >&2; }

packages=(postgresql-15 postgresql-15-cron zstd age libfaketime)
missing=()
for p in "${packages[@]}"; do
  # dpkg -s also succeeds for removed packages that left config files behind.
  if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "ensure-deps: missing Debian packages ${missing[*]}; as root run: apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  # The tests make their own clusters; stop postgresql-common from creating
  # (and starting) a "main" cluster when the server package is installed.
  conf=/etc/postgresql-common/createcluster.conf
  mkdir -p "$(dirname "$conf")"
  if [[ ! -f $conf ]]; then
    echo 'create_main_cluster = false' >"$conf"
  elif grep -Eq '^[[:space:]]*create_main_cluster[[:space:]]*=' "$conf"; then
    sed -i -E 's/^[[:space:]]*create_main_cluster[[:space:]]*=.*/create_main_cluster = false/' "$conf"
  else
    # Start on a fresh line even if the file lacks a final newline.
    [[ -s $conf && -n $(tail -c1 "$conf") ]] && echo >>"$conf"
    echo 'create_main_cluster = false' >>"$conf"
  fi
  log "installing ${missing[*]}"
  apt-get update -qq
  # Keep our createcluster.conf if the package would replace it (dpkg/ucf).
  DEBIAN_FRONTEND=noninteractive UCF_FORCE_CONFFOLD=1 apt-get install -y -qq \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}" >/dev/null
  log "installed ${missing[*]}"
fi

# npm writes node_modules/.package-lock.json on every install; older than the
# lock file means the lock changed since.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  log "npm ci"
  npm ci --no-audit --no-fund >&2
fi
