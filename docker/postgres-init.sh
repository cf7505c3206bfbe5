#!/bin/bash
# Databases of the compose profile, created on the first start of the postgres container (an empty volume):
# Airflow's metadata, lakeglue's bookkeeping (LAKEGLUE_STATE_URL: ledger, locks, pins, quality history,
# table versions), the Hive Metastore's schema. Passwords come from the container's environment (.env).
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" \
     -v airflow_pw="$AIRFLOW_DB_PASSWORD" -v lakeglue_pw="$LAKEGLUE_DB_PASSWORD" -v hive_pw="$HMS_DB_PASSWORD" <<'SQL'
CREATE USER airflow WITH PASSWORD :'airflow_pw';
CREATE DATABASE airflow OWNER airflow;
CREATE USER lakeglue WITH PASSWORD :'lakeglue_pw';
CREATE DATABASE lakeglue OWNER lakeglue;
CREATE USER hive WITH PASSWORD :'hive_pw';
CREATE DATABASE metastore OWNER hive;
SQL
