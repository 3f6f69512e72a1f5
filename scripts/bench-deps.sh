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

# The same check-and-install as scripts/deps.sh, for this list.
exec "$(dirname "$0")/deps.sh" "${PACKAGES[@]}"
