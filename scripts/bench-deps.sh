#!/usr/bin/env bash
# Install the Debian packages `make bench` needs on top of scripts/deps.sh's:
# wrk, pgbench (in the postgresql server package), and the Django version's
# stack as its README lists it (Debian 12 packages, no pip).
# Silent (exit 0) when everything is already installed.
set -euo pipefail

PACKAGES=(
  wrk
  jq
  curl
  procps
  postgresql
  python3
  python3-django
  python3-djangorestframework
  python3-djangorestframework-simplejwt
  python3-psycopg2
  gunicorn
  python3-argon2
  python3-django-cors-headers
  python3-yaml
  python3-uritemplate
)

missing_packages() {
  local pkg status
  for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [[ $status != "install ok installed" ]]; then
      printf '%s\n' "$pkg"
    fi
  done
}

mapfile -t missing < <(missing_packages)
if ((${#missing[@]} == 0)); then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "missing packages for the benchmark; run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "bench-deps: installing ${missing[*]}" >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT

if ! timeout 600 apt-get update -qq >"$log" 2>&1; then
  cat "$log" >&2
  echo "bench-deps: apt-get update failed" >&2
  exit 1
fi
if ! DEBIAN_FRONTEND=noninteractive timeout 1200 apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >"$log" 2>&1; then
  cat "$log" >&2
  echo "bench-deps: apt-get install failed" >&2
  exit 1
fi

mapfile -t still < <(missing_packages)
if ((${#still[@]} != 0)); then
  cat "$log" >&2
  echo "bench-deps: still missing after install: ${still[*]}" >&2
  exit 1
fi
