#!/usr/bin/env bash
# Run the test binary BUILD_DIR/tests/check_all against a throwaway
# PostgreSQL cluster. The test binary's output is the last thing printed.
# TEST_JS=0 skips the JavaScript suites (scripts/test-all.sh, for the
# sanitizer build: they would test the same HTTP contract again).
set -euo pipefail

if (($# != 1)); then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
build_dir=$(realpath -m -- "$1")
root=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$root"
LOG_NAME=test
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"

test_bin=$build_dir/tests/check_all
if [[ ! -x $test_bin ]]; then
  echo "test.sh: $test_bin not found; build first" >&2
  exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/devsearch-test.XXXXXX")
# shellcheck disable=SC2317  # invoked via trap
cleanup() {
  local rc=$?
  "$root/scripts/pgbouncer.sh" stop "$TMP" >/dev/null 2>&1 || true
  "$root/scripts/pg.sh" stop "$TMP" >/dev/null 2>&1 || true
  rm -rf "$TMP" >/dev/null 2>&1 || true
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Keep restarts done by the tests themselves (via DEVSEARCH_TEST_PGCTL) fast too.
export PG_FAST=1
DATABASE_URL=$("$root/scripts/pg.sh" start "$TMP" devsearch_test)
DEVSEARCH_TEST_ADMIN_URL=$("$root/scripts/pg.sh" url "$TMP" postgres)
export DATABASE_URL DEVSEARCH_TEST_ADMIN_URL
# PgBouncer in transaction pooling mode in front of the same cluster (tests/test_topology.c).
bouncer_port=""
free_port bouncer_port
DEVSEARCH_TEST_PGBOUNCER_URL=$("$root/scripts/pgbouncer.sh" start "$TMP" "$bouncer_port")
export DEVSEARCH_TEST_PGBOUNCER_URL
export DEVSEARCH_TEST_PGCTL="$root/scripts/pg.sh"
export DEVSEARCH_TEST_PGDIR="$TMP"
export DEVSEARCH_BIN="$build_dir/devsearch"
export DEVSEARCH_SQL_DIR="$root/sql"
export JWT_SECRET="devsearch-test-jwt-secret-0123456789abcdefghijkl"
export CK_DEFAULT_TIMEOUT=60
# Rate limits off: the tests that want them (tests/test_ratelimit.c) turn them on.
export RATE_LIMIT_ANON=off RATE_LIMIT_USER=off
# No periodic flush in the servers the tests start, so no suite sees rows vanish under it;
# tests/test_flush.c turns it on.
export FLUSH_INTERVAL=0
# Servers started by the tests log warnings and errors only, so the report stays readable.
export LOG_LEVEL="${LOG_LEVEL:-warn}"

if [[ $build_dir == *asan* ]]; then
  # Sanitizers make the server several times slower: the tests' wall-clock bounds
  # stretch by this much (the plain build checks the real ones).
  export DEVSEARCH_TEST_TIME_SCALE=${DEVSEARCH_TEST_TIME_SCALE:-3}
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  if [[ -f $root/tests/lsan.supp ]]; then
    export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp:print_suppressions=0"
  fi
fi

# The shared test database is migrated once; tests that need other states make their own.
if ! "$DEVSEARCH_BIN" migrate >"$TMP/migrate.log" 2>&1; then
  echo "cannot migrate the test database:" >&2
  cat "$TMP/migrate.log" >&2
  exit 1
fi

# The C suites (Check), then the JavaScript ones (node's test runner: OpenAPI,
# contract, browser), then the fuzz smoke, each with its own report; the last
# line counts all three.
check_log="$TMP/check.log"
node_log="$TMP/node.log"
rc=0
set +e
"$test_bin" 2>&1 | tee "$check_log"
check_rc=${PIPESTATUS[0]}
set -e
[[ $check_rc -eq 0 ]] || rc=1

node_pass=0 node_fail=0
if [[ ${TEST_JS:-1} != 0 ]] && compgen -G "$root/tests/js/*.test.mjs" >/dev/null; then
  if [[ -d $root/node_modules ]] && command -v node >/dev/null 2>&1; then
    (cd "$root" && node --test --test-reporter=spec --test-reporter-destination=stdout \
        --test-reporter=tap --test-reporter-destination="$node_log" tests/js/) || rc=1
    node_pass=$(sed -n 's/^# pass //p' "$node_log" | tail -1)
    node_fail=$(sed -n 's/^# fail //p' "$node_log" | tail -1)
  else
    echo "node_modules or node missing: the JavaScript tests did not run" >&2
    node_fail=1
    rc=1
  fi
fi

# The fuzz smoke (scripts/fuzz.sh): every target's regressions replayed and a few
# seconds of fuzzing each, one entry per run. Off with FUZZ_SMOKE_SECONDS=0, and off
# by default when CK_RUN_SUITE picks a single suite.
fuzz_pass=0 fuzz_fail=0
fuzz_seconds=${FUZZ_SMOKE_SECONDS:-$([[ -n ${CK_RUN_SUITE:-} ]] && echo 0 || echo 3)}
if [[ $fuzz_seconds != 0 ]]; then
  fuzz_log="$TMP/fuzz.log"
  FUZZ_SMOKE_SECONDS=$fuzz_seconds "$root/scripts/fuzz.sh" smoke 2>&1 | tee "$fuzz_log" || rc=1
  fuzz_line=$(sed -n 's/^fuzz: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$fuzz_log" | tail -1)
  read -r fuzz_pass fuzz_fail <<<"${fuzz_line:-0 1}"
fi

summary=$(grep -E '^[0-9]+%: Checks: ' "$check_log" | tail -1)
checks=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$summary")
check_failed=$(sed -E 's/.*Failures: ([0-9]+), Errors: ([0-9]+).*/\1 \2/' <<<"$summary")
read -r failures errors <<<"${check_failed:-1 0}"
failed=$(( ${failures:-1} + ${errors:-0} + ${node_fail:-0} + fuzz_fail ))
passed=$(( ${checks:-0} - ${failures:-1} - ${errors:-0} + ${node_pass:-0} + fuzz_pass ))
[[ $failed -eq 0 ]] || rc=1
echo "$passed passed, $failed failed"
exit "$rc"
