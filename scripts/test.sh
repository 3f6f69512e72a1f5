#!/usr/bin/env bash
# Run the test binary BUILD_DIR/tests/check_all against a throwaway
# PostgreSQL cluster. The test binary's output is the last thing printed.
set -euo pipefail

if (($# != 1)); then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
build_dir=$(realpath -m -- "$1")
root=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$root"

test_bin=$build_dir/tests/check_all
if [[ ! -x $test_bin ]]; then
  echo "test.sh: $test_bin not found; build first" >&2
  exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/devsearch-test.XXXXXX")
# shellcheck disable=SC2317  # invoked via trap
cleanup() {
  local rc=$?
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
export DEVSEARCH_TEST_PGCTL="$root/scripts/pg.sh"
export DEVSEARCH_TEST_PGDIR="$TMP"
export DEVSEARCH_BIN="$build_dir/devsearch"
export DEVSEARCH_SQL_DIR="$root/sql"
export JWT_SECRET="devsearch-test-jwt-secret-0123456789abcdefghijkl"
export CK_DEFAULT_TIMEOUT=60
# Servers started by the tests log warnings and errors only, so the report stays readable.
export LOG_LEVEL="${LOG_LEVEL:-warn}"

if [[ $build_dir == *asan* ]]; then
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

rc=0
"$test_bin" || rc=$?
exit "$rc"
