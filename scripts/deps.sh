#!/usr/bin/env bash
# Install the Debian packages needed to build, test and run devsearch.
# Silent (exit 0) when everything is already installed.
set -euo pipefail

# NOTE: keep libcurl4-gnutls-dev; libcurl4-openssl-dev conflicts with what
# libulfius-dev pulls in.
PACKAGES=(
  pkg-config
  libulfius-dev
  libjansson-dev
  libjwt-dev
  libpq-dev
  libargon2-dev
  libmicrohttpd-dev
  check
  libsubunit-dev
  libcurl4-gnutls-dev
  libssl-dev
  zlib1g-dev
  openssl
  postgresql
  postgresql-contrib
  pgbouncer
  curl
  jq
  chromium
  chromium-driver
  graphviz
  clang
  libclang-rt-dev
  ca-certificates
  nginx
  wrk
  # The Django version, for tests/django/run.sh (its README's list; no pip).
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

# With arguments, those packages instead (scripts/bench-deps.sh asks for procps).
if (($#)); then
  PACKAGES=("$@")
fi

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
  echo "missing packages; run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "deps: installing ${missing[*]}" >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT

if ! apt-get update -qq >"$log" 2>&1; then
  cat "$log" >&2
  echo "deps: apt-get update failed" >&2
  exit 1
fi
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >"$log" 2>&1; then
  cat "$log" >&2
  echo "deps: apt-get install failed" >&2
  exit 1
fi

mapfile -t still < <(missing_packages)
if ((${#still[@]} != 0)); then
  cat "$log" >&2
  echo "deps: still missing after install: ${still[*]}" >&2
  exit 1
fi
