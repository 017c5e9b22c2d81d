#!/bin/sh
# One-shot job (temporalio/admin-tools): creates or upgrades Temporal's PostgreSQL schemas.
# Safe to run on every `docker compose up`: creation steps tolerate an existing database,
# and update-schema only applies versions that are missing.
set -eu
: "${POSTGRES_SEEDS:?POSTGRES_SEEDS is required}"
: "${POSTGRES_USER:?POSTGRES_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD is required}"
PORT="${DB_PORT:-5432}"
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12

sql_tool() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -u "$POSTGRES_USER" -p "$PORT" "$@"
}

for database in temporal temporal_visibility; do
  if [ "$database" = temporal ]; then schema=temporal; else schema=visibility; fi
  sql_tool --db "$database" create || echo "database $database already exists"
  sql_tool --db "$database" setup-schema -v 0.0 || echo "schema of $database already set up"
  sql_tool --db "$database" update-schema -d "$SCHEMA_DIR/$schema/versioned"
done
echo "temporal schemas are up to date"
