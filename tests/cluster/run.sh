#!/usr/bin/env bash
# `make test-cluster`: several devsearch instances behind nginx, on one machine,
# on 127.0.0.1 only (docs/deploy.md describes the same topology for real use).
#
# In a temporary directory it starts a PostgreSQL primary, a streaming replica of
# it (pg_basebackup -R), PgBouncer in transaction pooling mode in front of the
# primary, two `devsearch serve` instances (each running `devsearch migrate` first,
# both at the same moment) and nginx balancing the two. Then, through nginx and
# through each instance's own port:
#   - each migration was applied once although both instances migrated;
#   - tokens issued by one instance work on the other; a refresh rotation, a logout,
#     a password change and a deactivation done on one are honoured by the other at
#     its next request; failed logins are counted across both (429);
#   - a write is read back at once, also from the other instance's response cache;
#   - one instance is killed (SIGKILL) under bounded load (wrk): only requests in
#     flight on it may fail, and nginx keeps serving from the other;
#   - with read replicas (when the binary reads DATABASE_REPLICA_URL): a writer reads
#     its own write, and reads still work once the replica is stopped.
# The parts that depend on settings the binary does not read yet
# (DATABASE_REPLICA_URL, DATABASE_DIRECT_URL, DB_PREPARED_STATEMENTS) are skipped
# with a message; the instances then talk to the primary directly.
#
# Every process is started here and stopped by the trap, by PID. The last line is
# "N passed, M failed" (scripts/test-all.sh adds it to make test's count).
# Env: BUILD (default build), CLUSTER_KEEP=1 keeps the directory,
# CLUSTER_BENCH=SECONDS also measures requests/s with wrk (docs/deploy.md).
set -euo pipefail
export LC_ALL=C

root=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$root"
build_dir=$(realpath -m -- "${BUILD:-build}")
devsearch=$build_dir/devsearch
BENCH=${CLUSTER_BENCH:-0}

passed=0 failed=0
LOG_NAME=cluster
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
skip() { printf 'cluster: skip %s\n' "$*"; }
die() {
  log "error: $*"
  failed=$((failed + 1))
  exit 1
}

for tool in curl jq wrk nginx pgbouncer pg_basebackup psql runuser; do
  command -v "$tool" >/dev/null 2>&1 || [[ -x /usr/sbin/$tool ]] ||
    die "$tool not found: run scripts/deps.sh"
done
[[ -x $devsearch ]] || die "$devsearch not found: run make build"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
PGBOUNCER=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
bindir=""
for d in /usr/lib/postgresql/*/bin; do
  [[ -x $d/pg_ctl ]] && bindir=$d
done
[[ -n $bindir ]] || die "no PostgreSQL server under /usr/lib/postgresql: run scripts/deps.sh"

# Settings another part of issue 8 adds: used only when the binary reads them.
supports() { grep -a -q -- "$1" "$devsearch"; }
has_replica=0 has_direct=0 has_prepared=0
supports DATABASE_REPLICA_URL && has_replica=1
supports DATABASE_DIRECT_URL && has_direct=1
supports DB_PREPARED_STATEMENTS && has_prepared=1

# ---------------------------------------------------------------- clean-up
tmp=$(mktemp -d "${TMPDIR:-/tmp}/devsearch-cluster.XXXXXX")
chmod 755 "$tmp" # the clusters and PgBouncer run as postgres when we are root
pids=()           # every process started here that is not a PostgreSQL cluster
clusters=()       # data directories of the clusters started here

as_pg() {
  if (($(id -u) == 0)); then runuser -u postgres -- "$@"; else "$@"; fi
}
# shellcheck disable=SC2317  # invoked via trap
cleanup() {
  local rc=$? p d
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do stop_pid "$p" 10; done
  if [[ -f $tmp/pgbouncer/pgbouncer.pid ]]; then
    stop_pid "$(cat "$tmp/pgbouncer/pgbouncer.pid")" 10
  fi
  for d in "${clusters[@]}"; do
    as_pg "$bindir/pg_ctl" -D "$d" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  done
  if ((rc != 0 && failed == 0)); then failed=1; fi
  keep_or_remove "$tmp" "${CLUSTER_KEEP:-}" ""
  echo "$passed passed, $failed failed"
  ((failed == 0)) || rc=1
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

P_PRIMARY="" P_REPLICA="" P_BOUNCER="" P_A="" P_B="" P_NGINX=""
for var in P_PRIMARY P_REPLICA P_BOUNCER P_A P_B P_NGINX; do free_port "$var"; done

show_log() {
  echo "--- $1 (last 30 lines) ---" >&2
  tail -n 30 "$1" >&2 2>/dev/null || true
}
wait_for() { # SECONDS COMMAND...: until COMMAND succeeds
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# ---------------------------------------------------------------- PostgreSQL
# pg_start DATADIR PORT: the cluster listens on 127.0.0.1:PORT and in DATADIR's run/.
pg_start() {
  local data=$1 port=$2
  mkdir -p "$data.run"
  (($(id -u) == 0)) && chown postgres: "$data.run"
  as_pg "$bindir/pg_ctl" -D "$data" -l "$data.run/server.log" -w -t 60 -o \
    "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$data.run -c fsync=off -c max_connections=100" \
    start >/dev/null 2>&1 || {
    show_log "$data.run/server.log"
    die "cannot start the cluster in $data"
  }
  clusters+=("$data")
}
psql_at() { # PORT SQL
  psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres -d devsearch -c "$2"
}

log "primary on $P_PRIMARY, replica on $P_REPLICA, pgbouncer on $P_BOUNCER"
mkdir -p "$tmp/primary"
(($(id -u) == 0)) && chown postgres: "$tmp/primary"
as_pg "$bindir/initdb" -D "$tmp/primary" -U postgres --auth=trust --encoding=UTF8 \
  --locale=C.UTF-8 >"$tmp/initdb.log" 2>&1 || {
  show_log "$tmp/initdb.log"
  die "initdb failed"
}
pg_start "$tmp/primary" "$P_PRIMARY"
as_pg "$bindir/createdb" -h 127.0.0.1 -p "$P_PRIMARY" -U postgres devsearch

# The replica: a base backup of the primary that streams from it (-R writes
# primary_conninfo and standby.signal).
mkdir -p "$tmp/replica"
chmod 700 "$tmp/replica"
(($(id -u) == 0)) && chown postgres: "$tmp/replica"
as_pg "$bindir/pg_basebackup" -h 127.0.0.1 -p "$P_PRIMARY" -U postgres -D "$tmp/replica" \
  -R -X stream -c fast >"$tmp/basebackup.log" 2>&1 || {
  show_log "$tmp/basebackup.log"
  die "pg_basebackup failed"
}
pg_start "$tmp/replica" "$P_REPLICA"
check "the replica is a standby" t "$(psql_at "$P_REPLICA" 'SELECT pg_is_in_recovery()')"
check "the primary streams to the replica" 1 \
  "$(psql_at "$P_PRIMARY" "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")"

# PgBouncer, transaction pooling, in front of the primary. It refuses to run as
# root; -d makes it write the pid file we stop it by.
mkdir -p "$tmp/pgbouncer"
cat >"$tmp/pgbouncer/pgbouncer.ini" <<EOF
[databases]
devsearch = host=127.0.0.1 port=$P_PRIMARY dbname=devsearch

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $P_BOUNCER
unix_socket_dir =
auth_type = trust
auth_file = $tmp/pgbouncer/userlist.txt
pool_mode = transaction
max_client_conn = 200
default_pool_size = 20
ignore_startup_parameters = extra_float_digits
logfile = $tmp/pgbouncer/pgbouncer.log
pidfile = $tmp/pgbouncer/pgbouncer.pid
EOF
echo '"postgres" ""' >"$tmp/pgbouncer/userlist.txt"
(($(id -u) == 0)) && chown -R postgres: "$tmp/pgbouncer"
as_pg "$PGBOUNCER" -d "$tmp/pgbouncer/pgbouncer.ini" >/dev/null 2>&1 || {
  show_log "$tmp/pgbouncer/pgbouncer.log"
  die "cannot start pgbouncer"
}
wait_for 10 psql_at "$P_BOUNCER" 'SELECT 1' || die "pgbouncer does not answer"
ok "pgbouncer (transaction pooling) answers"

# ---------------------------------------------------------------- the two instances
primary_url="postgresql://postgres@127.0.0.1:$P_PRIMARY/devsearch"
replica_url="postgresql://postgres@127.0.0.1:$P_REPLICA/devsearch"
bouncer_url="postgresql://postgres@127.0.0.1:$P_BOUNCER/devsearch"
db_env=()
if ((has_prepared)); then
  db_env+=(DATABASE_URL="$bouncer_url" DB_PREPARED_STATEMENTS=off)
  ((has_direct)) && db_env+=(DATABASE_DIRECT_URL="$primary_url")
  log "instances: through pgbouncer"
else
  db_env+=(DATABASE_URL="$primary_url")
  skip "DB_PREPARED_STATEMENTS not read by $devsearch: the instances use the primary directly, not pgbouncer"
fi
if ((has_replica)); then
  db_env+=(DATABASE_REPLICA_URL="$replica_url")
else
  skip "DATABASE_REPLICA_URL not read by $devsearch: no replica reads, its checks are skipped"
fi

THROTTLE=3
mkdir -p "$tmp/media"
server_env=(env -u PGHOST -u PGPORT -u PGDATABASE -u PGUSER -u PGPASSWORD -u PGSERVICE
  "${db_env[@]}" JWT_SECRET="$(head -c 48 /dev/urandom | base64 -w0)" LOG_LEVEL=warn
  "LOGIN_THROTTLE_USERNAME=$THROTTLE" LOGIN_THROTTLE_IP=1000000 ACCESS_TOKEN_LIFETIME=10m
  RATE_LIMIT_ANON=off RATE_LIMIT_USER=off
  HTTP_THREADS=4 DB_POOL_SIZE=5 MEDIA_ROOT="$tmp/media" EMAIL_BACKEND=console
  MIGRATIONS_DIR="$root/sql")

# start_instance NAME PORT: migrate, then serve; its PID in the variable pid_NAME.
pid_a="" # and pid_b: set by start_instance
start_instance() {
  # shellcheck disable=SC2016  # expanded by the inner shell
  "${server_env[@]}" bash -c '"$1" migrate >"$2.migrate.log" 2>&1 || exit 3
    exec "$1" serve --port "$3"' _ "$devsearch" "$tmp/$1" "$2" >"$tmp/$1.log" 2>&1 &
  pids+=($!)
  printf -v "pid_$1" '%s' "$!"
}
log "instances a on $P_A and b on $P_B, both migrating at once"
start_instance a "$P_A"
start_instance b "$P_B"
health() { curl -fsS -m 2 "http://127.0.0.1:$1/api/health"; }
for name in a b; do
  port_var=P_${name^^}
  if wait_for 60 health "${!port_var}"; then
    ok "instance $name migrated and serves"
  else
    show_log "$tmp/$name.migrate.log"
    show_log "$tmp/$name.log"
    die "instance $name did not start"
  fi
done
n_migrations=$(find "$root/sql" -name '*.up.sql' | wc -l)
check "each migration applied once by the two instances together" "$n_migrations" \
  "$(cat "$tmp/a.migrate.log" "$tmp/b.migrate.log" | grep -c 'Applying .* OK')"
check "schema_migrations lists every migration" "$n_migrations" \
  "$(psql_at "$P_PRIMARY" 'SELECT count(*) FROM schema_migrations')"

# ---------------------------------------------------------------- nginx
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
$( (($(id -u) == 0)) && echo 'user root;')
events { worker_connections 512; }
http {
  access_log $tmp/nginx/access.log;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  upstream devsearch {
    server 127.0.0.1:$P_A max_fails=1 fail_timeout=30s;
    server 127.0.0.1:$P_B max_fails=1 fail_timeout=30s;
    keepalive 16;
  }
  server {
    listen 127.0.0.1:$P_NGINX;
    client_max_body_size 6m;
    location / {
      proxy_pass http://devsearch;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_connect_timeout 2s;
      proxy_read_timeout 30s;
      # Passive failover: a request that met a dead or failing instance goes to the
      # other; nginx retries only idempotent methods unless told otherwise.
      proxy_next_upstream error timeout http_502 http_503;
      proxy_next_upstream_tries 2;
    }
  }
}
EOF
"$NGINX" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' >"$tmp/nginx/out.log" 2>&1 &
pids+=($!)
wait_for 10 health "$P_NGINX" || {
  show_log "$tmp/nginx/out.log"
  show_log "$tmp/nginx/error.log"
  die "nginx does not answer"
}
ok "nginx balances the two instances"

# ---------------------------------------------------------------- HTTP helpers
# req PORT METHOD PATH [TOKEN] [JSON]: the body in $body, the status in $status.
body="" status=""
req() {
  local port=$1 method=$2 path=$3 token=${4:-} data=${5:-} out
  # A cookie jar, as a browser has: the primary_lsn cookie of a write comes back
  # with the next reads (read-your-writes when a replica lags).
  local args=(-sS -m 10 -b "$tmp/cookies" -c "$tmp/cookies" -X "$method" -o "$tmp/body"
    -w '%{http_code}')
  [[ -n $token ]] && args+=(-H "Authorization: Bearer $token")
  [[ -n $data ]] && args+=(-H 'Content-Type: application/json' --data "$data")
  out=$(curl "${args[@]}" "http://127.0.0.1:$port$path") || out=000
  status=$out
  body=$(cat "$tmp/body" 2>/dev/null || true)
}
login() { # PORT USER PASSWORD: sets $access and $refresh
  req "$1" POST /api/users/token "" "$(jq -nc --arg u "$2" --arg p "$3" '{username: $u, password: $p}')"
  access=$(jq -r '.access // empty' <<<"$body" 2>/dev/null || true)
  refresh=$(jq -r '.refresh // empty' <<<"$body" 2>/dev/null || true)
}

# ---------------------------------------------------------------- point 1: statelessness
PW="cluster-Pass-9817"
PW2="cluster-Pass-2245"
req "$P_A" POST /api/users/register "" \
  "{\"username\":\"alice\",\"email\":\"alice@example.com\",\"password\":\"$PW\",\"name\":\"Alice\"}"
check "register on a" 201 "$status"
alice_id=$(jq -r '.id' <<<"$body")
login "$P_B" alice "$PW"
check "the new user logs in on b" 200 "$status"
req "$P_A" GET /api/users/me "$access"
check "b's access token works on a" 200 "$status"
req "$P_NGINX" GET /api/users/me "$access"
check "and through nginx" 200 "$status"

# Refresh-token rotation on a: the old refresh token is refused on b.
old_refresh=$refresh
req "$P_A" POST /api/users/token/refresh "" "{\"refresh\":\"$old_refresh\"}"
check "refresh on a" 200 "$status"
new_refresh=$(jq -r '.refresh' <<<"$body")
req "$P_B" POST /api/users/token/refresh "" "{\"refresh\":\"$old_refresh\"}"
check "the rotated-out refresh token is refused on b" 401 "$status"

# Re-using a rotated-out token revokes its whole family (reuse detection), also
# the successor issued on a.
req "$P_A" POST /api/users/token/refresh "" "{\"refresh\":\"$new_refresh\"}"
check "reuse detected on b revokes the family on a" 401 "$status"

# Logout on b: the refresh token is refused on a.
login "$P_A" alice "$PW"
new_refresh=$refresh
req "$P_B" POST /api/users/token/blacklist "" "{\"refresh\":\"$new_refresh\"}"
check "logout on b" 200 "$status"
req "$P_A" POST /api/users/token/refresh "" "{\"refresh\":\"$new_refresh\"}"
check "the logged-out refresh token is refused on a" 401 "$status"

# Password change on a: b refuses the access tokens issued before it.
login "$P_A" alice "$PW"
before=$access
sleep 1 # tokens carry whole seconds: one issued in the same second as the change is not older than it
req "$P_A" POST /api/users/password/change "$before" "{\"old_password\":\"$PW\",\"new_password\":\"$PW2\"}"
check "password change on a" 200 "$status"
req "$P_B" GET /api/users/me "$before"
check "an access token older than the password change is refused on b" 401 "$status"
login "$P_B" alice "$PW2"
check "the new password works on b" 200 "$status"
alice_access=$access

# A write read back at once: through nginx, then on both instances. Reading the
# project anonymously on a first fills a's response cache; the change made on b must
# empty it (LISTEN/NOTIFY through the primary).
req "$P_NGINX" POST /api/projects "$alice_access" '{"title":"Cluster one","description":"x"}'
check "create a project through nginx" 201 "$status"
project_id=$(jq -r '.id' <<<"$body")
req "$P_NGINX" GET "/api/projects/$project_id"
check "the new project is read back through nginx" "200 Cluster one" "$status $(jq -r '.title' <<<"$body")"
req "$P_A" GET "/api/projects/$project_id"
req "$P_A" GET "/api/projects/$project_id"
check "a serves the project" "200 Cluster one" "$status $(jq -r '.title' <<<"$body")"
req "$P_B" PATCH "/api/projects/$project_id" "$alice_access" '{"title":"Cluster two"}'
check "rename it on b" 200 "$status"
sleep 0.5 # the notification is asynchronous
req "$P_A" GET "/api/projects/$project_id"
check "a's cached copy is replaced after b's change" "200 Cluster two" "$status $(jq -r '.title' <<<"$body")"

# Failed logins counted across the instances: THROTTLE failures spread over a and
# b, then the next attempt is refused on either, even with the right password.
for ((i = 0; i < THROTTLE; i++)); do
  port=$P_A
  ((i % 2)) && port=$P_B
  login "$port" alice "wrong-password-$i"
done
check "the last allowed failed login is a 401" 401 "$status"
login "$P_B" alice "$PW2"
check "the next login on b is throttled (failures counted on both)" 429 "$status"
login "$P_A" alice "$PW2"
check "and on a" 429 "$status"

# Deactivation by a staff user on a: the user's access token is refused on b.
DEVSEARCH_PASSWORD="cluster-Admin-5521" "${server_env[@]}" "$devsearch" createsuperuser \
  --username admin --email admin@example.com >"$tmp/createsuperuser.log" 2>&1 ||
  show_log "$tmp/createsuperuser.log"
login "$P_A" admin "cluster-Admin-5521"
admin_access=$access
req "$P_A" PATCH "/api/admin/users/$alice_id" "$admin_access" '{"is_active":false}'
check "deactivate the user on a" 200 "$status"
req "$P_B" GET /api/users/me "$alice_access"
check "the deactivated user's access token is refused on b" 401 "$status"

# ---------------------------------------------------------------- point 2: replicas
if ((has_replica)); then
  # A writer's reads right after its write: served from what it wrote, whichever
  # instance and whichever database nginx picks.
  login "$P_NGINX" admin "cluster-Admin-5521"
  admin_access=$access
  ryw_ok=0
  for ((i = 0; i < 10; i++)); do
    req "$P_NGINX" POST /api/projects "$admin_access" "{\"title\":\"Replica $i\"}"
    id=$(jq -r '.id // empty' <<<"$body")
    req "$P_NGINX" GET "/api/projects/$id" "$admin_access"
    [[ $status == 200 && $(jq -r '.title' <<<"$body") == "Replica $i" ]] && ryw_ok=$((ryw_ok + 1))
  done
  check "a writer reads its own write at once (10 tries)" 10 "$ryw_ok"
  for ((i = 1; i <= 4; i++)); do # anonymous reads, a different page each (not cached)
    req "$P_NGINX" GET "/api/projects?page_size=3&page=$i"
  done
  # The servers set application_name=devsearch: their sessions on the replica show
  # that reads went there (statistics counters lag, sessions do not).
  replica_sessions=$(psql_at "$P_REPLICA" \
    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'devsearch'")
  if ((replica_sessions > 0)); then ok "reads reached the replica ($replica_sessions sessions)"; else
    fail "no server session on the replica"
  fi
fi

# ---------------------------------------------------------------- capacity (optional)
# bench_wrk LABEL PATH: requests/s through nginx, appended to $tmp/bench.txt.
bench_wrk() {
  local rps
  rps=$(wrk -t 2 -c 16 -d "${BENCH}s" "http://127.0.0.1:$P_NGINX$2" 2>&1 |
    sed -n 's/^Requests\/sec: *//p')
  printf '%-40s %s req/s\n' "$1" "$rps" | tee -a "$tmp/bench.txt"
}
if ((BENCH > 0)); then
  log "seeding for the measurements"
  "${server_env[@]}" "$devsearch" seed --profiles 100 >"$tmp/seed.log" 2>&1 || show_log "$tmp/seed.log"
  detail=$(psql_at "$P_PRIMARY" 'SELECT id FROM projects ORDER BY created LIMIT 1')
  bench_wrk "two instances: GET /api/projects" /api/projects
  bench_wrk "two instances: GET /api/projects/{id}" "/api/projects/$detail"
fi

# ---------------------------------------------------------------- point 5: one instance dies
LOAD_SECONDS=6 LOAD_CONNECTIONS=8
log "wrk for ${LOAD_SECONDS}s on nginx; instance a killed after 2s"
wrk -t 2 -c "$LOAD_CONNECTIONS" -d "${LOAD_SECONDS}s" "http://127.0.0.1:$P_NGINX/api/projects" \
  >"$tmp/wrk.txt" 2>&1 &
wrk_pid=$!
pids+=("$wrk_pid")
sleep 2
kill -KILL "$pid_a"
wait "$pid_a" 2>/dev/null || true
wait "$wrk_pid" || true
total=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$tmp/wrk.txt")
non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\)/\1/p' "$tmp/wrk.txt")
sock=$(sed -n 's/^ *Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\)/\1 \2 \3 \4/p' "$tmp/wrk.txt")
errors=${non2xx:-0}
for n in $sock; do errors=$((errors + n)); done
log "wrk: ${total:-?} requests, $errors errors"
if [[ -n $total ]] && ((total > 0 && errors <= LOAD_CONNECTIONS)); then
  ok "killing a under load: $errors failed of $total (at most the $LOAD_CONNECTIONS in flight)"
else
  cat "$tmp/wrk.txt"
  fail "killing a under load: $errors failed of ${total:-0} (at most $LOAD_CONNECTIONS allowed)"
fi
served=0
for ((i = 0; i < 20; i++)); do
  req "$P_NGINX" GET /api/projects
  [[ $status == 200 ]] && served=$((served + 1))
done
check "nginx serves every request from b afterwards" 20 "$served"
req "$P_NGINX" GET "/api/projects/$project_id"
check "b still reads the data" "200 Cluster two" "$status $(jq -r '.title' <<<"$body")"

if ((BENCH > 0)); then
  bench_wrk "one instance: GET /api/projects" /api/projects
  bench_wrk "one instance: GET /api/projects/{id}" "/api/projects/$detail"
  cat "$tmp/bench.txt" >&2
fi

# ---------------------------------------------------------------- the replica stops
if ((has_replica)); then
  as_pg "$bindir/pg_ctl" -D "$tmp/replica" -m immediate -w -t 30 stop >/dev/null 2>&1
  served=0 statuses=""
  for ((i = 0; i < 10; i++)); do
    # Signed in, so not from the response cache: these reads would use the replica.
    req "$P_NGINX" GET "/api/projects?page_size=$((i % 3 + 1))" "$admin_access"
    [[ $status == 200 ]] && served=$((served + 1))
    statuses+=" $status"
    req "$P_NGINX" GET "/api/projects/$project_id" "$admin_access"
    [[ $status == 200 ]] && served=$((served + 1))
    statuses+=" $status"
  done
  [[ $served == 20 ]] || echo "cluster: statuses with the replica stopped:$statuses" >&2
  check "reads still work with the replica stopped" 20 "$served"
else
  skip "replica stop: the binary does not read from a replica yet"
fi
