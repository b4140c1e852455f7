#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d):
# Sensorpipe's own role, not a superuser, owning its database (docs/postgres.md).
set -eu
: "${SP_DB_PASSWORD:?set SP_DB_PASSWORD in deploy/.env}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -v pw="$SP_DB_PASSWORD" <<'SQL'
CREATE ROLE sensorpipe LOGIN PASSWORD :'pw';
CREATE DATABASE sensorpipe OWNER sensorpipe;
SQL
