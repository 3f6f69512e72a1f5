#!/usr/bin/env bash
# A private PgBouncer in transaction pooling mode in front of a pg.sh cluster.
#
#   pgbouncer.sh start DIR PORT   start it on 127.0.0.1:PORT, in front of the
#                                 cluster of pg.sh DIR; print the URL of
#                                 devsearch_test through it
#   pgbouncer.sh stop DIR         stop it if running (never fails)
#
# Layout: DIR/pgbouncer (ini, pid file, log). As root it runs as `postgres`
# (PgBouncer refuses root), like the cluster.
set -euo pipefail

(($# >= 2)) || { echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2; }
cmd=$1
abs=$(realpath -m -- "$2")
dir=$abs/pgbouncer
pidfile=$dir/pgbouncer.pid

run() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [[ $cmd == stop ]]; then
  if [[ -f $pidfile ]]; then
    pid=$(cat "$pidfile" 2>/dev/null || true)
    [[ -n $pid ]] && kill "$pid" 2>/dev/null || true
  fi
  exit 0
fi
[[ $cmd == start && $# -eq 3 ]] || { echo "usage: $0 start DIR PORT" >&2; exit 2; }
port=$3
command -v pgbouncer >/dev/null || { echo "pgbouncer.sh: pgbouncer not installed; run scripts/deps.sh" >&2; exit 1; }

mkdir -p "$dir"
[[ $(id -u) -eq 0 ]] && chown postgres:postgres "$dir"
cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=$abs/run user=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/users.txt
pool_mode = transaction
default_pool_size = 3
max_client_conn = 200
admin_users = postgres
pidfile = $pidfile
logfile = $dir/pgbouncer.log
INI
echo '"postgres" ""' >"$dir/users.txt"
if ! run pgbouncer -d "$dir/pgbouncer.ini" >"$dir/start.log" 2>&1; then
  cat "$dir/start.log" "$dir/pgbouncer.log" >&2 2>/dev/null || true
  echo "pgbouncer.sh: could not start pgbouncer" >&2
  exit 1
fi
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
printf 'postgresql://postgres@127.0.0.1:%s/devsearch_test\n' "$port"
