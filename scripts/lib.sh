# shellcheck shell=bash
# Shell helpers shared by the scripts that start servers and clusters of their own
# (bench/run.sh, scripts/soak.sh, scripts/test.sh, tests/cluster/run.sh,
# tests/django/run.sh). Source it after setting LOG_NAME, the prefix of every log line.

log() { printf '%s [%4ds]: %s\n' "$LOG_NAME" "$SECONDS" "$*" >&2; }

# A test script's checks, "LOG_NAME: ok   what" or "LOG_NAME: FAIL what", counted in
# its passed and failed.
ok() {
  passed=$((passed + 1))
  printf '%s: ok   %s\n' "$LOG_NAME" "$*"
}
fail() {
  failed=$((failed + 1))
  printf '%s: FAIL %s\n' "$LOG_NAME" "$*"
}
check() { # DESCRIPTION EXPECTED ACTUAL
  if [[ $2 == "$3" ]]; then ok "$1"; else fail "$1 (expected $2, got $3)"; fi
}

die() {
  log "error: $*"
  exit 1
}

whole_number() { # NAME VALUE MIN MAX: stop unless VALUE is a whole number in range
  if ! [[ $2 =~ ^[0-9]+$ ]] || (($2 < $3 || $2 > $4)); then
    die "$1: expected a whole number from $3 to $4, got \"$2\""
  fi
}

# PID [SECONDS]: TERM, up to SECONDS (default 20) for it to end, then KILL; then
# reap it. Only for processes the script started itself.
stop_pid() {
  local p=$1 tries=$((${2:-20} * 5)) i
  [[ -n $p ]] && kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p" 2>/dev/null || true
  for ((i = 0; i < tries; i++)); do
    kill -0 "$p" 2>/dev/null || break
    sleep 0.2
  done
  kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
  wait "$p" 2>/dev/null || true
}

# DIR KEEP WHAT: at the end of a run, keep DIR (saying it holds WHAT) when KEEP is 1,
# else remove it.
keep_or_remove() {
  if [[ $2 == 1 ]]; then
    log "kept $1${3:+ ($3)}"
  else
    rm -rf "$1" >/dev/null 2>&1 || true
  fi
}

# A free TCP port on 127.0.0.1 into the variable VAR: below the kernel's ephemeral
# range (32768 up), where no client connection takes a port, from a random base so
# parallel runs differ; a port any socket uses (ss) is skipped, and so is every port
# handed out before in this shell.
port_busy() { ss -Htan "( sport = :$1 )" | grep -q .; }
next_port=$((20000 + RANDOM % 12000))
free_port() { # VAR
  while port_busy "$next_port"; do next_port=$((next_port + 1)); done
  printf -v "$1" '%s' "$next_port"
  next_port=$((next_port + 1))
}
