#!/usr/bin/env bash
# `make soak`: the server under minutes of mixed load on 127.0.0.1, then three
# verdicts. A throwaway PostgreSQL cluster is seeded with `devsearch seed`, the
# server (BUILD/devsearch serve) is started on it, and wrk drives
# tests/soak/mixed.lua: project list, project detail, profile search, logins,
# votes and messages. It fails (exit 1) when
#   - any response is a 5xx, or not the expected status of its kind, or wrk saw
#     a connection error or a timeout, or the server died;
#   - a successful write is missing from the database, or a row exists that no
#     successful response accounts for (votes: the review rows and the
#     projects' vote counters; messages: rows = 201s; logins: sessions = 200s);
#   - the server's resident memory, sampled every SOAK_SAMPLE seconds, moves by
#     more than SOAK_RSS_PCT percent between samples taken after the warm-up.
# docs/reliability.md ("Soak") explains the figures and lists the settings:
# SOAK_SECONDS, SOAK_WARMUP, SOAK_SAMPLE, SOAK_PROFILES, SOAK_CONNECTIONS,
# SOAK_VOTERS, SOAK_VOTE_PROJECTS, SOAK_RSS_PCT, SOAK_KEEP. Needs wrk, jq, curl (scripts/deps.sh wrk).
set -euo pipefail
export LC_ALL=C # one collation for sort, comm and uniq

root=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$root"
build_dir=$(realpath -m -- "${BUILD:-build}")

SECONDS_TOTAL=${SOAK_SECONDS:-300}
WARMUP=${SOAK_WARMUP:-60}
SAMPLE=${SOAK_SAMPLE:-5}
PROFILES=${SOAK_PROFILES:-2000}
CONNECTIONS=${SOAK_CONNECTIONS:-8}
VOTERS=${SOAK_VOTERS:-100}
VOTE_PROJECTS=${SOAK_VOTE_PROJECTS:-20}
RSS_PCT=${SOAK_RSS_PCT:-10}
SEED_PASSWORD="devsearch-demo-pass" # what `devsearch seed` gives every user
SEARCH_WORDS="python,rust,docker,react,linux,java"
PROJECT_SAMPLE_PAGES=10 # pages of 100 projects voted on and read

LOG_NAME=soak
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
whole_number SOAK_SECONDS "$SECONDS_TOTAL" 10 86400
whole_number SOAK_WARMUP "$WARMUP" 0 "$((SECONDS_TOTAL - 1))"
whole_number SOAK_SAMPLE "$SAMPLE" 1 600
whole_number SOAK_PROFILES "$PROFILES" 10 1000000
whole_number SOAK_CONNECTIONS "$CONNECTIONS" 1 256
whole_number SOAK_VOTERS "$VOTERS" 2 10000
whole_number SOAK_VOTE_PROJECTS "$VOTE_PROJECTS" 1 100000
whole_number SOAK_RSS_PCT "$RSS_PCT" 1 1000

for tool in wrk jq curl psql; do
  command -v "$tool" >/dev/null || die "$tool not found: run scripts/deps.sh wrk (and make deps)"
done
devsearch=$build_dir/devsearch
[[ -x $devsearch ]] || die "$devsearch not found: run make build"

# ---------------------------------------------------------------- clean-up
tmp=$(mktemp -d "${TMPDIR:-/tmp}/devsearch-soak.XXXXXX")
chmod 755 "$tmp" # the cluster runs as postgres when we are root
server_pid="" sampler_pid="" bg_pid=""


# shellcheck disable=SC2317  # invoked via trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pid "$bg_pid"
  stop_pid "$sampler_pid"
  stop_pid "$server_pid"
  "$root/scripts/pg.sh" stop "$tmp/pg" >/dev/null 2>&1 || true
  keep_or_remove "$tmp" "${SOAK_KEEP:-}" "server log, wrk output, write logs, memory samples"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$tmp/data" "$tmp/out"
show_log() { # FILE
  echo "--- $(basename "$1") (last 40 lines) ---" >&2
  tail -n 40 "$1" >&2 2>/dev/null || true
}

# ---------------------------------------------------------------- cluster, seed, server
db_url=$("$root/scripts/pg.sh" start "$tmp/pg" devsearch) || die "cannot start the cluster"
sql() { # STATEMENT: one value per line, no headers
  psql -X -q -At -v ON_ERROR_STOP=1 -h "$tmp/pg/run" -U postgres -d devsearch -c "$1"
}
# The server's settings as `make run` would have them, except the login
# throttles, which the logins of this load would otherwise trip (by design).
server_env=(env -u PGHOST -u PGPORT -u PGDATABASE -u PGUSER -u PGPASSWORD -u PGSERVICE
  DATABASE_URL="$db_url" JWT_SECRET="$(head -c 48 /dev/urandom | base64 -w0)" LOG_LEVEL=warn
  LOGIN_THROTTLE_USERNAME=1000000 LOGIN_THROTTLE_IP=1000000 ACCESS_TOKEN_LIFETIME=2h
  RATE_LIMIT_ANON=off RATE_LIMIT_USER=off MEDIA_ROOT="$tmp/media")

log "migrate and seed --profiles $PROFILES"
seed_timeout=$((300 + PROFILES / 10))
("${server_env[@]}" timeout "$seed_timeout" "$devsearch" migrate &&
  "${server_env[@]}" timeout "$seed_timeout" "$devsearch" seed --profiles "$PROFILES") \
  >"$tmp/seed.log" 2>&1 || {
  show_log "$tmp/seed.log"
  die "migrate or seed failed (or took more than $seed_timeout s)"
}
sql "VACUUM ANALYZE" >/dev/null

port=""
free_port port
base=http://127.0.0.1:$port
(cd "$tmp" && exec "${server_env[@]}" PORT="$port" "$devsearch" serve) >"$tmp/server.log" 2>&1 &
server_pid=$!
for ((i = 0; ; i++)); do
  kill -0 "$server_pid" 2>/dev/null || { show_log "$tmp/server.log"; die "the server exited at start"; }
  curl -sf -o /dev/null --max-time 2 "$base/api/health" && break
  ((i < 300)) || { show_log "$tmp/server.log"; die "the server did not answer within 60 s"; }
  sleep 0.2
done
log "serving on $base (PID $server_pid)"

# ---------------------------------------------------------------- data for the load
get_json() { # URL OUT
  local code
  code=$(curl -s -o "$2" -w '%{http_code}' --max-time 60 "$1") || code=000
  if [[ $code != 200 ]] || ! jq -e . "$2" >/dev/null 2>&1; then
    die "GET $1 answered $code, expected 200 with JSON"
  fi
}
get_json "$base/api/projects?page_size=1" "$tmp/data/count.json"
projects_total=$(jq .count "$tmp/data/count.json")
((projects_total > 0)) || die "no projects after seeding"
pages=$(((projects_total + 19) / 20))
: >"$tmp/data/projects.txt"
for page in $(shuf -i "1-$(((projects_total + 99) / 100))" -n "$PROJECT_SAMPLE_PAGES" 2>/dev/null || echo 1); do
  get_json "$base/api/projects?page_size=100&page=$page" "$tmp/data/page.json"
  jq -r '.results[] | "\(.id) \(.owner.id // "-")"' "$tmp/data/page.json" >>"$tmp/data/projects.txt"
done
: >"$tmp/data/users.txt"
for ((page = 1; page <= (VOTERS + 99) / 100; page++)); do
  get_json "$base/api/profiles?page_size=100&page=$page" "$tmp/data/page.json"
  jq -r '.results[] | "\(.username) \(.id)"' "$tmp/data/page.json" >>"$tmp/data/users.txt"
done
head -n "$VOTERS" "$tmp/data/users.txt" >"$tmp/data/users.tmp" && mv "$tmp/data/users.tmp" "$tmp/data/users.txt"
# Votes go to a few projects only: every read answer holds the project's
# reviews, and the response cache keeps those answers, so votes spread over
# ever new voter/project pairs would grow the cache with the data (by design,
# up to RESPONSE_CACHE_BYTES) and hide a leak. Over SOAK_VOTERS x
# SOAK_VOTE_PROJECTS pairs, nearly all exist after the warm-up and later votes
# replace reviews: the data read stays the same size, and so should the memory.
# It also makes votes contend for the same projects' counters.
shuf -n "$VOTE_PROJECTS" "$tmp/data/projects.txt" >"$tmp/data/vote_projects.txt"

# One login per voter, 2 at a time ("access_token profile_id").
# shellcheck disable=SC2016  # expanded by the inner bash
BASE=$base PASSWORD=$SEED_PASSWORD xargs -P 2 -L 1 bash -c '
  t=$(curl -s --max-time 60 -H "Content-Type: application/json" \
    -d "{\"username\": \"$0\", \"password\": \"$PASSWORD\"}" "$BASE/api/users/token" |
    jq -r ".access // empty" 2>/dev/null) || exit 0
  [[ -n $t ]] && printf "%s %s\n" "$t" "$1"
  exit 0' <"$tmp/data/users.txt" >"$tmp/data/tokens.txt" &
bg_pid=$!
wait "$bg_pid" || true
bg_pid=""
[[ $(wc -l <"$tmp/data/tokens.txt") -eq $(wc -l <"$tmp/data/users.txt") ]] ||
  die "only $(wc -l <"$tmp/data/tokens.txt") of $(wc -l <"$tmp/data/users.txt") users could log in"
log "$projects_total projects, $(wc -l <"$tmp/data/projects.txt") sampled for reads," \
  "$(wc -l <"$tmp/data/vote_projects.txt") for votes, $(wc -l <"$tmp/data/tokens.txt") voters logged in"

# Rows before the load: the load's own rows are told apart by their tags, the
# logins by the count of sessions.
sessions_before=$(sql "SELECT count(*) FROM login_sessions")
[[ $(sql "SELECT count(*) FROM reviews WHERE body LIKE 'soak-%'") == 0 ]] || die "the seed wrote soak tags"

# ---------------------------------------------------------------- load and memory
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status" 2>/dev/null || echo 0; }
# "SECONDS_INTO_THE_LOAD RSS_KB" every SAMPLE seconds until stopped.
(
  start=$(date +%s)
  while :; do
    echo "$(($(date +%s) - start)) $(rss_kb)"
    sleep "$SAMPLE"
  done
) >"$tmp/out/rss.txt" &
sampler_pid=$!

log "wrk: $CONNECTIONS connections (one per thread) for $SECONDS_TOTAL s, warm-up $WARMUP s"
wrk_out=$tmp/out/wrk.txt
if ! timeout $((SECONDS_TOTAL + 120)) wrk -t"$CONNECTIONS" -c"$CONNECTIONS" -d"${SECONDS_TOTAL}s" \
  --timeout 10s -s "$root/tests/soak/mixed.lua" "$base" -- \
  "$tmp/data" "$pages" "$SEED_PASSWORD" "$SEARCH_WORDS" "$tmp/out" >"$wrk_out" 2>&1; then
  cat "$wrk_out" >&2
  die "wrk failed (or did not finish within $((SECONDS_TOTAL + 120)) s)"
fi
stop_pid "$sampler_pid"
sampler_pid=""
report=$(sed -n 's/^SOAK_JSON //p' "$wrk_out" | tail -n1)
jq -e . >/dev/null 2>&1 <<<"$report" || {
  cat "$wrk_out" >&2
  die "no report in wrk's output"
}

failures=()
fail() {
  failures+=("$*")
  log "FAIL: $*"
}
kill -0 "$server_pid" 2>/dev/null || fail "the server died during the load"

# ---------------------------------------------------------------- statuses
# The status each kind of request must get; anything else is a failure.
cat "$tmp"/out/responses-*.txt >"$tmp/out/responses.txt"
awk '{ n[$1 " " $2]++ } END { for (k in n) print k, n[k] }' "$tmp/out/responses.txt" |
  sort >"$tmp/out/statuses.txt"
declare -A expected=([list]=200 [detail]=200 [search]=200 [vote]=200 [message]=201 [login]=200)
declare -A ok=()
fivexx=0 unexpected=0
while read -r kind status n; do
  if [[ ${expected[$kind]:-} == "$status" ]]; then
    ok[$kind]=$n
  else
    unexpected=$((unexpected + n))
    [[ $status == 5* ]] && fivexx=$((fivexx + n))
    fail "$n $kind requests answered $status (expected ${expected[$kind]:-nothing})"
  fi
done <"$tmp/out/statuses.txt"
socket_errors=$(jq '.errors | .connect + .read + .write + .timeout' <<<"$report")
((socket_errors == 0)) || fail "wrk counted socket errors or timeouts: $(jq -c .errors <<<"$report")"

# ---------------------------------------------------------------- writes against rows
# Requests whose response was never read (wrk stops mid-request at the end)
# are neither counted nor checked: their write may or may not have landed,
# so rows are compared with tags of finished requests only, and the tags of
# the last request of each connection are allowed in the database without a
# response.
answered=$(wc -l <"$tmp/out/responses.txt")
# wrk counts a request when its response is complete, as response() does.
[[ $answered == "$(jq .requests <<<"$report")" ]] ||
  fail "$answered responses logged, wrk counted $(jq .requests <<<"$report")"

# Votes: each (voter, project) with a 200 has exactly one review, whose body is
# the tag of one of the 200 responses for that pair; no review tagged by the
# load exists without a 200 for its pair, except from a request unanswered at
# the end.
sql "SELECT r.owner_id || ' ' || r.project_id || ' ' || r.body FROM reviews r WHERE r.body LIKE 'soak-%'" |
  sort >"$tmp/out/reviews.txt"
awk '$1 == "vote" && $2 == 200 {print $3 " " $4 " " $5}' "$tmp/out/responses.txt" | sort >"$tmp/out/votes_ok.txt"
awk '$1 == "vote" {print $5}' "$tmp/out/responses.txt" | sort >"$tmp/out/vote_tags_answered.txt"
vote_pairs=$(cut -d' ' -f1,2 "$tmp/out/votes_ok.txt" | sort -u | wc -l)
review_rows=$(wc -l <"$tmp/out/reviews.txt")
# Pairs with a 200 but no review carrying one of their 200 tags: lost.
# A pair's review may also carry the tag of a later vote for it that was cut
# off at the end (sent, never answered): that one wrote last.
{
  comm -12 "$tmp/out/votes_ok.txt" "$tmp/out/reviews.txt"
  awk 'NR == FNR { answered[$1] = 1; next } !($3 in answered)' \
    "$tmp/out/vote_tags_answered.txt" "$tmp/out/reviews.txt"
} | cut -d' ' -f1,2 | sort -u >"$tmp/out/pairs_found.txt"
lost_votes=$(cut -d' ' -f1,2 "$tmp/out/votes_ok.txt" | sort -u | comm -23 - "$tmp/out/pairs_found.txt" | wc -l)
((lost_votes == 0)) || fail "$lost_votes voter/project pairs answered 200 have no review with one of their bodies"
# Reviews whose tag was answered with something other than 200: a failed write that landed.
phantom_votes=$(comm -12 <(awk '{print $3}' "$tmp/out/reviews.txt" | sort) \
  <(awk '$1 == "vote" && $2 != 200 {print $5}' "$tmp/out/responses.txt" | sort) | wc -l)
((phantom_votes == 0)) || fail "$phantom_votes reviews carry the tag of a vote that was not answered 200"
unanswered_reviews=$(comm -23 <(awk '{print $3}' "$tmp/out/reviews.txt" | sort) "$tmp/out/vote_tags_answered.txt" | wc -l)
((unanswered_reviews <= CONNECTIONS)) ||
  fail "$unanswered_reviews reviews carry tags no response accounts for (at most $CONNECTIONS requests are cut off)"
((review_rows <= vote_pairs + unanswered_reviews)) ||
  fail "$review_rows reviews tagged by the load for $vote_pairs voter/project pairs answered 200"
# The counters kept by the trigger match the reviews, for every project.
counter_drift=$(sql "SELECT count(*) FROM projects p LEFT JOIN (
    SELECT project_id, count(*) AS total, count(*) FILTER (WHERE value = 'up') AS up
    FROM reviews GROUP BY project_id) r ON r.project_id = p.id
  WHERE p.vote_total <> coalesce(r.total, 0) OR p.vote_up <> coalesce(r.up, 0)")
((counter_drift == 0)) || fail "$counter_drift projects' vote_total/vote_up differ from their reviews"

# Messages: rows tagged by the load = 201s (plus requests cut off at the end).
sql "SELECT subject FROM messages WHERE subject LIKE 'soak-%'" | sort >"$tmp/out/messages.txt"
awk '$1 == "message" && $2 == 201 {print $3}' "$tmp/out/responses.txt" | sort >"$tmp/out/messages_ok.txt"
awk '$1 == "message" {print $3}' "$tmp/out/responses.txt" | sort >"$tmp/out/message_tags_answered.txt"
message_rows=$(wc -l <"$tmp/out/messages.txt")
lost_messages=$(comm -23 "$tmp/out/messages_ok.txt" "$tmp/out/messages.txt" | wc -l)
phantom_messages=$(comm -12 "$tmp/out/messages.txt" \
  <(comm -23 "$tmp/out/message_tags_answered.txt" "$tmp/out/messages_ok.txt") | wc -l)
unanswered_messages=$(comm -23 "$tmp/out/messages.txt" "$tmp/out/message_tags_answered.txt" | wc -l)
duplicate_messages=$(uniq -d "$tmp/out/messages.txt" | wc -l)
((lost_messages == 0)) || fail "$lost_messages messages answered 201 are not in the database"
((phantom_messages == 0)) || fail "$phantom_messages messages not answered 201 are in the database"
((duplicate_messages == 0)) || fail "$duplicate_messages messages were stored twice"
((unanswered_messages <= CONNECTIONS)) || fail "$unanswered_messages messages no response accounts for"

# Logins: one session row per 200 (plus requests cut off at the end).
sessions_new=$(($(sql "SELECT count(*) FROM login_sessions") - sessions_before))
logins_ok=${ok[login]:-0}
((sessions_new >= logins_ok && sessions_new <= logins_ok + CONNECTIONS)) ||
  fail "$sessions_new login sessions created for $logins_ok logins answered 200"

# ---------------------------------------------------------------- memory
read -r rss_min rss_max rss_first rss_last n_after < <(awk -v w="$WARMUP" '
  $1 >= w && $2 > 0 { n++; if (n == 1) { first = $2; min = $2; max = $2 }
                      if ($2 < min) min = $2; if ($2 > max) max = $2; last = $2 }
  END { print min + 0, max + 0, first + 0, last + 0, n + 0 }' "$tmp/out/rss.txt")
((n_after >= 2)) || fail "fewer than 2 memory samples after the warm-up"
if ((n_after >= 2)) && ((100 * (rss_max - rss_min) > RSS_PCT * rss_min)); then
  fail "resident memory after the warm-up moved from $rss_min to $rss_max KiB (more than $RSS_PCT %)"
fi

# ---------------------------------------------------------------- report
duration_s=$(jq '.duration_us / 1e6' <<<"$report")
rate() { awk -v n="$1" -v s="$duration_s" 'BEGIN { printf "%.1f", n / s }'; }
echo "== soak: $SECONDS_TOTAL s, $CONNECTIONS connections, $PROFILES profiles, $VOTERS voters x" \
  "$VOTE_PROJECTS projects voted on, $(nproc) cores"
echo "requests: $(jq .requests <<<"$report") ($(rate "$(jq .requests <<<"$report")")/s);" \
  "latency p50 $(jq '.latency_us.p50 / 1000' <<<"$report") ms, p99 $(jq '.latency_us.p99 / 1000' <<<"$report") ms," \
  "max $(jq '.latency_us.max / 1000' <<<"$report") ms; socket errors $socket_errors"
echo "statuses (kind status count):"
while read -r kind status n; do echo "  $kind $status $n ($(rate "$n")/s)"; done <"$tmp/out/statuses.txt"
echo "5xx: $fivexx; unexpected statuses: $unexpected"
echo "votes: ${ok[vote]:-0} answered 200 over $vote_pairs voter/project pairs; $review_rows reviews tagged;" \
  "lost $lost_votes, failed-but-written $phantom_votes, cut off at the end $unanswered_reviews;" \
  "projects with counters off $counter_drift"
echo "messages: ${ok[message]:-0} answered 201; $message_rows rows; lost $lost_messages," \
  "failed-but-written $phantom_messages, duplicated $duplicate_messages, cut off at the end $unanswered_messages"
echo "logins: $logins_ok answered 200; $sessions_new sessions created"
echo "resident memory (KiB) every $SAMPLE s, seconds into the load:"
awk '{ printf "%s%s:%s", (NR > 1 ? (NR % 8 == 1 ? "\n  " : " ") : "  "), $1, $2 } END { print "" }' "$tmp/out/rss.txt"
echo "after the warm-up ($WARMUP s): first $rss_first, last $rss_last, min $rss_min, max $rss_max KiB" \
  "($(awk -v a="$rss_min" -v b="$rss_max" 'BEGIN { printf "%.1f", (a > 0 ? 100 * (b - a) / a : 0) }') %, limit $RSS_PCT %)"
if ((${#failures[@]})); then
  echo "soak: FAILED (${#failures[@]}):"
  printf '  %s\n' "${failures[@]}"
  show_log "$tmp/server.log"
  exit 1
fi
echo "soak: passed"
