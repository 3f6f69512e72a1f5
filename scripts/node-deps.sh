#!/usr/bin/env bash
# Install the npm packages of package-lock.json into node_modules/ when they are
# missing or older than the lock file. Node and npm come from the machine, else
# from Debian's packages (as root). Quiet on success.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  else
    echo "npm is missing; run: sudo apt-get install -y nodejs npm" >&2
    exit 1
  fi
fi

stamp=node_modules/.package-lock.json
if [[ -f $stamp && $stamp -nt package-lock.json ]]; then
  exit 0
fi
log=$(mktemp)
# --ignore-scripts: no package's install script runs here.
if ! npm ci --ignore-scripts --no-audit --no-fund >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  exit 1
fi
rm -f "$log"
