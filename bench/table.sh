#!/usr/bin/env bash
# Print the table of one result file of bench/run.sh (default: the latest).
#   bench/table.sh [bench/results/FILE.json]
set -euo pipefail

file=${1:-$(dirname "$0")/results/latest.json}
[[ -f $file ]] || {
  echo "table.sh: no such file: $file" >&2
  exit 1
}

jq -r '
  def f1: if . == null then "-" else (. * 10 | round / 10 | tostring) end;
  def x: if . == null then "" else ((. * 100 | round / 100 | tostring) + "x") end;
  def mib: if . == null then "-" else (. / 1024 | f1) end;
  def row($ep; $name; $r): [$ep, $name, ($r.rps | f1), ($r.p50_ms | f1), ($r.p99_ms | f1),
    ($r.errors | tostring), ($r.status_errors | tostring), ($r.peak_rss_kb | mib),
    ($r.bytes_per_response | round | tostring)];
  "# \(.date)  commit \(.commit)  \(.settings.profiles) profiles  \(.machine.nproc) cores, \(.machine.mem_total_kb / 1048576 | f1) GiB  wrk -t\(.settings.wrk.threads) -c\(.settings.wrk.connections), \(.settings.duration_s) s per run, best of \(.settings.runs_per_server) runs per server",
  (["endpoint", "server", "req/s", "p50 ms", "p99 ms", "errors", "4xx/5xx", "peak MiB", "bytes/resp"] | join("|")),
  (.servers as $servers | .endpoints as $all
    | ["list", "pages1_10", "pages1_500", "detail", "search", "me", "vote", "token"][] | . as $ep | select($all[$ep]) | $all[$ep] as $v
    | ((["c", "django"][] | select($v[.] != null) | row($ep; $servers[.].label; $v[.]) | join("|")),
       (if $v.ratio_c_over_django then
          [$ep, "C/Django", ($v.ratio_c_over_django.rps | x), ($v.ratio_c_over_django.p50_ms | x),
           ($v.ratio_c_over_django.p99_ms | x), "", "", ($v.ratio_c_over_django.peak_rss_kb | x), ""] | join("|")
        else empty end))),
  (if .ceiling then
    (.ceiling.http | ["ceiling", "HTTP (MHD)", (.rps | f1), (.p50_ms | f1), (.p99_ms | f1),
      (.errors | tostring), (.status_errors | tostring), (.peak_rss_kb | mib), (.bytes_per_response | round | tostring)] | join("|")),
    (.ceiling.database | ["ceiling", "DB pgbench c\(.clients)", (.tps | f1), "-", "-",
      (.failed_transactions | tostring), "-", "-", "-"] | join("|")),
    (.ceiling.database_detail // empty | ["ceiling", "DB detail c\(.clients)", (.tps | f1), "-", "-",
      (.failed_transactions | tostring), "-", "-", "-"] | join("|")),
    (.ceiling.argon2 // empty | ["ceiling", "argon2id x\(.threads)", (.hashes_per_s | f1), (.ms_per_hash | f1), "-",
      "-", "-", "-", "-"] | join("|"))
   else empty end),
  (if .ceiling and .ceiling.detail_c_fraction_of_database then
    "# detail (C): \(.ceiling.detail_c_fraction_of_database * 100 | round) % of what PostgreSQL alone answers for it (\(.ceiling.database_detail.tps | f1)/s)"
   else empty end),
  (if .ceiling and .ceiling.token_c_fraction_of_argon2 then
    "# token: C \(.ceiling.token_c_fraction_of_argon2 * 100 | round) %, Django \(if .ceiling.token_django_fraction_of_argon2 then (.ceiling.token_django_fraction_of_argon2 * 100 | round | tostring) + " %" else "-" end) of what argon2id alone hashes on this machine (\(.ceiling.argon2.hashes_per_s | f1)/s)"
   else empty end),
  (if .ceiling and .ceiling.list_c_fraction_of_lower then
    "# list (C): \(.ceiling.list_c_rps | f1) req/s = \(.ceiling.list_c_fraction_of_lower * 100 | round) % of the lower ceiling (\(if .ceiling.lower == "http" then "HTTP" else "database" end), \(.ceiling.lower_per_s | f1)/s)"
   else empty end)
' "$file" | while IFS= read -r line; do
  if [[ $line == "#"* ]]; then
    printf '%s\n' "$line"
  else
    IFS='|' read -r a b c d e f g h i <<<"$line"
    printf '%-10s %-13s %9s %9s %9s %7s %8s %9s %11s\n' "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$h" "$i"
  fi
done
