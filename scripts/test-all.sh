#!/usr/bin/env bash
# `make test`: scripts/test.sh on BUILD_DIR (the C and JavaScript suites), then
# the C suites again on ASAN_BUILD_DIR (built with ASan/UBSan; LeakSanitizer on),
# each on its own throwaway cluster, one after the other (the machine may have
# only 2 cores), then tests/cluster/run.sh on BUILD_DIR (two servers behind nginx,
# PgBouncer and a streaming replica; about two minutes; TEST_CLUSTER=0 skips it),
# then tests/django/run.sh on BUILD_DIR (the Django version's data imported, both
# servers' JSON compared; under a minute; skipped with a line when the Django
# version's directory is absent, TEST_DJANGO=0 skips it).
# The last line adds all the runs up: "N passed, M failed".
set -euo pipefail

if (($# != 2)); then
  echo "usage: $0 BUILD_DIR ASAN_BUILD_DIR" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd -P)

out=$(mktemp "${TMPDIR:-/tmp}/devsearch-test-all.XXXXXX")
failures=$(mktemp "${TMPDIR:-/tmp}/devsearch-test-failures.XXXXXX")
trap 'rm -f "$out" "$failures"' EXIT

passed=0 failed=0 rc=0
# run_suite LABEL BUILD_DIR [ENV=VALUE...]: scripts/test.sh, its output shown as
# it comes, its last line ("N passed, M failed") added to the totals.
run_suite() {
  run_script "$1" "$root/scripts/test.sh" "$2" "${@:3}"
}
# run_script LABEL SCRIPT BUILD_DIR [ENV=VALUE...]: the same for any script taking
# a build directory (as its argument and as BUILD).
run_script() {
  local label=$1 script=$2 build_dir=$3 line p f short
  short=$(basename "$build_dir")
  shift 3
  echo "== $label"
  set +e
  env BUILD="$build_dir" "$@" "$script" "$build_dir" 2>&1 | tee "$out"
  local suite_rc=${PIPESTATUS[0]}
  set -e
  ((suite_rc == 0)) || rc=1
  line=$(tail -n 1 "$out")
  if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]}
  else
    # The run stopped before its report: count it as one failure.
    p=0 f=1
  fi
  ((suite_rc == 0 || f > 0)) || f=1
  passed=$((passed + p)) failed=$((failed + f))
  # What failed, kept for a recap above the totals (a CI log may show only its
  # tail): Check's F/E lines, node's crosses, the cluster's and fuzzer's failures,
  # sanitizer reports.
  grep -E ':[0-9]+:[FE]:|^ *✖ |^cluster: FAIL |^django: FAIL |^fuzz: .*FAILED|ERROR: [A-Za-z]+Sanitizer|runtime error:' \
    "$out" | sed "s|^ *|  [$short] |" >>"$failures" || true
}

start=$SECONDS
run_suite "C and JavaScript suites ($1)" "$1"
# The fuzz targets carry these sanitizers already: their smoke runs once, above.
run_suite "C suites under AddressSanitizer, UndefinedBehaviorSanitizer and LeakSanitizer ($2)" \
  "$2" TEST_JS=0 FUZZ_SMOKE_SECONDS=0
if [[ ${TEST_CLUSTER:-1} != 0 ]]; then
  run_script "Cluster: two servers, nginx, PgBouncer, a replica ($1)" \
    "$root/tests/cluster/run.sh" "$1"
fi
if [[ ${TEST_DJANGO:-1} != 0 ]]; then
  # The same places tests/django/run.sh looks in.
  peer_dir=${DJANGO_PEER_DIR:-}
  for d in "$root/../shared/peer-drf" "$root/../../shared/peer-drf"; do
    [[ -z $peer_dir && -f $d/manage.py ]] && peer_dir=$d
  done
  if [[ -n $peer_dir && -f $peer_dir/manage.py ]]; then
    run_script "The Django version: import-django, both servers' JSON compared ($1)" \
      "$root/tests/django/run.sh" "$1"
  else
    echo "== The Django version: skipped, its directory (../shared/peer-drf or DJANGO_PEER_DIR) is absent"
  fi
fi
echo "== all runs took $((SECONDS - start)) s"
if [[ -s $failures ]]; then
  echo "== what failed:"
  cut -c1-400 "$failures" | awk '!seen[$0]++' | head -n 60
fi
((failed == 0)) || rc=1
echo "$passed passed, $failed failed"
exit "$rc"
