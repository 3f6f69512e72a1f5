#!/usr/bin/env bash
# Draw the database schema: migrate a throwaway PostgreSQL cluster with the
# migrations of sql/, read the tables, columns, primary keys and foreign keys
# back from the catalog, write them as Graphviz dot and render docs/data-model.svg
# (`make data-model`). The diagram is what the migrations make, never drawn by hand.
#
#   scripts/data-model.sh [OUT.svg]     default docs/data-model.svg
#
# Needs build/devsearch (BUILD overrides build/), PostgreSQL and graphviz.
# Env: KEEP_DOT=FILE also keeps the dot source in FILE.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$root"
out=${1:-docs/data-model.svg}
bin=${BUILD:-build}/devsearch

if [[ ! -x $bin ]]; then
  echo "data-model.sh: $bin not found; run 'make build' first" >&2
  exit 1
fi
if ! command -v dot >/dev/null 2>&1; then
  echo "data-model.sh: dot (graphviz) not found; run scripts/deps.sh" >&2
  exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/devsearch-dm.XXXXXX")
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

url=$(PG_FAST=1 "$root/scripts/pg.sh" start "$TMP" datamodel)
if ! DATABASE_URL=$url MIGRATIONS_DIR=$root/sql "$bin" migrate >"$TMP/migrate.log" 2>&1; then
  cat "$TMP/migrate.log" >&2
  echo "data-model.sh: migrate failed" >&2
  exit 1
fi

# One statement builds the whole dot text, in a fixed order (tables and
# foreign keys by name, columns by position), so the same schema always gives
# the same file. Every table of the public schema is drawn, schema_migrations
# (made by the migration runner) included.
read -r -d '' SQL <<'EOF' || true
WITH tab AS (
  SELECT c.oid, c.relname
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
),
pk AS (
  SELECT k.conrelid, unnest(k.conkey) AS attnum
    FROM pg_constraint k JOIN tab ON tab.oid = k.conrelid
   WHERE k.contype = 'p'
),
fkcol AS (
  SELECT DISTINCT k.conrelid, unnest(k.conkey) AS attnum
    FROM pg_constraint k JOIN tab ON tab.oid = k.conrelid
   WHERE k.contype = 'f'
),
col AS (
  SELECT a.attrelid, a.attnum, a.attname,
         replace(replace(format_type(a.atttypid, a.atttypmod),
                 'timestamp with time zone', 'timestamptz'), 'character varying', 'varchar')
         AS typ,
         NOT a.attnotnull AS nullable,
         a.attgenerated = 's' AS generated,
         EXISTS (SELECT 1 FROM pk WHERE pk.conrelid = a.attrelid AND pk.attnum = a.attnum) AS is_pk,
         EXISTS (SELECT 1 FROM fkcol f WHERE f.conrelid = a.attrelid AND f.attnum = a.attnum) AS is_fk
    FROM pg_attribute a JOIN tab ON tab.oid = a.attrelid
   WHERE a.attnum > 0 AND NOT a.attisdropped
),
node AS (
  SELECT tab.relname,
         format(E'  %I [label=<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4">\n'
                '    <TR><TD COLSPAN="3" BGCOLOR="#d7e3f4"><B>%s</B></TD></TR>\n%s\n'
                '  </TABLE>>];',
                tab.relname, tab.relname,
                string_agg(format('    <TR><TD PORT="%s" ALIGN="LEFT">%s</TD>'
                                  '<TD ALIGN="LEFT">%s</TD><TD PORT="%s_out" ALIGN="LEFT">%s</TD></TR>',
                                  col.attname,
                                  CASE WHEN col.is_pk THEN '<U>' || col.attname || '</U>'
                                       ELSE col.attname END,
                                  replace(replace(replace(col.typ, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'),
                                  col.attname,
                                  concat_ws(' ',
                                            CASE WHEN col.is_pk THEN 'PK' END,
                                            CASE WHEN col.is_fk THEN 'FK' END,
                                            CASE WHEN col.generated THEN 'generated' END,
                                            CASE WHEN col.nullable THEN 'null' END)),
                           E'\n' ORDER BY col.attnum)) AS dot
    FROM tab JOIN col ON col.attrelid = tab.oid
   GROUP BY tab.relname
),
fk AS (
  SELECT k.conname, src.relname AS src, dst.relname AS dst,
         (SELECT array_agg(a.attname ORDER BY u.i) FROM unnest(k.conkey) WITH ORDINALITY u(n, i)
            JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n) AS src_cols,
         (SELECT array_agg(a.attname ORDER BY u.i) FROM unnest(k.confkey) WITH ORDINALITY u(n, i)
            JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n) AS dst_cols,
         (SELECT array_agg(a.attname ORDER BY a.attname) FROM pg_attribute a
           WHERE a.attrelid = k.conrelid AND a.attnum = ANY (k.confdelsetcols)) AS set_cols,
         CASE k.confdeltype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT'
              WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT' END
         AS rule
    FROM pg_constraint k
    JOIN tab src ON src.oid = k.conrelid
    JOIN tab dst ON dst.oid = k.confrelid
   WHERE k.contype = 'f'
),
edge AS (
  SELECT src, conname,
         format('  %I:%I:e -> %I:%I:w [label="%s"%s];',
                src, src_cols[1] || '_out', dst, dst_cols[1],
                CASE WHEN cardinality(src_cols) > 1
                     THEN '(' || array_to_string(src_cols, ', ') || ') → ('
                          || array_to_string(dst_cols, ', ') || ')\n' ELSE '' END
                || 'ON DELETE ' || rule
                || coalesce(' (' || array_to_string(set_cols, ', ') || ')', ''),
                CASE rule WHEN 'CASCADE' THEN ''
                          ELSE ', style=dashed, color="#a04000", fontcolor="#a04000"' END) AS dot
    FROM fk
)
SELECT concat_ws(E'\n',
  'digraph devsearch {',
  '  // Generated by scripts/data-model.sh from the migrated schema; do not edit.',
  '  graph [rankdir=LR, fontname="Helvetica", fontsize=11, nodesep=0.35, ranksep=0.9,',
  '         label="DevSearch schema (generated from sql/ by scripts/data-model.sh): '
     'arrows go from a foreign key to the key it references; dashed: not ON DELETE CASCADE",',
  '         labelloc=t];',
  '  node [shape=plaintext, fontname="Helvetica", fontsize=10];',
  '  edge [fontname="Helvetica", fontsize=9, color="#4a5d7e", fontcolor="#4a5d7e", arrowsize=0.7];',
  (SELECT string_agg(dot, E'\n' ORDER BY relname) FROM node),
  (SELECT string_agg(dot, E'\n' ORDER BY src, conname) FROM edge),
  '}');
EOF

psql "$url" -X -q -v ON_ERROR_STOP=1 -t -A -c "$SQL" >"$TMP/model.dot"
if [[ -n ${KEEP_DOT:-} ]]; then
  cp "$TMP/model.dot" "$KEEP_DOT"
fi
mkdir -p "$(dirname "$out")"
dot -Tsvg "$TMP/model.dot" -o "$TMP/model.svg"
mv "$TMP/model.svg" "$out"
echo "data-model.sh: wrote $out ($(grep -c '^  [a-z_]* \[label=' "$TMP/model.dot") tables)" >&2
