#!/usr/bin/env bash
# `make bench`: the C server against the Django version (../shared/peer-drf),
# each on its own throwaway PostgreSQL cluster seeded the same way, measured with
# wrk on loopback, endpoint by endpoint, the two servers in turn; then two
# ceilings: a bare libmicrohttpd server answering a constant list page, and
# pgbench running the SQL of one list page. bench/README.md explains the numbers.
#
# Settings (environment): BENCH_ONLY, BENCH_PROFILES, BENCH_DURATION,
# BENCH_WARMUP, BENCH_RUNS, BENCH_VOTERS, BENCH_SEARCH_WORDS, BENCH_QUIET_WAIT,
# BENCH_PEER_DIR, BENCH_PG_FAST, BENCH_KEEP; see bench/README.md. Expects the
# binaries built by the Makefile's bench target (BUILD, default build).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$root"
build_dir=$(realpath -m -- "${BUILD:-build}")

# ---------------------------------------------------------------- settings
DEFAULT_PROFILES=2000 DEFAULT_DURATION=10 DEFAULT_WARMUP=3 DEFAULT_RUNS=2
PROFILES=${BENCH_PROFILES:-$DEFAULT_PROFILES}
DURATION=${BENCH_DURATION:-$DEFAULT_DURATION}
WARMUP=${BENCH_WARMUP:-$DEFAULT_WARMUP}
RUNS=${BENCH_RUNS:-$DEFAULT_RUNS}
VOTERS=${BENCH_VOTERS:-200}
SEARCH_WORDS=${BENCH_SEARCH_WORDS:-python,rust,docker,react,linux,java}
ONLY=${BENCH_ONLY:-}
WRK_THREADS=2
WRK_CONNECTIONS=32
PAGE_SIZE=20                 # both servers' default page size
SEED_PASSWORD="devsearch-demo-pass"
ARGON2_ENV=(ARGON2_TIME_COST=2 ARGON2_MEMORY_COST=19456 ARGON2_PARALLELISM=1)
PROJECT_SAMPLE_PAGES=10      # pages of 100 projects fetched for detail and vote
PGBENCH_MAX_PAGES=100        # pgbench takes at most 128 scripts
QUIET_BUSY_PCT=25            # CPU busy (by others) above which a run waits
ALL_SERVERS=(c django)
ALL_ENDPOINTS=(list pages1_10 pages1_500 detail search me vote token)

declare -A LABEL=([c]=C [django]=Django)
declare -A DESCRIPTION=(
  [list]="GET /api/projects?page=N (N random among the valid pages)"
  [pages1_10]="GET /api/projects?page=N (N random among pages 1 to 10)"
  [pages1_500]="GET /api/projects?page=N (N random among pages 1 to 500, or to the last page if fewer)"
  [detail]="GET /api/projects/{id} (random ids of a sample)"
  [search]="GET /api/profiles?search=W (W random among the search words)"
  [me]="GET /api/users/me (one bearer token)"
  [vote]="POST /api/projects/{id}/vote (many users' tokens, random projects not their own)"
  [token]="POST /api/users/token (logins of the seeded users, in turn)"
)

LOG_NAME=bench
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
whole_number BENCH_PROFILES "$PROFILES" 1 1000000
whole_number BENCH_DURATION "$DURATION" 1 600
whole_number BENCH_WARMUP "$WARMUP" 0 600
whole_number BENCH_RUNS "$RUNS" 1 10
whole_number BENCH_VOTERS "$VOTERS" 2 10000
quiet_budget=${BENCH_QUIET_WAIT:-120}
whole_number BENCH_QUIET_WAIT "$quiet_budget" 0 3600
[[ $SEARCH_WORDS =~ ^[A-Za-z]+(,[A-Za-z]+)*$ ]] ||
  die "BENCH_SEARCH_WORDS: expected words of letters, comma-separated, got \"$SEARCH_WORDS\""

# BENCH_ONLY: servers (c, django), endpoints and "ceiling", comma-separated.
servers=() endpoints=() want_ceiling=0
for word in ${ONLY//,/ }; do
  case $word in
    c | django) servers+=("$word") ;;
    list | pages1_10 | pages1_500 | detail | search | me | vote | token) endpoints+=("$word") ;;
    ceiling) want_ceiling=1 ;;
    *) die "BENCH_ONLY: unknown word \"$word\" (known: c django ${ALL_ENDPOINTS[*]} ceiling)" ;;
  esac
done
((${#servers[@]})) || servers=("${ALL_SERVERS[@]}")
if ((${#endpoints[@]} == 0 && want_ceiling == 0)); then
  endpoints=("${ALL_ENDPOINTS[@]}")
  want_ceiling=1
fi
# Keep the canonical order whatever the order of BENCH_ONLY.
ordered() { # WANTED... -- ALL...
  local -a want=() all=()
  while [[ $1 != -- ]]; do want+=("$1") && shift; done
  shift
  all=("$@")
  local a w
  for a in "${all[@]}"; do
    for w in "${want[@]}"; do [[ $a == "$w" ]] && printf '%s\n' "$a" && break; done
  done
}
mapfile -t servers < <(ordered "${servers[@]}" -- "${ALL_SERVERS[@]}")
if ((${#endpoints[@]})); then
  mapfile -t endpoints < <(ordered "${endpoints[@]}" -- "${ALL_ENDPOINTS[@]}")
fi
has_server() { [[ " ${servers[*]} " == *" $1 "* ]]; }
if ((want_ceiling)) && ! has_server c; then
  log "the ceilings need the C server (its list page, its database): skipped"
  want_ceiling=0
fi

# A full run is committed under bench/results/; anything narrower or shorter is
# a partial run and goes to bench/results/partial/ (not committed).
full=0
if [[ -z $ONLY && $DURATION == "$DEFAULT_DURATION" && $WARMUP == "$DEFAULT_WARMUP" &&
  $RUNS == "$DEFAULT_RUNS" ]]; then
  full=1
fi

# ---------------------------------------------------------------- tools
peer_dir=${BENCH_PEER_DIR:-}
if [[ -z $peer_dir ]]; then
  for d in "$root/../shared/peer-drf" "$root/../../shared/peer-drf"; do
    [[ -f $d/start.sh ]] && peer_dir=$(cd "$d" && pwd -P) && break
  done
fi
if has_server django; then
  [[ -n $peer_dir && -f $peer_dir/start.sh && -f $peer_dir/manage.py ]] ||
    die "the Django version was not found (../shared/peer-drf); set BENCH_PEER_DIR"
  /usr/bin/python3 -c 'import django, rest_framework, rest_framework_simplejwt, gunicorn' 2>/dev/null ||
    die "the Django version's packages are missing: run scripts/bench-deps.sh"
fi
for tool in wrk jq curl shuf perl pgrep; do
  command -v "$tool" >/dev/null || die "$tool not found: run scripts/bench-deps.sh"
done
pg_bindir=""
for d in /usr/lib/postgresql/*/bin; do
  [[ -x $d/pgbench ]] || continue
  if [[ -z $pg_bindir ]] || [[ $(printf '%s\n%s\n' "$pg_bindir" "$d" | sort -V | tail -n1) == "$d" ]]; then
    pg_bindir=$d
  fi
done
[[ -n $pg_bindir ]] || die "pgbench not found under /usr/lib/postgresql/*/bin: run scripts/bench-deps.sh"
devsearch=$build_dir/devsearch
ceiling_bin=$build_dir/bench/ceiling_http
list_sql_bin=$build_dir/bench/list_sql
argon2_bin=$build_dir/bench/argon2_ceiling
for bin in "$devsearch" "$ceiling_bin" "$list_sql_bin" "$argon2_bin"; do
  [[ -x $bin ]] || die "$bin not found: run make bench (it builds it)"
done

# ---------------------------------------------------------------- clean-up
tmp=$(mktemp -d "${TMPDIR:-/tmp}/devsearch-bench.XXXXXX")
chmod 755 "$tmp" # the clusters run as postgres when we are root
declare -A pid=()  # server name -> PID (c, django, ceiling)
bg_pids=()         # other background jobs (seeding, logins)

# Stop one process we started: TERM, up to 20 s, then KILL (with its children).
stop_pid_tree() { # PID: TERM, up to 20 s, then KILL with its children
  local p=$1 i children
  kill -0 "$p" 2>/dev/null || return 0
  children=$(pgrep -P "$p" 2>/dev/null || true)
  kill -TERM "$p" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$p" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$p" 2>/dev/null; then
    log "process $p did not stop within 20 s: killing it"
    # shellcheck disable=SC2086  # a list of PIDs
    kill -KILL "$p" $children 2>/dev/null || true
  fi
  wait "$p" 2>/dev/null || true
}

# shellcheck disable=SC2317  # invoked via trap
cleanup() {
  local rc=$? name p
  trap - EXIT INT TERM
  for p in "${bg_pids[@]}"; do stop_pid_tree "$p"; done
  for name in ceiling c django; do
    [[ -n ${pid[$name]:-} ]] && stop_pid_tree "${pid[$name]}"
  done
  "$root/scripts/pg.sh" stop "$tmp/pg-c" >/dev/null 2>&1 || true
  "$root/scripts/pg.sh" stop "$tmp/pg-d" >/dev/null 2>&1 || true
  keep_or_remove "$tmp" "${BENCH_KEEP:-}" "logs, wrk output, pgbench scripts"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$tmp/logs" "$tmp/wrk" "$tmp/runs" "$tmp/data/c" "$tmp/data/django" "$tmp/ceiling"

# Anything else running on the machine skews every number: say so.
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
if awk -v l="${load_before%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
  log "warning: load average $load_before on $(nproc) cores before starting: results will be noisy"
fi

# The last lines of a log, to explain a failure.
show_log() { # FILE [LINES]
  echo "--- ${1#"$tmp/"} (last ${2:-40} lines) ---" >&2
  tail -n "${2:-40}" "$1" >&2 2>/dev/null || true
  echo "---" >&2
}

# A free port on 127.0.0.1 into $port (not in a subshell: used_port must persist),
# below the ephemeral range, where wrk's own connections would collide with it.
declare -A used_port=()
read -r ephemeral_low _ </proc/sys/net/ipv4/ip_local_port_range || ephemeral_low=32768
port_low=10000 port_span=$((ephemeral_low > 12000 ? ephemeral_low - 10000 : 20000))
free_port() {
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((port_low + RANDOM % port_span))
    [[ -n ${used_port[$p]:-} ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      used_port[$p]=1
      port=$p
      return 0
    fi
  done
  die "no free TCP port found on 127.0.0.1"
}

# ---------------------------------------------------------------- clusters and seeds
JWT_SECRET=$(head -c 48 /dev/urandom | base64 -w0)
export PG_FAST=${BENCH_PG_FAST:-0}
declare -A base=() db_url=() seed_line=() server_log=()

c_env=() django_env=() # env(1) command lines: the environment of every command
if has_server c; then
  db_url[c]=$("$root/scripts/pg.sh" start "$tmp/pg-c" devsearch) || die "cannot start the C server's cluster"
  c_env=(env -u PGHOST -u PGPORT -u PGDATABASE -u PGUSER -u PGPASSWORD -u PGSERVICE
    DATABASE_URL="${db_url[c]}" JWT_SECRET="$JWT_SECRET" LOG_LEVEL=warn
    "${ARGON2_ENV[@]}" LOGIN_THROTTLE_USERNAME=1000000 LOGIN_THROTTLE_IP=1000000
    RATE_LIMIT_ANON=off RATE_LIMIT_USER=off ACCESS_TOKEN_LIFETIME=2h MEDIA_ROOT="$tmp/media-c")
fi
if has_server django; then
  "$root/scripts/pg.sh" start "$tmp/pg-d" devsearch_peer >/dev/null || die "cannot start the Django version's cluster"
  django_env=(env -u DATABASE_URL -u PGPORT -u PGPASSWORD -u PGSERVICE -u ACCESS_LOG
    -u DJANGO_DEBUG PGHOST="$tmp/pg-d/run" PGDATABASE=devsearch_peer PGUSER=postgres
    JWT_SECRET="$JWT_SECRET" "${ARGON2_ENV[@]}" ACCESS_TOKEN_LIFETIME=2h
    MEDIA_ROOT="$tmp/media-d" PYTHONDONTWRITEBYTECODE=1
    DJANGO_SETTINGS_MODULE=devsearch_peer.settings)
fi

seed_timeout=$((300 + PROFILES / 10))
declare -A seed_pid=()
for s in "${servers[@]}"; do
  log "${LABEL[$s]}: migrate and seed --profiles $PROFILES (both servers at once)"
  if [[ $s == c ]]; then
    ("${c_env[@]}" timeout "$seed_timeout" "$devsearch" migrate &&
      "${c_env[@]}" timeout "$seed_timeout" "$devsearch" seed --profiles "$PROFILES") \
      >"$tmp/logs/seed-c.log" 2>&1 &
  else
    (cd "$peer_dir" &&
      "${django_env[@]}" timeout "$seed_timeout" /usr/bin/python3 manage.py migrate --noinput &&
      "${django_env[@]}" timeout "$seed_timeout" /usr/bin/python3 manage.py seed --profiles "$PROFILES") \
      >"$tmp/logs/seed-django.log" 2>&1 &
  fi
  seed_pid[$s]=$!
  bg_pids+=("$!")
done
for s in "${servers[@]}"; do
  if ! wait "${seed_pid[$s]}"; then
    show_log "$tmp/logs/seed-$s.log"
    die "${LABEL[$s]}: migrate or seed failed (or took more than $seed_timeout s)"
  fi
  seed_line[$s]=$(grep -i 'seeded' "$tmp/logs/seed-$s.log" | tail -n1 || true)
  log "${LABEL[$s]}: ${seed_line[$s]}"
done
bg_pids=()

# Settle both databases before measuring: statistics and visibility maps now,
# and the seed's dirty pages written, rather than autovacuum and a checkpoint
# landing in the middle of some run.
for s in "${servers[@]}"; do
  if [[ $s == c ]]; then
    conn=(-h "$tmp/pg-c/run" -d devsearch)
  else
    conn=(-h "$tmp/pg-d/run" -d devsearch_peer)
  fi
  for stmt in "VACUUM ANALYZE" "CHECKPOINT"; do
    timeout 600 "$pg_bindir/psql" -X -q -U postgres "${conn[@]}" -c "$stmt" >>"$tmp/logs/settle-$s.log" 2>&1 ||
      { show_log "$tmp/logs/settle-$s.log"; die "${LABEL[$s]}: $stmt failed"; }
  done
done

# ---------------------------------------------------------------- servers
# Poll /api/health until it answers 200: at most TIMEOUT seconds, and only while
# the process lives.
wait_http() { # NAME URL PID LOG TIMEOUT
  local name=$1 url=$2 p=$3 logf=$4 i
  for ((i = 0; i < $5 * 5; i++)); do
    if ! kill -0 "$p" 2>/dev/null; then
      show_log "$logf"
      die "$name exited before answering $url"
    fi
    curl -sf -o /dev/null --max-time 2 "$url" && return 0
    sleep 0.2
  done
  show_log "$logf"
  die "$name did not answer $url within $5 s"
}

# Every PID of a server (gunicorn: the master and its workers).
server_pids() { # NAME
  local p=${pid[$1]}
  printf '%s\n' "$p"
  if [[ $1 == django ]]; then pgrep -P "$p" || true; fi
}

# Peak resident memory: reset VmHWM (clear_refs 5, Linux >= 4.0) before a run,
# read it after. Without the reset, the peak since start is reported.
hwm_reset=1
reset_peak() { # NAME
  local p
  for p in $(server_pids "$1"); do
    echo 5 2>/dev/null >"/proc/$p/clear_refs" || hwm_reset=0
  done
}
peak_kb() { # NAME: the sum of VmHWM over the server's processes
  local p total=0 kb
  for p in $(server_pids "$1"); do
    kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
    total=$((total + ${kb:-0}))
  done
  echo "$total"
}
rss_kb() { # NAME: the sum of VmRSS now
  local p total=0 kb
  for p in $(server_pids "$1"); do
    kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
    total=$((total + ${kb:-0}))
  done
  echo "$total"
}

for s in "${servers[@]}"; do
  free_port
  base[$s]=http://127.0.0.1:$port
  server_log[$s]=$tmp/logs/server-$s.log
  # exec: the PID of the subshell is the server's (gunicorn's master for Django).
  if [[ $s == c ]]; then
    (cd "$tmp" && exec "${c_env[@]}" PORT="$port" "$devsearch" serve) >"${server_log[c]}" 2>&1 &
  else
    (cd "$tmp" && exec "${django_env[@]}" PORT="$port" "$peer_dir/start.sh") >"${server_log[django]}" 2>&1 &
  fi
  pid[$s]=$!
  wait_http "${LABEL[$s]}" "${base[$s]}/api/health" "${pid[$s]}" "${server_log[$s]}" 90
  log "${LABEL[$s]}: serving on ${base[$s]} (PID ${pid[$s]})"
done

# ---------------------------------------------------------------- data for the scripts
get_json() { # URL OUT: GET, must be 200 with JSON
  local code
  code=$(curl -s -o "$2" -w '%{http_code}' --max-time 60 "$1") || code=000
  if [[ $code != 200 ]] || ! jq -e . "$2" >/dev/null 2>&1; then
    head -c 500 "$2" >&2 2>/dev/null || true
    die "GET $1 answered $code, expected 200 with JSON"
  fi
}

declare -A pages=() projects_count=() idle_rss=()
prepare() { # NAME
  local s=$1 b=${base[$1]} dir=$tmp/data/$1 n p100 page want got
  get_json "$b/api/projects?page_size=1" "$dir/count.json"
  n=$(jq .count "$dir/count.json")
  ((n > 0)) || die "${LABEL[$s]}: no projects after seeding"
  projects_count[$s]=$n
  pages[$s]=$(((n + PAGE_SIZE - 1) / PAGE_SIZE))

  # Projects for detail and vote: a few random pages of 100 ("id owner_profile_id").
  p100=$(((n + 99) / 100))
  : >"$dir/projects.txt"
  for page in $(shuf -i "1-$p100" -n "$((p100 < PROJECT_SAMPLE_PAGES ? p100 : PROJECT_SAMPLE_PAGES))"); do
    get_json "$b/api/projects?page_size=100&page=$page" "$dir/page.json"
    jq -r '.results[] | "\(.id) \(.owner.id // "-")"' "$dir/page.json" >>"$dir/projects.txt"
  done

  # Voters and logins: the first VOTERS profiles ("username profile_id").
  : >"$dir/users.txt"
  for ((page = 1; page <= (VOTERS + 99) / 100; page++)); do
    get_json "$b/api/profiles?page_size=100&page=$page" "$dir/page.json"
    jq -r '.results[] | "\(.username) \(.id)"' "$dir/page.json" >>"$dir/users.txt"
    [[ $(jq -r '.next // empty' "$dir/page.json") ]] || break
  done
  head -n "$VOTERS" "$dir/users.txt" >"$dir/users.tmp" && mv "$dir/users.tmp" "$dir/users.txt"
  want=$(wc -l <"$dir/users.txt")
  ((want >= 2)) || die "${LABEL[$s]}: fewer than 2 profiles listed"

  # One login per voter, 4 at a time ("access_token profile_id").
  # shellcheck disable=SC2016  # expanded by the inner bash
  BASE=$b PASSWORD=$SEED_PASSWORD xargs -P 4 -L 1 bash -c '
    body="{\"username\": \"$0\", \"password\": \"$PASSWORD\"}"
    t=$(curl -s --max-time 60 -H "Content-Type: application/json" -d "$body" \
      "$BASE/api/users/token" | jq -r ".access // empty" 2>/dev/null) || exit 0
    [[ -n $t ]] && printf "%s %s\n" "$t" "$1"
    exit 0' <"$dir/users.txt" >"$dir/tokens.txt" &
  bg_pids+=("$!")
  wait "$!" || true
  bg_pids=()
  got=$(wc -l <"$dir/tokens.txt")
  if ((got * 10 < want * 9)); then
    show_log "${server_log[$s]}"
    die "${LABEL[$s]}: only $got of $want seeded users could log in with \"$SEED_PASSWORD\""
  fi
  log "${LABEL[$s]}: $n projects ($((pages[$s])) pages), $(wc -l <"$dir/projects.txt") sampled, $got tokens"
}

# One request per endpoint as the scripts send it: 200 expected, else stop here
# rather than measure errors.
smoke() { # NAME
  local s=$1 b=${base[$1]} dir=$tmp/data/$1 token voter project owner code auth
  read -r token voter < <(head -n1 "$dir/tokens.txt")
  while read -r project owner; do [[ $owner != "$voter" ]] && break; done <"$dir/projects.txt"
  auth="Authorization: Bearer $token"
  local -a checks=(
    "list|GET|/api/projects?page=$((pages[$s]))|"
    "detail|GET|/api/projects/$project|"
    "search|GET|/api/profiles?search=${SEARCH_WORDS%%,*}|"
    "me|GET|/api/users/me|$auth"
    "vote|POST|/api/projects/$project/vote|$auth"
    "token|POST|/api/users/token|"
  )
  local c ep method path header body
  for c in "${checks[@]}"; do
    IFS='|' read -r ep method path header <<<"$c"
    [[ " ${endpoints[*]} " == *" $ep "* ]] || continue
    body=""
    [[ $ep == vote ]] && body='{"value": "up", "body": "smoke"}'
    [[ $ep == token ]] && body="{\"username\": \"$(head -n1 "$dir/users.txt" | cut -d' ' -f1)\", \"password\": \"$SEED_PASSWORD\"}"
    local -a args=(-s -o "$dir/smoke.out" -w '%{http_code}' --max-time 60 -X "$method")
    [[ -n $header ]] && args+=(-H "$header")
    [[ -n $body ]] && args+=(-H "Content-Type: application/json" -d "$body")
    code=$(curl "${args[@]}" "$b$path") || code=000
    if [[ $code != 200 ]]; then
      head -c 500 "$dir/smoke.out" >&2 || true
      echo >&2
      show_log "${server_log[$s]}" 20
      die "${LABEL[$s]}: $method $path answered $code, expected 200"
    fi
  done
}

declare -A search_counts=()
for s in "${servers[@]}"; do
  prepare "$s"
  smoke "$s"
  counts="{}"
  for w in ${SEARCH_WORDS//,/ }; do
    get_json "${base[$s]}/api/profiles?search=$w&page_size=1" "$tmp/data/$s/search.json"
    counts=$(jq -c --arg w "$w" --argjson n "$(jq .count "$tmp/data/$s/search.json")" '. + {($w): $n}' <<<"$counts")
  done
  search_counts[$s]=$counts
  jq -e 'all(.[]; . > 0)' <<<"$counts" >/dev/null ||
    log "warning: ${LABEL[$s]}: a search word matches no profile: $counts"
  idle_rss[$s]=$(rss_kb "$s")
done

# ---------------------------------------------------------------- wrk
export BENCH_LUA_DIR=$root/bench/lua

lua_of() { # ENDPOINT: its script in bench/lua (the page ranges are list.lua's)
  case $1 in
    pages*) echo list ;;
    *) echo "$1" ;;
  esac
}

script_args() { # ENDPOINT NAME: the Lua script's arguments
  local dir=$tmp/data/$2
  case $1 in
    list) echo "${pages[$2]}" ;;
    pages1_10) echo $((pages[$2] < 10 ? pages[$2] : 10)) ;;
    pages1_500) echo $((pages[$2] < 500 ? pages[$2] : 500)) ;;
    detail) echo "$dir/projects.txt" ;;
    search) echo "$SEARCH_WORDS" ;;
    me) echo "$dir/tokens.txt" ;;
    vote) echo "$dir/tokens.txt $dir/projects.txt" ;;
    token) echo "$dir/users.txt $SEED_PASSWORD" ;;
  esac
}

# wrk for SECONDS; its report.lua line (JSON) on stdout, everything in OUT.
run_wrk() { # URL LUA SECONDS OUT ARGS...
  local url=$1 lua=$2 secs=$3 out=$4
  shift 4
  if ! timeout $((secs + 60)) wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"${secs}s" \
    --timeout 10s --latency -s "$root/bench/lua/$lua.lua" "$url" -- "$@" >"$out" 2>&1; then
    cat "$out" >&2
    die "wrk failed (or did not finish within $((secs + 60)) s): $url ($lua.lua)"
  fi
  local line
  line=$(sed -n 's/^BENCH_JSON //p' "$out" | tail -n1)
  if [[ -z $line ]] || ! jq -e . >/dev/null 2>&1 <<<"$line"; then
    cat "$out" >&2
    die "no report in wrk's output ($lua.lua)"
  fi
  printf '%s\n' "$line"
}

# CPU busy (all cores, percent) over one second, from /proc/stat. Between runs
# our servers are idle, so this is what the rest of the machine is doing.
cpu_busy() {
  local a b
  read -r -a a </proc/stat
  sleep 1
  read -r -a b </proc/stat
  local total=0 idle i
  for ((i = 1; i <= 8; i++)); do total=$((total + b[i] - a[i])); done
  idle=$((b[4] - a[4] + b[5] - a[5]))
  echo $((total > 0 ? 100 * (total - idle) / total : 0))
}

# Before a measured run: wait while the machine is busy with something else,
# at most BENCH_QUIET_WAIT seconds over the whole benchmark; $busy is the last
# sample (recorded with the run).
wait_quiet() {
  busy=$(cpu_busy)
  if ((busy > QUIET_BUSY_PCT && quiet_budget > 0)); then
    log "the machine is $busy % busy: waiting for it to calm down (at most $quiet_budget s left)"
    while ((busy > QUIET_BUSY_PCT && quiet_budget > 0)); do
      busy=$(cpu_busy)
      quiet_budget=$((quiet_budget - 1))
    done
  fi
}

alive_or_die() { # NAME
  kill -0 "${pid[$1]}" 2>/dev/null && return 0
  show_log "${server_log[$1]}"
  die "${LABEL[$1]} exited during the benchmark"
}

# One measured run of one endpoint on one server; the result in runs/.
measure() { # ENDPOINT NAME RUN
  local ep=$1 s=$2 run=$3 out=$tmp/wrk/$1.$2.$3 json peak busy
  wait_quiet
  # shellcheck disable=SC2046  # the arguments are words without spaces
  if ((WARMUP > 0)); then
    run_wrk "${base[$s]}" "$(lua_of "$ep")" "$WARMUP" "$out.warmup.txt" $(script_args "$ep" "$s") >/dev/null
  fi
  alive_or_die "$s"
  reset_peak "$s"
  # shellcheck disable=SC2046
  json=$(run_wrk "${base[$s]}" "$(lua_of "$ep")" "$DURATION" "$out.txt" $(script_args "$ep" "$s"))
  peak=$(peak_kb "$s")
  alive_or_die "$s"
  jq -c --arg ep "$ep" --arg s "$s" --argjson run "$run" --argjson peak "$peak" \
    --argjson busy "$busy" '
    {endpoint: $ep, server: $s, run: $run, cpu_busy_before_pct: $busy, wrk: .,
     rps: (.requests / .duration_us * 1e6),
     p50_ms: (.latency_us.p50 / 1000), p99_ms: (.latency_us.p99 / 1000),
     errors: (.errors.connect + .errors.read + .errors.write + .errors.timeout),
     status_errors: .errors.status,
     bytes_per_response: (if .requests > 0 then .bytes / .requests else 0 end),
     peak_rss_kb: $peak}' <<<"$json" >"$tmp/runs/$ep.$s.$run.json"
  jq -r --arg who "${LABEL[$s]}" '"\(.endpoint) \($who) run \(.run): \(.rps * 10 | round / 10) req/s, p50 \(.p50_ms * 10 | round / 10) ms, p99 \(.p99_ms * 10 | round / 10) ms, \(.errors) errors, \(.status_errors) 4xx/5xx, peak \(.peak_rss_kb / 1024 * 10 | round / 10) MiB"' \
    "$tmp/runs/$ep.$s.$run.json" | while IFS= read -r line; do log "$line"; done
}

# ---------------------------------------------------------------- ceilings
# Run right after the list endpoint (or before any endpoint when it is not
# measured): the votes and logins that follow add rows, and the ceilings must see
# the data the list requests saw.
# pgbench_best FILE WHAT N DESCRIPTION: run the script with wrk's connection
# count and with the C server's pool size (on a small machine 32 backends mostly
# contend, so the ceiling is the better of the two), BENCH_RUNS times each;
# prints the best run and every run as JSON.
pgbench_best() {
  local file=$1 what=$2 n=$3 description=$4 clients run jobs out tps lat failed pool runs="[]"
  pool=${DB_POOL_SIZE:-$((${HTTP_THREADS:-$((2 * $(nproc)))} + 1))}
  for clients in "$WRK_CONNECTIONS" "$pool"; do
    for ((run = 1; run <= RUNS; run++)); do
      jobs=$((clients < WRK_THREADS ? clients : WRK_THREADS))
      out=$tmp/ceiling/pgbench-$what-c$clients.$run.txt
      local cmd=("$pg_bindir/pgbench" -n -h "$tmp/pg-c/run" -U postgres -c "$clients"
        -j "$jobs" -M prepared -f "$file")
      wait_quiet
      if ((WARMUP > 0)); then
        timeout $((WARMUP + 60)) "${cmd[@]}" -T "$WARMUP" devsearch >"$out" 2>&1 ||
          { cat "$out" >&2; die "pgbench failed"; }
      fi
      timeout $((DURATION + 60)) "${cmd[@]}" -T "$DURATION" devsearch >"$out" 2>&1 ||
        { cat "$out" >&2; die "pgbench failed"; }
      tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$out")
      lat=$(sed -n 's/^latency average = \([0-9.]*\) ms$/\1/p' "$out" | head -n1)
      failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out")
      [[ -n $tps ]] || { cat "$out" >&2; die "no tps in pgbench's output"; }
      runs=$(jq -c --argjson tps "$tps" --argjson lat "${lat:-null}" --argjson failed "${failed:-0}" \
        --argjson clients "$clients" --argjson jobs "$jobs" --argjson run "$run" --argjson busy "$busy" \
        '. + [{clients: $clients, jobs: $jobs, run: $run, cpu_busy_before_pct: $busy, tps: $tps,
               latency_avg_ms: $lat, failed_transactions: $failed}]' <<<"$runs")
      log "database ceiling ($what) run $run: $(printf '%.1f' "$tps")/s (pgbench -c $clients -j $jobs, $n samples)" >&2
    done
    [[ $clients == "$WRK_CONNECTIONS" && $pool == "$WRK_CONNECTIONS" ]] && break
  done
  jq -c --argjson n "$n" --arg description "$description" '
    (max_by(.tps)) as $best
    | {tps: $best.tps, clients: $best.clients, failed_transactions: (map(.failed_transactions) | add),
       samples: $n, mode: "prepared", statements_per_transaction: $description, runs: .}' <<<"$runs"
}

ceiling_json=null
run_ceilings() {
  local page body_bytes threads http_json http_peak list_stmt npages ids f db_json
  local -a sql=()
  # (a) HTTP: libmicrohttpd alone, answering a real list page's bytes.
  page=$(((pages[c] + 1) / 2))
  curl -sf --max-time 60 -o "$tmp/ceiling/page.json" "${base[c]}/api/projects?page=$page" ||
    die "cannot fetch list page $page from the C server"
  body_bytes=$(stat -c %s "$tmp/ceiling/page.json")
  threads=${HTTP_THREADS:-$((2 * $(nproc)))}
  free_port
  server_log[ceiling]=$tmp/logs/ceiling-http.log
  "$ceiling_bin" "$port" "$tmp/ceiling/page.json" "$threads" >"${server_log[ceiling]}" 2>&1 &
  pid[ceiling]=$!
  wait_http "ceiling_http" "http://127.0.0.1:$port/" "${pid[ceiling]}" "${server_log[ceiling]}" 30
  log "HTTP ceiling: $body_bytes bytes (list page $page of the C server), $threads threads"
  # RUNS runs, the best kept, as for the endpoints.
  local http_runs="[]" run one
  for ((run = 1; run <= RUNS; run++)); do
    wait_quiet
    if ((WARMUP > 0)); then
      run_wrk "http://127.0.0.1:$port/api/projects?page=$page" static "$WARMUP" "$tmp/wrk/ceiling.warmup.txt" >/dev/null
    fi
    reset_peak ceiling
    one=$(run_wrk "http://127.0.0.1:$port/api/projects?page=$page" static "$DURATION" "$tmp/wrk/ceiling.$run.txt")
    http_peak=$(peak_kb ceiling)
    one=$(jq -c --argjson run "$run" --argjson peak "$http_peak" --argjson busy "$busy" '
      {run: $run, cpu_busy_before_pct: $busy, wrk: .,
       bytes_per_response: (if .requests > 0 then .bytes / .requests else 0 end),
       rps: (.requests / .duration_us * 1e6), p50_ms: (.latency_us.p50 / 1000),
       p99_ms: (.latency_us.p99 / 1000),
       errors: (.errors.connect + .errors.read + .errors.write + .errors.timeout),
       status_errors: .errors.status, peak_rss_kb: $peak}' <<<"$one")
    http_runs=$(jq -c --argjson one "$one" '. + [$one]' <<<"$http_runs")
    log "HTTP ceiling run $run: $(jq -r '.rps | round' <<<"$one") req/s"
  done
  stop_pid_tree "${pid[ceiling]}"
  unset 'pid[ceiling]'
  http_json=$(jq -c --argjson bytes "$body_bytes" --argjson threads "$threads" '
    max_by(.rps) as $best
    | {body_bytes: $bytes, threads: $threads, rps: $best.rps, p50_ms: $best.p50_ms,
       p99_ms: $best.p99_ms, best_run: $best.run, bytes_per_response: $best.bytes_per_response,
       errors: (map(.errors) | add), status_errors: (map(.status_errors) | add),
       peak_rss_kb: (map(.peak_rss_kb) | max), runs: .}' <<<"$http_runs")

  # (b) Database: pgbench runs what one list request runs (bench/list_sql prints
  # it from models/project.c): the page, then its tags and its reviews by the
  # page's ids, limit, offset and ids as parameters, as the server sends them.
  # Each transaction first picks a random sampled page and its ids from two
  # constant arrays (one trivial statement, \gset); one script for every page
  # would instead prepare every statement once per page, and the database would
  # plan them again and again where the server's stay prepared.
  mapfile -t sql < <("$list_sql_bin")
  ((${#sql[@]} == 4)) || die "bench/list_sql printed ${#sql[@]} statements, expected 4"
  # pgbench takes every ":name" as a variable, also inside quotes: write the
  # colons of string literals as \072 in an E'' literal (the same string).
  escape_colons() {
    perl -pe 's{(?<![A-Za-z0-9_])'"'"'([^'"'"']*:[^'"'"']*)'"'"'}{my $s = $1; $s =~ s/\\/\\\\/g; $s =~ s/:/\\072/g; "E'"'"'$s'"'"'"}ge'
  }
  npages=$((pages[c] < PGBENCH_MAX_PAGES ? pages[c] : PGBENCH_MAX_PAGES))
  local id_arrays="" offsets=""
  for page in $(shuf -i "1-${pages[c]}" -n "$npages"); do
    get_json "${base[c]}/api/projects?page=$page" "$tmp/ceiling/list.json"
    ids=$(jq -r '"{" + ([.results[].id] | join(",")) + "}"' "$tmp/ceiling/list.json")
    id_arrays+="${id_arrays:+,}'$ids'"
    offsets+="${offsets:+,}$(((page - 1) * PAGE_SIZE))"
  done
  list_stmt=${sql[0]//\$1/:limit}
  list_stmt=${list_stmt//\$2/:off}
  f=$tmp/ceiling/list-page.sql
  {
    echo "\\set i random(1, $npages)"
    echo "\\set limit $PAGE_SIZE"
    echo "SELECT (ARRAY[$id_arrays])[:i] AS ids, (ARRAY[$offsets])[:i] AS off \\gset"
    echo "$list_stmt;"
    # As the server sends them: the tags and the reviews in one pipeline.
    printf '%s\n' '\startpipeline'
    echo "${sql[1]//\$1/:ids};"
    echo "${sql[2]//\$1/:ids};"
    printf '%s\n' '\endpipeline'
  } | escape_colons >"$f"
  db_json=$(pgbench_best "$f" list "$npages" "the list request's 3 (the last 2 in one pipeline), after 1 that picks the page")

  # (b') The same for one project's detail: its row, tags and reviews in one
  # pipeline, for a random one of (up to) 100 sampled projects.
  local detail_ids="" ndetail
  while read -r project _; do
    detail_ids+="${detail_ids:+,}'{$project}'"
  done < <(shuf -n 100 "$tmp/data/c/projects.txt")
  ndetail=$(grep -o "'{" <<<"$detail_ids" | wc -l)
  f=$tmp/ceiling/detail.sql
  {
    echo "\\set i random(1, $ndetail)"
    echo "SELECT (ARRAY[$detail_ids])[:i] AS ids \\gset"
    printf '%s\n' '\startpipeline'
    echo "${sql[3]//\$1/:ids};"
    echo "${sql[1]//\$1/:ids};"
    echo "${sql[2]//\$1/:ids};"
    printf '%s\n' '\endpipeline'
  } | escape_colons >"$f"
  detail_db_json=$(pgbench_best "$f" detail "$ndetail" "the detail request's 3 in one pipeline, after 1 that picks the project")

  # (c) Logins: argon2id alone, with the servers' costs, one thread per core
  # (bench/argon2_ceiling). Each login on either server is one such hash.
  wait_quiet
  argon2_json=$(env "${ARGON2_ENV[@]}" "$argon2_bin" "$DURATION" "$(nproc)") ||
    die "bench/argon2_ceiling failed"
  log "login ceiling: $(jq -r '.hashes_per_s' <<<"$argon2_json") argon2id hashes/s ($(jq -r '.ms_per_hash' <<<"$argon2_json") ms each, $(nproc) threads)"
  ceiling_json=$(jq -cn --argjson http "$http_json" --argjson db "$db_json" --argjson argon2 "$argon2_json" \
    --argjson detail_db "$detail_db_json" '{http: $http, database: $db, database_detail: $detail_db, argon2: $argon2}')
}

started=$SECONDS
ceilings_done=0
if ((want_ceiling)) && [[ " ${endpoints[*]} " != *" list "* ]]; then
  run_ceilings
  ceilings_done=1
fi
for ep in "${endpoints[@]}"; do
  for ((run = 1; run <= RUNS; run++)); do
    for s in "${servers[@]}"; do
      measure "$ep" "$s" "$run"
    done
  done
  if [[ $ep == list ]] && ((want_ceiling && !ceilings_done)); then
    run_ceilings
    ceilings_done=1
  fi
done
log "measured in $((SECONDS - started)) s"

# ---------------------------------------------------------------- results
server_errors() { # NAME: error lines in the server's log
  case $1 in
    c) grep -c ' ERROR ' "${server_log[c]}" || true ;;
    django) grep -c -E '\[ERROR\]|Traceback|Internal Server Error' "${server_log[django]}" || true ;;
  esac
}
servers_json="{}"
for s in "${servers[@]}"; do
  if [[ $s == c ]]; then
    workers="HTTP_THREADS=${HTTP_THREADS:-default ($((2 * $(nproc))))}, DB_POOL_SIZE=${DB_POOL_SIZE:-default}"
  else
    workers="gunicorn sync workers: ${WORKERS:-5}"
  fi
  servers_json=$(jq -c --arg s "$s" --arg who "${LABEL[$s]}" --arg seed "${seed_line[$s]}" \
    --argjson projects "${projects_count[$s]}" --argjson pages "${pages[$s]}" \
    --argjson searches "${search_counts[$s]}" --argjson idle "${idle_rss[$s]}" \
    --arg workers "$workers" --argjson log_errors "$(server_errors "$s")" \
    '. + {($s): {label: $who, seed: $seed, projects: $projects, list_pages: $pages,
      search_counts: $searches, idle_rss_kb: $idle, concurrency: $workers,
      log_error_lines: $log_errors}}' <<<"$servers_json")
  n=$(server_errors "$s")
  ((n == 0)) || { log "warning: ${LABEL[$s]} logged $n error lines:"; show_log "${server_log[$s]}" 20; }
done

# Server settings taken from the caller's environment (passed through as is).
caller_env=$(for v in HTTP_THREADS DB_POOL_SIZE PASSWORD_HASH_SLOTS RESPONSE_CACHE_BYTES WORKERS; do
  if [[ -n ${!v:-} ]]; then printf '%s\t%s\n' "$v" "${!v}"; fi
done | jq -Rsc 'split("\n") | map(select(length > 0) | split("\t") | {(.[0]): .[1]}) | add // {}')

pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown; }
stamp=$(date -u +%Y-%m-%dT%H-%M-%SZ)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit+dirty"

runs_json=$(if compgen -G "$tmp/runs/*.json" >/dev/null; then cat "$tmp/runs"/*.json; fi | jq -sc .)
descriptions=$(for ep in "${ALL_ENDPOINTS[@]}"; do printf '%s\t%s\n' "$ep" "${DESCRIPTION[$ep]}"; done |
  jq -Rsc 'split("\n") | map(select(length > 0) | split("\t") | {(.[0]): .[1]}) | add')

result=$(jq -n \
  --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg commit "$commit" \
  --argjson full "$full" --arg only "$ONLY" \
  --argjson nproc "$(nproc)" \
  --argjson mem "$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)" \
  --arg cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)" \
  --arg kernel "$(uname -r)" \
  --arg wrk "$(pkg_version wrk)" --arg pg "$("$pg_bindir/postgres" --version 2>/dev/null || echo unknown)" \
  --arg gunicorn "$(pkg_version gunicorn)" --arg django "$(pkg_version python3-django)" \
  --arg drf "$(pkg_version python3-djangorestframework)" \
  --arg mhd "$(pkg-config --modversion libmicrohttpd 2>/dev/null || echo unknown)" \
  --arg ulfius "$(pkg-config --modversion libulfius 2>/dev/null || echo unknown)" \
  --argjson profiles "$PROFILES" --argjson duration "$DURATION" --argjson warmup "$WARMUP" \
  --argjson nruns "$RUNS" --argjson threads "$WRK_THREADS" --argjson conns "$WRK_CONNECTIONS" \
  --argjson voters "$VOTERS" --arg words "$SEARCH_WORDS" --arg pgfast "$PG_FAST" \
  --argjson hwm_reset "$hwm_reset" --argjson caller_env "$caller_env" \
  --argjson quiet_wait "${BENCH_QUIET_WAIT:-120}" --argjson quiet_left "$quiet_budget" --argjson quiet_pct "$QUIET_BUSY_PCT" \
  --argjson servers "$servers_json" --argjson runs "$runs_json" \
  --argjson descriptions "$descriptions" --argjson ceiling "$ceiling_json" \
  --argjson order "$(printf '%s\n' "${ALL_ENDPOINTS[@]}" | jq -Rsc 'split("\n") | map(select(length > 0))')" \
  --arg load_before "$load_before" --arg load_after "$(cut -d' ' -f1-3 /proc/loadavg)" '
  def mean(f): (map(f) | add / length);
  def ratio(a; b): if (a == null or b == null or b == 0) then null else a / b end;
  def summary: max_by(.rps) as $best
    | {rps: $best.rps, p50_ms: $best.p50_ms, p99_ms: $best.p99_ms, best_run: $best.run,
       mean_rps: mean(.rps), errors: (map(.errors) | add),
       status_errors: (map(.status_errors) | add), bytes_per_response: $best.bytes_per_response,
       peak_rss_kb: (map(.peak_rss_kb) | max), runs: map(del(.endpoint, .server))};
  ($runs | group_by(.endpoint) | sort_by(.[0].endpoint as $e | $order | index($e)) | map({key: .[0].endpoint, value: (
      (group_by(.server) | map({key: .[0].server, value: summary}) | from_entries) as $by
      | {description: $descriptions[.[0].endpoint]} + $by
      + (if ($by.c and $by.django) then {ratio_c_over_django: {
          rps: ratio($by.c.rps; $by.django.rps), p50_ms: ratio($by.c.p50_ms; $by.django.p50_ms),
          p99_ms: ratio($by.c.p99_ms; $by.django.p99_ms),
          peak_rss_kb: ratio($by.c.peak_rss_kb; $by.django.peak_rss_kb)}} else {} end))})
    | from_entries) as $endpoints
  | {date: $date, commit: $commit, full_run: ($full == 1), only: $only,
     machine: {nproc: $nproc, mem_total_kb: $mem, cpu: $cpu, kernel: $kernel,
       loadavg_before: $load_before, loadavg_after: $load_after},
     versions: {wrk: $wrk, postgresql: $pg, gunicorn: $gunicorn, django: $django,
       djangorestframework: $drf, libmicrohttpd: $mhd, ulfius: $ulfius},
     settings: {profiles: $profiles, duration_s: $duration, warmup_s: $warmup,
       runs_per_server: $nruns, order: "A B A B: per endpoint, each run does every server in turn",
       aggregate: "the best run: the one with the most req/s, with its p50 and p99 (mean_rps: the mean of the runs); errors summed over the runs; peak memory: the highest run",
       wrk: {threads: $threads, connections: $conns, timeout_s: 10},
       argon2id: {time_cost: 2, memory_cost_kib: 19456, parallelism: 1},
       access_token_lifetime: "2h", caller_env: $caller_env, voters: $voters, search_words: ($words | split(",")),
       postgresql_fsync_off: ($pgfast == "1"),
       quiet_wait: {budget_s: $quiet_wait, waited_s: ($quiet_wait - $quiet_left),
         busy_threshold_pct: $quiet_pct},
       peak_rss: (if $hwm_reset == 1 then "VmHWM reset before each measured run (clear_refs), summed over the server processes"
                  else "VmHWM since the process started (reset not permitted), summed over the server processes" end)},
     servers: $servers, endpoints: $endpoints}
  + (if $ceiling == null then {} else
      {ceiling: ($ceiling + (
        ([$ceiling.http.rps, $ceiling.database.tps] | min) as $low
        | {lower: (if $ceiling.http.rps <= $ceiling.database.tps then "http" else "database" end),
           lower_per_s: $low,
           list_c_rps: $endpoints.list.c.rps,
           list_c_fraction_of_lower: ratio($endpoints.list.c.rps; $low),
           detail_c_fraction_of_database: ratio($endpoints.detail.c.rps; $ceiling.database_detail.tps),
           token_c_fraction_of_argon2: ratio($endpoints.token.c.rps; $ceiling.argon2.hashes_per_s),
           token_django_fraction_of_argon2: ratio($endpoints.token.django.rps; $ceiling.argon2.hashes_per_s)}))} end)')

# Where the result goes: a full run is committed; anything else is partial.
results=$root/bench/results
if ((full)); then
  if ((PROFILES == DEFAULT_PROFILES)); then
    out=$results/$stamp.json latest=$results/latest.json
  else
    out=$results/$stamp-profiles$PROFILES.json latest=$results/latest-profiles$PROFILES.json
  fi
else
  out=$results/partial/$stamp.json latest=""
fi
mkdir -p "$(dirname "$out")"
printf '%s\n' "$result" | jq . >"$out"
[[ -n $latest ]] && cp "$out" "$latest"

# ---------------------------------------------------------------- the table
bench/table.sh "$out"
log "results: ${out#"$root/"}${latest:+ and ${latest#"$root/"}}"
