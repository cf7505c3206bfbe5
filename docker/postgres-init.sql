-- Databases of the compose profile: Airflow metadata, the lakeglue catalog/ledger, the Hive Metastore.
CREATE USER airflow WITH PASSWORD 'airflow';
CREATE DATABASE airflow OWNER airflow;
CREATE USER lakeglue WITH PASSWORD 'lakeglue';
CREATE DATABASE lakeglue OWNER lakeglue;
CREATE USER hive WITH PASSWORD 'hive';
CREATE DATABASE metastore OWNER hive;
