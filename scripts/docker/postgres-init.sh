#!/usr/bin/env bash
# Runs once, on the first start of the postgres container (empty data volume):
# creates the two databases and applies sql/ the same way scripts/infra does, recording
# each file in schema_migrations so a later `scripts/infra migrate`-style run stays a no-op.
set -euo pipefail
for db in orders learning; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" -d postgres \
       -c "CREATE DATABASE paynotify_${db} OWNER \"$POSTGRES_USER\""
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" -d "paynotify_${db}" \
       -c "CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
  for file in /paynotify-sql/${db}/*.sql; do
    [ -e "$file" ] || continue
    version=$(basename "$file" .sql)
    { cat "$file"; echo; echo "INSERT INTO schema_migrations(version) VALUES ('${version}');"; } |
      psql -v ON_ERROR_STOP=1 --single-transaction --username "$POSTGRES_USER" -d "paynotify_${db}"
  done
done
