#!/usr/bin/env bash
# `make test-django` (also part of `make test`): this server against the real Django
# version (../shared/peer-drf), on 127.0.0.1 only, one throwaway PostgreSQL cluster
# with two databases (the peer's and ours), the same JWT_SECRET on both.
#
#   1. The peer migrates, seeds a few tens of profiles (`manage.py seed`) and serves.
#   2. Through its API: users registered and logged in, a project with tags, a vote
#      with a review, messages, a note as favorite_note, a skill, a friend, a refresh
#      rotated and one logged out (blacklisted), a staff user; one user's hash set to
#      pbkdf2_sha256 (`manage.py shell`).
#   3. `devsearch import-django --from <peer database>`: --dry-run leaves our tables
#      as they were; the import exits 0; a second import changes no row.
#   4. Our server on the imported database: every imported object's JSON compared
#      with the peer's, field by field (tests/django/compare.mjs); then logins here
#      with the peer's passwords (argon2 and pbkdf2; the hash becomes ours), the
#      peer's refresh tokens here (outstanding: 200; blacklisted there: 401), the
#      peer's access token here and ours there; a refresh token from here on the peer,
#      and one the peer issued after the import here (adopted at first use).
#
# Every process is started here and stopped by the trap, by PID. The last line is
# "N passed, M failed" (scripts/test-all.sh adds it to make test's count).
# Usage: tests/django/run.sh [BUILD_DIR] (default $BUILD, else build).
# Env: DJANGO_PEER_DIR (default ../shared/peer-drf beside the checkout),
# DJANGO_TEST_PROFILES (seeded profiles, default 20), DJANGO_TEST_KEEP=1 keeps the
# temporary directory (logs, both databases' dumps).
set -euo pipefail
export LC_ALL=C

root=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$root"
build_dir=$(realpath -m -- "${1:-${BUILD:-build}}")
devsearch=$build_dir/devsearch
PROFILES=${DJANGO_TEST_PROFILES:-20}

passed=0 failed=0
LOG_NAME=django
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
die() {
  log "error: $*"
  failed=$((failed + 1))
  exit 1
}
whole_number DJANGO_TEST_PROFILES "$PROFILES" 2 500

peer_dir=${DJANGO_PEER_DIR:-}
if [[ -z $peer_dir ]]; then
  for d in "$root/../shared/peer-drf" "$root/../../shared/peer-drf"; do
    [[ -f $d/start.sh ]] && peer_dir=$(cd "$d" && pwd -P) && break
  done
fi
[[ -n $peer_dir && -f $peer_dir/start.sh && -f $peer_dir/manage.py ]] ||
  die "the Django version was not found (../shared/peer-drf); set DJANGO_PEER_DIR"
/usr/bin/python3 -c 'import django, rest_framework, rest_framework_simplejwt, gunicorn, argon2' 2>/dev/null ||
  die "the Django version's packages are missing: run scripts/deps.sh"
for tool in curl jq node psql runuser; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found: run scripts/deps.sh"
done
[[ -x $devsearch ]] || die "$devsearch not found: run make build"

# ---------------------------------------------------------------- clean-up
tmp=$(mktemp -d "${TMPDIR:-/tmp}/devsearch-django.XXXXXX")
chmod 755 "$tmp" # the cluster runs as postgres when we are root
pids=()          # every server started here

# shellcheck disable=SC2317  # invoked via trap
cleanup() {
  local rc=$? p
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do
    # gunicorn's master stops its workers on TERM.
    stop_pid "$p" 20
  done
  "$root/scripts/pg.sh" stop "$tmp/pg" >/dev/null 2>&1 || true
  if ((rc != 0 && failed == 0)); then failed=1; fi
  keep_or_remove "$tmp" "${DJANGO_TEST_KEEP:-}" "logs and dumps"
  echo "$passed passed, $failed failed"
  ((failed == 0)) || rc=1
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

show_log() {
  echo "--- ${1#"$tmp/"} (last 30 lines) ---" >&2
  tail -n 30 "$1" >&2 2>/dev/null || true
}
# wait_http NAME PORT PID LOG: until /api/health answers, at most 90 s, while PID lives.
wait_http() {
  local i
  for ((i = 0; i < 450; i++)); do
    kill -0 "$3" 2>/dev/null || {
      show_log "$4"
      die "$1 exited before answering"
    }
    curl -fsS -o /dev/null -m 2 "http://127.0.0.1:$2/api/health" 2>/dev/null && return 0
    sleep 0.2
  done
  show_log "$4"
  die "$1 did not answer on port $2 within 90 s"
}

# ---------------------------------------------------------------- the databases
export PG_FAST=1
peer_url=$("$root/scripts/pg.sh" start "$tmp/pg" devsearch_peer) || die "cannot start PostgreSQL"
our_url=$("$root/scripts/pg.sh" start "$tmp/pg" devsearch) || die "cannot create our database"
pg_run=$tmp/pg/run
sql_peer() { psql -X -q -At -v ON_ERROR_STOP=1 -h "$pg_run" -U postgres -d devsearch_peer -c "$1"; }
sql_ours() { psql -X -q -At -v ON_ERROR_STOP=1 -h "$pg_run" -U postgres -d devsearch -c "$1"; }

JWT_SECRET=$(head -c 48 /dev/urandom | base64 -w0)
# The lowest argon2id costs our server accepts, on both: logins stay cheap.
ARGON2_ENV=(ARGON2_TIME_COST=2 ARGON2_MEMORY_COST=19456 ARGON2_PARALLELISM=1)
peer_env=(env -u DATABASE_URL -u PGPORT -u PGPASSWORD -u PGSERVICE -u ACCESS_LOG -u DJANGO_DEBUG
  -u DJANGO_SECRET_KEY -u JWT_ALGORITHM PGHOST="$pg_run" PGDATABASE=devsearch_peer PGUSER=postgres
  JWT_SECRET="$JWT_SECRET" "${ARGON2_ENV[@]}" ACCESS_TOKEN_LIFETIME=30m WORKERS=2
  MEDIA_ROOT="$tmp/media-peer" PYTHONDONTWRITEBYTECODE=1 DJANGO_SETTINGS_MODULE=devsearch_peer.settings)
our_env=(env -u PGHOST -u PGPORT -u PGDATABASE -u PGUSER -u PGPASSWORD -u PGSERVICE
  -u JWT_ALGORITHM DATABASE_URL="$our_url" JWT_SECRET="$JWT_SECRET" LOG_LEVEL=warn
  "${ARGON2_ENV[@]}" LOGIN_THROTTLE_USERNAME=1000000 LOGIN_THROTTLE_IP=1000000
  RATE_LIMIT_ANON=off RATE_LIMIT_USER=off ACCESS_TOKEN_LIFETIME=30m HTTP_THREADS=4 DB_POOL_SIZE=4 MEDIA_ROOT="$tmp/media-ours"
  EMAIL_BACKEND=console MIGRATIONS_DIR="$root/sql")
peer_manage() { (cd "$peer_dir" && "${peer_env[@]}" timeout 120 /usr/bin/python3 manage.py "$@"); }

log "peer: migrate and seed --profiles $PROFILES; ours: migrate"
peer_manage migrate --noinput >"$tmp/peer-migrate.log" 2>&1 || {
  show_log "$tmp/peer-migrate.log"
  die "the peer's migrate failed"
}
# A fixed random seed: the same data every run, so list orders the contract leaves
# open (equal sort keys) cannot make the comparison flaky.
peer_manage seed --profiles "$PROFILES" --seed 9 >"$tmp/peer-seed.log" 2>&1 || {
  show_log "$tmp/peer-seed.log"
  die "the peer's seed failed"
}
log "peer: $(grep -i seeded "$tmp/peer-seed.log" | tail -n 1)"
"${our_env[@]}" timeout 60 "$devsearch" migrate >"$tmp/our-migrate.log" 2>&1 || {
  show_log "$tmp/our-migrate.log"
  die "devsearch migrate failed"
}
STAFF_PW="Staff-Pass-9921x"
DJANGO_SUPERUSER_PASSWORD=$STAFF_PW peer_manage createsuperuser --noinput --username staff \
  --email staff@example.com >"$tmp/peer-superuser.log" 2>&1 || {
  show_log "$tmp/peer-superuser.log"
  die "the peer's createsuperuser failed"
}

P_PEER="" P_OURS=""
free_port P_PEER
free_port P_OURS
(cd "$tmp" && exec "${peer_env[@]}" PORT="$P_PEER" "$peer_dir/start.sh") >"$tmp/peer.log" 2>&1 &
pids+=($!)
peer_pid=$!
wait_http "the Django version" "$P_PEER" "$peer_pid" "$tmp/peer.log"
log "peer serving on $P_PEER"

# ---------------------------------------------------------------- HTTP helpers
# req PORT METHOD PATH [TOKEN] [JSON]: the body in $body, the status in $status.
body="" status=""
req() {
  local port=$1 method=$2 path=$3 token=${4:-} data=${5:-} out
  local args=(-sS -m 30 -X "$method" -o "$tmp/body" -w '%{http_code}')
  [[ -n $token ]] && args+=(-H "Authorization: Bearer $token")
  [[ -n $data ]] && args+=(-H 'Content-Type: application/json' --data "$data")
  out=$(curl "${args[@]}" "http://127.0.0.1:$port$path") || out=000
  status=$out
  body=$(cat "$tmp/body" 2>/dev/null || true)
}
# must DESCRIPTION EXPECTED_STATUS: a set-up step through the API; stop if it failed.
must() {
  if [[ $status != "$2" ]]; then
    printf '%s\n' "${body:0:400}" >&2
    die "$1: expected $2, got $status"
  fi
}
field() { jq -r "$1 // empty" <<<"$body" 2>/dev/null || true; }
login() { # PORT USER PASSWORD: sets $access and $refresh
  req "$1" POST /api/users/token "" "$(jq -nc --arg u "$2" --arg p "$3" '{username: $u, password: $p}')"
  access=$(field .access)
  refresh=$(field .refresh)
}

# ---------------------------------------------------------------- data on the peer
PW_A="Alice-Pass-4471q" PW_B="Bob-Pass-8823w" PW_C="Carol-Pass-1290e" PW_D="Dave-Pass-5531r"
register() { # USER PASSWORD NAME
  req "$P_PEER" POST /api/users/register "" "$(jq -nc --arg u "$1" --arg p "$2" --arg n "$3" \
    '{username: $u, email: ($u + "@example.com"), password: $p, name: $n}')"
  must "register $1 on the peer" 201
}
register alice "$PW_A" "Alice Interop"
alice_profile=$(field .profile.id)
alice_user=$(field .id)
register bob "$PW_B" "Bob Interop"
bob_profile=$(field .profile.id)
register carol "$PW_C" "Carol Pbkdf"
register dave "$PW_D" "Dave Logout"

login "$P_PEER" alice "$PW_A"
must "alice logs in on the peer" 200
alice_access=$access alice_refresh_old=$refresh
login "$P_PEER" bob "$PW_B"
must "bob logs in on the peer" 200
bob_access=$access
login "$P_PEER" carol "$PW_C"
must "carol logs in on the peer" 200
carol_access=$access
login "$P_PEER" dave "$PW_D"
must "dave logs in on the peer" 200
dave_access=$access dave_refresh_out=$refresh
login "$P_PEER" dave "$PW_D"
must "dave logs in on the peer again" 200
dave_refresh_blacklisted=$refresh
login "$P_PEER" staff "$STAFF_PW"
must "staff logs in on the peer" 200
staff_access=$access

# Alice: a full profile, a skill, a project with tags, a note as favorite_note, a friend.
req "$P_PEER" PATCH /api/account "$alice_access" '{"location":"Oslo","short_intro":"Moves servers",
  "bio":"Line one\nLine two ✓","birth_date":"1990-04-05","social_github":"https://github.com/alice",
  "social_website":"https://alice.example.com"}'
must "alice updates her profile" 200
req "$P_PEER" POST /api/skills "$alice_access" '{"name":"Interop","description":"both ways"}'
must "alice adds a skill" 201
req "$P_PEER" POST /api/projects "$alice_access" \
  '{"title":"Bridge","description":"From Django to C","demo_link":"https://demo.example.com","tags":["rust","Interop"]}'
must "alice creates a project with tags" 201
project_id=$(field .id)
req "$P_PEER" POST "/api/projects/$project_id/tags" "$alice_access" '{"name":"Migration"}'
must "alice adds a tag to it" 201
req "$P_PEER" POST /api/notes "$alice_access" '{"title":"Keep","body":"the ids"}'
must "alice writes a note" 201
note_id=$(field .id)
req "$P_PEER" PATCH /api/account "$alice_access" "{\"favorite_note\":\"$note_id\"}"
must "alice makes it her favorite_note" 200
req "$P_PEER" POST "/api/profiles/$bob_profile/friends" "$alice_access"
must "alice befriends bob" 201

# Bob votes and writes; an anonymous visitor writes to bob; alice reads bob's message.
req "$P_PEER" POST "/api/projects/$project_id/vote" "$bob_access" '{"value":"up","body":"Works here"}'
must "bob votes on alice's project" 200
req "$P_PEER" POST "/api/projects/$project_id/vote" "$carol_access" '{"value":"down"}'
must "carol votes on it" 200
req "$P_PEER" POST "/api/profiles/$alice_profile/messages" "$bob_access" '{"subject":"Hi","body":"Ported yet?"}'
must "bob writes to alice" 201
message_id=$(field .id)
req "$P_PEER" POST "/api/profiles/$bob_profile/messages" "" \
  '{"subject":"Hello","body":"From outside","name":"Visitor","email":"visitor@example.com"}'
must "an anonymous visitor writes to bob" 201
req "$P_PEER" GET "/api/inbox/$message_id" "$alice_access"
must "alice reads bob's message" 200
req "$P_PEER" POST /api/skills "$carol_access" '{"name":"Hashing"}'
must "carol adds a skill" 201

# Alice's first refresh token rotated (blacklisted there), dave's second logged out.
req "$P_PEER" POST /api/users/token/refresh "" "{\"refresh\":\"$alice_refresh_old\"}"
must "alice refreshes on the peer" 200
alice_refresh=$(field .refresh)
req "$P_PEER" POST /api/users/token/blacklist "" "{\"refresh\":\"$dave_refresh_blacklisted\"}"
must "dave logs one refresh token out on the peer" 200

# Carol's hash: pbkdf2_sha256, as older Django installations stored them.
peer_manage shell -c "
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
u = get_user_model().objects.get(username='carol')
u.password = make_password('$PW_C', hasher='pbkdf2_sha256')
u.save(update_fields=['password'])
" >"$tmp/peer-shell.log" 2>&1 || {
  show_log "$tmp/peer-shell.log"
  die "cannot set carol's pbkdf2 hash on the peer"
}
check "carol's hash on the peer is pbkdf2_sha256" pbkdf2_sha256 \
  "$(sql_peer "SELECT split_part(password, '\$', 1) FROM users_user WHERE username = 'carol'")"

# Every seeded user logs in too: their notes and inboxes are compared below.
seed_pw="devsearch-demo-pass"
tokens=$tmp/tokens.txt # "username access_token" per line
printf '%s %s\n' alice "$alice_access" bob "$bob_access" carol "$carol_access" dave "$dave_access" \
  staff "$staff_access" >"$tokens"
mapfile -t seeded < <(sql_peer "SELECT username FROM users_user WHERE username LIKE 'demo%' ORDER BY username")
for u in "${seeded[@]}"; do
  login "$P_PEER" "$u" "$seed_pw"
  must "seeded user $u logs in on the peer" 200
  printf '%s %s\n' "$u" "$access" >>"$tokens"
done
log "peer: ${#seeded[@]} seeded users logged in"

# ---------------------------------------------------------------- the import
# dump_ours FILE: every row of every table of ours (schema_migrations aside), as
# text, table by table, in a fixed order: two dumps are equal when no row changed.
dump_ours() {
  local t
  : >"$1"
  for t in $(sql_ours "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'
      AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations' ORDER BY 1"); do
    printf '== %s\n' "$t" >>"$1"
    sql_ours "SELECT r::text FROM \"$t\" r ORDER BY 1" >>"$1"
  done
}
# differs A B: the first differing lines of two dumps, to explain a failure.
differs() { diff "$1" "$2" | head -n 20 >&2 || true; }
import_django() { # [--dry-run]: the import into our database, output in $tmp/import*.log
  "${our_env[@]}" timeout 120 "$devsearch" import-django --from "$peer_url" "$@"
}

dump_ours "$tmp/ours-empty.dump"
rc=0
import_django --dry-run >"$tmp/import-dry.log" 2>&1 || rc=$?
check "import-django --dry-run exits 0" 0 "$rc"
dump_ours "$tmp/ours-dry.dump"
if cmp -s "$tmp/ours-empty.dump" "$tmp/ours-dry.dump"; then
  ok "--dry-run leaves every table of ours as it was"
else
  differs "$tmp/ours-empty.dump" "$tmp/ours-dry.dump"
  fail "--dry-run changed rows of ours"
fi
rc=0
import_django >"$tmp/import.log" 2>&1 || rc=$?
check "import-django exits 0" 0 "$rc"
if ((rc != 0)); then
  show_log "$tmp/import.log"
  die "the import failed: nothing else can be compared"
fi
dump_ours "$tmp/ours-1.dump"
rc=0
import_django >"$tmp/import-again.log" 2>&1 || rc=$?
check "import-django again exits 0" 0 "$rc"
dump_ours "$tmp/ours-2.dump"
if cmp -s "$tmp/ours-1.dump" "$tmp/ours-2.dump"; then
  ok "a second import changes no row (idempotent)"
else
  differs "$tmp/ours-1.dump" "$tmp/ours-2.dump"
  fail "a second import changed rows"
fi

# Row counts: each of our tables against the peer's.
for pair in users:users_user profiles:users_profile skills:users_skill friends:users_profile_friends \
  tags:projects_tag projects:projects_project project_tags:projects_project_tags \
  reviews:projects_review notes:users_note messages:users_message; do
  ours=${pair%%:*} theirs=${pair#*:}
  check "$ours: as many rows as the peer's $theirs" "$(sql_peer "SELECT count(*) FROM $theirs")" \
    "$(sql_ours "SELECT count(*) FROM $ours")"
done
# Every refresh token the peer blacklisted is blacklisted here.
sql_peer "SELECT o.jti FROM token_blacklist_blacklistedtoken b
  JOIN token_blacklist_outstandingtoken o ON o.id = b.token_id ORDER BY 1" >"$tmp/peer-blacklist.txt"
sql_ours "SELECT jti FROM blacklisted_tokens ORDER BY 1" >"$tmp/our-blacklist.txt"
check "every refresh token blacklisted on the peer is blacklisted here" \
  "$(wc -l <"$tmp/peer-blacklist.txt") of $(wc -l <"$tmp/peer-blacklist.txt")" \
  "$(comm -12 "$tmp/peer-blacklist.txt" "$tmp/our-blacklist.txt" | wc -l) of $(wc -l <"$tmp/peer-blacklist.txt")"
check "carol's pbkdf2_sha256 hash imported as it was" \
  "$(sql_peer "SELECT password FROM users_user WHERE username = 'carol'")" \
  "$(sql_ours "SELECT password FROM users WHERE username = 'carol'")"

# ---------------------------------------------------------------- our server
(cd "$tmp" && exec "${our_env[@]}" PORT="$P_OURS" "$devsearch" serve) >"$tmp/ours.log" 2>&1 &
pids+=($!)
wait_http "devsearch" "$P_OURS" "$!" "$tmp/ours.log"
log "ours serving on $P_OURS; comparing the JSON of both"

# Before any login here changes last_login or a hash: every object, both servers.
node "$root/tests/django/compare.mjs" "http://127.0.0.1:$P_PEER" "http://127.0.0.1:$P_OURS" \
  "$tokens" >"$tmp/compare.log" 2>&1 || true
grep '^django: ' "$tmp/compare.log" || true
summary=$(tail -n 1 "$tmp/compare.log")
if [[ $summary =~ ^compare:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
  passed=$((passed + BASH_REMATCH[1])) failed=$((failed + BASH_REMATCH[2]))
else
  show_log "$tmp/compare.log"
  fail "compare.mjs stopped before its report"
fi

# ---------------------------------------------------------------- passwords and tokens
req "$P_OURS" GET /api/users/me "$alice_access"
check "an access token from the peer works here (users/me)" "200 $alice_user" "$status $(field .id)"
login "$P_OURS" alice "$PW_A"
check "alice logs in here with her password from the peer (argon2)" 200 "$status"
our_alice_access=$access
check "alice's stored hash is ours now" "\$argon2id\$" \
  "$(sql_ours "SELECT left(password, 10) FROM users WHERE username = 'alice'")"
req "$P_PEER" GET /api/users/me "$our_alice_access"
check "an access token from here works on the peer (users/me, same user)" "200 $alice_user" \
  "$status $(field .id)"
login "$P_OURS" carol "wrong-$PW_C"
check "carol with a wrong password is refused here" 401 "$status"
login "$P_OURS" carol "$PW_C"
check "carol logs in here with her password from the peer (pbkdf2_sha256)" 200 "$status"
our_carol_refresh=$refresh
check "carol's stored hash is ours now" "\$argon2id\$" \
  "$(sql_ours "SELECT left(password, 10) FROM users WHERE username = 'carol'")"
login "$P_OURS" "${seeded[0]}" "$seed_pw"
check "a seeded user logs in here" 200 "$status"

req "$P_OURS" POST /api/users/token/refresh "" "{\"refresh\":\"$dave_refresh_out\"}"
check "a refresh token outstanding on the peer refreshes here" 200 "$status"
new_refresh=$(field .refresh)
req "$P_OURS" POST /api/users/token/refresh "" "{\"refresh\":\"$alice_refresh\"}"
check "alice's refresh token rotated in on the peer refreshes here" 200 "$status"
req "$P_OURS" POST /api/users/token/refresh "" "{\"refresh\":\"$dave_refresh_blacklisted\"}"
check "the refresh token logged out on the peer is refused here" "401 token_not_valid" \
  "$status $(field .code)"
req "$P_OURS" POST /api/users/token/refresh "" "{\"refresh\":\"$alice_refresh_old\"}"
check "the refresh token rotated out on the peer is refused here" "401 token_not_valid" \
  "$status $(field .code)"
req "$P_OURS" POST /api/users/token/refresh "" "{\"refresh\":\"$new_refresh\"}"
check "the token issued here by that refresh refreshes again" 200 "$status"
# The other way, and a token the peer issued after the import (adopted at first use).
req "$P_PEER" POST /api/users/token/refresh "" "{\"refresh\":\"$our_carol_refresh\"}"
check "a refresh token issued here refreshes on the peer" 200 "$status"
login "$P_PEER" bob "$PW_B"
req "$P_OURS" POST /api/users/token/refresh "" "{\"refresh\":\"$refresh\"}"
check "a refresh token the peer issued after the import refreshes here" 200 "$status"
