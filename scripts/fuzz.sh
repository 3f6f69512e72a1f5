#!/usr/bin/env bash
# Build the libFuzzer targets of tests/fuzz/ (make fuzz-build, into build/fuzz)
# and run them, one after the other:
#   scripts/fuzz.sh run     each target for FUZZ_SECONDS (default 60)   (make fuzz)
#   scripts/fuzz.sh smoke   each target for FUZZ_SMOKE_SECONDS (default 3) (make test)
# Before fuzzing, every file of tests/fuzz/regressions/<target>/ is replayed
# once (the binary run on the files). Fuzzing starts from a copy of
# tests/fuzz/corpus/<target>/ in a temporary folder, so the repository does not
# grow; a crash, leak or timeout is kept in build/fuzz/artifacts/<target>/.
# Each replay and each fuzz run is one entry of the last line,
# "fuzz: N passed, M failed"; the exit status is 1 if any failed.
set -euo pipefail

if (($# != 1)) || [[ $1 != run && $1 != smoke ]]; then
  echo "usage: $0 run|smoke" >&2
  exit 2
fi
mode=$1
root=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$root"

if [[ $mode == run ]]; then
  seconds=${FUZZ_SECONDS:-60}
else
  seconds=${FUZZ_SMOKE_SECONDS:-3}
fi
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds < 1)); then
  echo "fuzz.sh: the number of seconds must be a whole number >= 1, not '$seconds'" >&2
  exit 2
fi
# One input that runs longer than this is a hang (libFuzzer's -timeout).
input_timeout=${FUZZ_INPUT_TIMEOUT:-10}

targets=(serializers token multipart routing)
fuzz_dir=$root/build/fuzz

TMP=$(mktemp -d "${TMPDIR:-/tmp}/devsearch-fuzz.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

build_log=$TMP/build.log
if ! make -s -j"$(nproc)" fuzz-build >"$build_log" 2>&1; then
  cat "$build_log" >&2
  echo "fuzz.sh: the fuzz build failed"
  echo "fuzz: 0 passed, 1 failed"
  exit 1
fi

# Leaks are errors; sanitizer reports stop the run (the build also makes UBSan fatal).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0 failed=0
record() { # record NAME RC LOG
  if [[ $2 -eq 0 ]]; then
    passed=$((passed + 1))
    echo "fuzz: $1: ok"
  else
    failed=$((failed + 1))
    echo "fuzz: $1: FAILED (exit $2); libFuzzer's report:"
    grep -E '^(==[0-9]+==|SUMMARY|artifact_prefix|Test unit written|    #[0-9]+ )|runtime error' "$3" |
      head -40 || true
  fi
}

for t in "${targets[@]}"; do
  bin=$fuzz_dir/fuzz_$t
  mkdir -p "$fuzz_dir/artifacts/$t"
  shopt -s nullglob
  regressions=("$root/tests/fuzz/regressions/$t"/*)
  shopt -u nullglob
  if ((${#regressions[@]})); then
    log=$TMP/$t.replay.log
    rc=0
    timeout $((input_timeout * ${#regressions[@]} + 30)) "$bin" -timeout="$input_timeout" \
      "${regressions[@]}" >"$log" 2>&1 || rc=$?
    record "$t replay (${#regressions[@]} inputs)" "$rc" "$log"
  fi

  corpus=$TMP/corpus-$t
  mkdir -p "$corpus"
  cp "$root/tests/fuzz/corpus/$t"/* "$corpus"/
  log=$TMP/$t.fuzz.log
  rc=0
  # timeout(1) only in case libFuzzer's own time limit fails to stop it.
  timeout $((seconds + input_timeout + 60)) "$bin" -max_total_time="$seconds" \
    -timeout="$input_timeout" -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
    -artifact_prefix="$fuzz_dir/artifacts/$t/" "$corpus" >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 || true)
  record "$t ${seconds}s (${runs:-?} inputs, ${cov:-cov: ?})" "$rc" "$log"
done

echo "fuzz: $passed passed, $failed failed"
((failed == 0))
