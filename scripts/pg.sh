#!/usr/bin/env bash
# Manage a private PostgreSQL cluster living in a directory.
#
#   pg.sh start DIR [DBNAME]   init (once) + start the cluster, create DBNAME
#                              (default devsearch), print its connection URL
#   pg.sh stop DIR             stop the cluster if running (never fails)
#   pg.sh url DIR [DBNAME]     print the connection URL only
#
# Layout: DIR/pgdata (data directory, server.log inside), DIR/run (unix
# socket directory; no TCP listener). Only the URL goes to stdout.
# As root the server runs as the `postgres` user (initdb refuses root).
# Env: PG_FAST=1 starts the server with fsync=off (for tests).
set -euo pipefail

usage() {
  echo "usage: $0 start DIR [DBNAME] | stop DIR | url DIR [DBNAME]" >&2
  exit 2
}

(($# >= 2)) || usage
cmd=$1
dir=$2
dbname=${3:-devsearch}

if [[ ! $dbname =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
  echo "pg.sh: invalid database name: $dbname" >&2
  exit 2
fi

abs=$(realpath -m -- "$dir")
pgdata=$abs/pgdata
rundir=$abs/run

url() {
  printf 'postgresql:///%s?host=%s&user=postgres\n' "$1" "$rundir"
}

find_bindir() {
  local d best=""
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x $d/pg_ctl ]] || continue
    if [[ -z $best ]] || [[ $(printf '%s\n%s\n' "$best" "$d" | sort -V | tail -n1) == "$d" ]]; then
      best=$d
    fi
  done
  printf '%s' "$best"
}

as_root=0
[[ $(id -u) -eq 0 ]] && as_root=1

# Run a PostgreSQL command as the cluster's user.
pgrun() {
  if ((as_root)); then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

is_running() {
  [[ -f $pgdata/PG_VERSION ]] || return 1
  pgrun "$bindir/pg_ctl" -D "$pgdata" status >/dev/null 2>&1
}

case $cmd in
  url)
    url "$dbname"
    exit 0
    ;;
  start | stop) ;;
  *) usage ;;
esac

bindir=$(find_bindir)

if [[ $cmd == stop ]]; then
  {
    [[ -n $bindir && -d $abs ]] || exit 0
    cd "$abs" 2>/dev/null || cd /
    if is_running; then
      pgrun "$bindir/pg_ctl" -D "$pgdata" -m fast -w -t 60 stop >/dev/null 2>&1 || true
    fi
  } || true
  exit 0
fi

# ---- start ----
if [[ -z $bindir ]]; then
  echo "pg.sh: no PostgreSQL server found under /usr/lib/postgresql/*/bin; run scripts/deps.sh" >&2
  exit 1
fi

if [[ $abs == *"'"* || $abs == *" "* ]]; then
  echo "pg.sh: directory path must not contain quotes or spaces: $abs" >&2
  exit 1
fi
# sun_path is 108 bytes: DIR/run/.s.PGSQL.5432 must fit.
if ((${#rundir} + 17 > 107)); then
  echo "pg.sh: socket directory path too long: $rundir" >&2
  exit 1
fi

mkdir -p "$abs"
chmod 755 "$abs"
mkdir -p "$pgdata" "$rundir"
chmod 700 "$pgdata"
if ((as_root)); then
  chown postgres:postgres "$pgdata" "$rundir"
  if ! runuser -u postgres -- test -x "$abs" -a -w "$rundir"; then
    echo "pg.sh: user postgres cannot reach $abs (check permissions of its parent directories)" >&2
    exit 1
  fi
fi
# Run from a directory the cluster user can access.
cd "$abs"

if [[ ! -f $pgdata/PG_VERSION ]]; then
  initlog=$abs/initdb.log
  if ! pgrun "$bindir/initdb" -D "$pgdata" -U postgres --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 >"$initlog" 2>&1; then
    cat "$initlog" >&2
    echo "pg.sh: initdb failed" >&2
    exit 1
  fi
fi

if ! is_running; then
  opts="-c listen_addresses='' -c unix_socket_directories='$rundir'"
  opts+=" -c unix_socket_permissions=0700 -c max_connections=200"
  if [[ ${PG_FAST:-} == 1 ]]; then
    opts+=" -c fsync=off"
  fi
  ctllog=$abs/pg_ctl.log
  if ! pgrun "$bindir/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -w -t 60 \
    -o "$opts" start >"$ctllog" 2>&1; then
    cat "$ctllog" >&2
    echo "--- $pgdata/server.log (tail) ---" >&2
    tail -n 50 "$pgdata/server.log" >&2 2>/dev/null || true
    echo "pg.sh: could not start PostgreSQL in $pgdata" >&2
    exit 1
  fi
fi

exists=$(pgrun "$bindir/psql" -X -q -h "$rundir" -U postgres -d postgres -tAc \
  "SELECT 1 FROM pg_database WHERE datname='$dbname'")
if [[ $exists != 1 ]]; then
  pgrun "$bindir/createdb" -h "$rundir" -U postgres "$dbname" >&2
fi

url "$dbname"
