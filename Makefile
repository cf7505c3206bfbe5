# lakeglue — the two commands of the contract are `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV   := $(CURDIR)/.venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.stamp-install

# Embedded-profile environment shared by every target (Airflow home, DAGs, plugins, Spark).
export PATH := $(BIN):$(PATH)
export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION := False
# an idle scheduler looks again after 0.25 s (default 1 s): each task of a run starts sooner after the last
export AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME ?= 0.25
export AIRFLOW_CONN_SPARK_DEFAULT ?= {"conn_type": "spark", "host": "local[2]"}
export SPARK_LOCAL_IP ?= 127.0.0.1
export PYSPARK_PYTHON := $(BIN)/python
export LAKEGLUE_PROFILE ?= embedded
export LAKEGLUE_HOME ?= $(CURDIR)/lake
export PYTHONWARNINGS ?= ignore::FutureWarning

.PHONY: help setup java-check jdbc-driver chromium demo test test-fast airflow lint lock clean bench

help:
	@echo "make demo     set up everything and run the full pipeline on sample data"
	@echo "make test     set up everything and run the whole test suite"
	@echo "make airflow  airflow standalone on http://localhost:8080 with lakeglue's DAGs"
	@echo "make lint     ruff + mypy"

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; lakeglue needs Python 3.11 (e.g. apt-get install python3.11 python3.11-venv)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=24"
	$(BIN)/pip install -q -r requirements.txt
	@# pyspark-client (from the Spark provider) overwrites pyspark's Python files; put pyspark back.
	$(BIN)/pip install -q --force-reinstall --no-deps "$$(grep -E '^pyspark==' requirements.txt)"
	$(BIN)/pip install -q --no-deps -e .
	$(BIN)/python -c "import pyspark, sys; v = pyspark.__version__; sys.exit(0 if v == '$$(grep -E '^pyspark==' requirements.txt | cut -d= -f3)' else 'pyspark is ' + v)"
	touch $(STAMP)

setup: $(STAMP) java-check jdbc-driver chromium $(AIRFLOW_HOME)/airflow.db

JDBC_JAR := /usr/share/java/postgresql.jar

# Spark reads the "RDS" (Postgres) source with Debian's JDBC driver; installed when we may (root + apt-get).
jdbc-driver:
	@if [ -f $(JDBC_JAR) ]; then echo "postgres jdbc driver ok ($(JDBC_JAR))"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get install -y -qq libpostgresql-jdbc-java >/dev/null 2>&1 || \
	   (apt-get update -qq >/dev/null && apt-get install -y -qq libpostgresql-jdbc-java >/dev/null)) && \
	  echo "installed libpostgresql-jdbc-java ($(JDBC_JAR))"; \
	else echo "note: $(JDBC_JAR) missing; JDBC-source tests will skip. Install: sudo apt-get install -y libpostgresql-jdbc-java"; fi

CHROMIUM := /usr/bin/chromium

# The Data Lake UI browser test drives Debian's Chromium with playwright (no browser download).
chromium:
	@if [ -x $(CHROMIUM) ]; then echo "chromium ok ($(CHROMIUM))"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || \
	   (apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)) && \
	  echo "installed chromium ($(CHROMIUM))"; \
	else echo "note: $(CHROMIUM) missing; the UI browser test will skip. Install: sudo apt-get install -y chromium"; fi

java-check:
	@$(BIN)/python scripts/check_java.py

$(AIRFLOW_HOME)/airflow.db: $(STAMP)
	mkdir -p $(AIRFLOW_HOME)
	$(BIN)/airflow db migrate > $(AIRFLOW_HOME)/db-migrate.log 2>&1 || { cat $(AIRFLOW_HOME)/db-migrate.log; exit 1; }

demo: setup
	$(BIN)/python scripts/demo.py

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: setup
	$(BIN)/python -m pytest -m "not spark and not e2e" $(PYTEST_ARGS)

AIRFLOW_PASSWORDS := $(AIRFLOW_HOME)/simple_auth_manager_passwords.json.generated

airflow: setup
	@test -f $(AIRFLOW_PASSWORDS) || echo '{"admin": "admin"}' > $(AIRFLOW_PASSWORDS)
	$(BIN)/lakeglue dags generate
	@echo "Airflow UI: http://localhost:8080   user/password: $$($(BIN)/python -c 'import json,sys; print(", ".join(f"{u} / {p}" for u, p in json.load(open(sys.argv[1])).items()))' $(AIRFLOW_PASSWORDS))"
	AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=admin:admin $(BIN)/airflow standalone

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy include/lakeglue plugins/lakeglue_airflow

bench: setup
	$(BIN)/python bench/pipeline.py

lock:
	rm -rf /tmp/lakeglue-lock && $(PYTHON) -m venv /tmp/lakeglue-lock
	/tmp/lakeglue-lock/bin/pip install -q -r requirements.in
	{ head -2 requirements.txt; /tmp/lakeglue-lock/bin/pip freeze | grep -v '^-e'; } > requirements.txt.new && mv requirements.txt.new requirements.txt

clean:
	rm -rf $(VENV) $(AIRFLOW_HOME) lake spark-warehouse metastore_db derby.log
