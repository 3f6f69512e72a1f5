#!/usr/bin/env bash
# Used by `make run`: start the local PostgreSQL cluster in var/ (unless
# DATABASE_URL is set), make a persistent JWT secret, migrate, then serve.
# PORT (if set) is passed through to the server via the environment.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${BUILD:-build}/devsearch
if [[ ! -x $bin ]]; then
  echo "run.sh: $bin not found; run 'make build' first" >&2
  exit 1
fi

if [[ -z ${DATABASE_URL:-} ]]; then
  DATABASE_URL=$(scripts/pg.sh start var)
  export DATABASE_URL
fi

if [[ -z ${JWT_SECRET:-} ]]; then
  mkdir -p var
  if [[ ! -s var/jwt_secret ]]; then
    (
      umask 077
      head -c 48 /dev/urandom | base64 -w0 >var/jwt_secret
    )
  fi
  chmod 600 var/jwt_secret
  JWT_SECRET=$(<var/jwt_secret)
  export JWT_SECRET
fi

# Generous rate limits, so a limit that trips shows in development too.
export RATE_LIMIT_ANON=${RATE_LIMIT_ANON:-1000/minute}
export RATE_LIMIT_USER=${RATE_LIMIT_USER:-5000/minute}

"$bin" migrate
exec "$bin" serve
