#!/usr/bin/env bash
# Install the Debian packages `make bench` needs: scripts/deps.sh's list already
# holds them (wrk, pgbench in the postgresql server package, procps, and the
# Django version's stack for tests/django/run.sh), so this is that check, plus
# procps, which a minimal machine may lack.
# Silent (exit 0) when everything is already installed.
set -euo pipefail

"$(dirname "$0")/deps.sh"
exec "$(dirname "$0")/deps.sh" procps
