#!/bin/sh
# Vigil's PostgreSQL logins: one LOGIN role per Vigil role, a member of it (docs/operations.md).
#
# The migrations create the NOLOGIN roles and their grants; the logins and their passwords
# are the operator's. Run as a superuser (or a role with CREATEROLE that owns the database):
#   PGHOST=… PGUSER=postgres PGDATABASE=vigil \
#   VIGIL_DB_OWNER_PASSWORD=… VIGIL_DB_INGEST_PASSWORD=… VIGIL_DB_ANALYZER_PASSWORD=… \
#   VIGIL_DB_OPTIMIZER_PASSWORD=… VIGIL_DB_ALERTER_PASSWORD=… VIGIL_DB_RETENTION_PASSWORD=… \
#   VIGIL_DB_CLI_PASSWORD=… VIGIL_DB_READONLY_PASSWORD=… sh create-logins.sh
# docker-compose.yml mounts it into the postgres image's /docker-entrypoint-initdb.d, which
# runs it once, when the data volume is created. Safe to run again (passwords are reset).
# It creates the NOLOGIN roles too when they do not exist yet (the migrations keep them),
# so the logins can be made before the first migration; vigil_owner_login runs migrations
# (CREATEROLE: the migrations create roles) and owns the database.
set -eu
: "${PGDATABASE:=${POSTGRES_DB:-vigil}}"
export PGDATABASE
psql -v ON_ERROR_STOP=1 -X -q \
  -v owner_pw="${VIGIL_DB_OWNER_PASSWORD:?}" \
  -v ingest_pw="${VIGIL_DB_INGEST_PASSWORD:?}" \
  -v analyzer_pw="${VIGIL_DB_ANALYZER_PASSWORD:?}" \
  -v optimizer_pw="${VIGIL_DB_OPTIMIZER_PASSWORD:?}" \
  -v alerter_pw="${VIGIL_DB_ALERTER_PASSWORD:?}" \
  -v retention_pw="${VIGIL_DB_RETENTION_PASSWORD:?}" \
  -v cli_pw="${VIGIL_DB_CLI_PASSWORD:?}" \
  -v readonly_pw="${VIGIL_DB_READONLY_PASSWORD:?}" \
  <<'SQL'
SELECT format('CREATE ROLE %I NOLOGIN', r)
  FROM unnest(ARRAY['vigil_owner', 'vigil_ingest', 'vigil_analyzer', 'vigil_optimizer',
                    'vigil_alerter', 'vigil_retention', 'vigil_cli', 'vigil_readonly']) AS r
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) \gexec
SELECT format('CREATE ROLE %I LOGIN', r || '_login')
  FROM unnest(ARRAY['vigil_owner', 'vigil_ingest', 'vigil_analyzer', 'vigil_optimizer',
                    'vigil_alerter', 'vigil_retention', 'vigil_cli', 'vigil_readonly']) AS r
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r || '_login') \gexec

ALTER ROLE vigil_owner_login     LOGIN CREATEROLE PASSWORD :'owner_pw';
ALTER ROLE vigil_ingest_login    LOGIN PASSWORD :'ingest_pw';
ALTER ROLE vigil_analyzer_login  LOGIN PASSWORD :'analyzer_pw';
ALTER ROLE vigil_optimizer_login LOGIN PASSWORD :'optimizer_pw';
ALTER ROLE vigil_alerter_login   LOGIN PASSWORD :'alerter_pw';
ALTER ROLE vigil_retention_login LOGIN PASSWORD :'retention_pw';
ALTER ROLE vigil_cli_login       LOGIN PASSWORD :'cli_pw';
ALTER ROLE vigil_readonly_login  LOGIN PASSWORD :'readonly_pw';

GRANT vigil_owner     TO vigil_owner_login;
GRANT vigil_ingest    TO vigil_ingest_login;
GRANT vigil_analyzer  TO vigil_analyzer_login;
GRANT vigil_optimizer TO vigil_optimizer_login;
GRANT vigil_alerter   TO vigil_alerter_login;
GRANT vigil_retention TO vigil_retention_login;
GRANT vigil_cli       TO vigil_cli_login;
GRANT vigil_readonly  TO vigil_readonly_login;

SELECT format('ALTER DATABASE %I OWNER TO vigil_owner_login', current_database()) \gexec
SQL
