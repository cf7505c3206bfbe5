"""Throwaway Airflow homes whose metadata DB is already migrated: one ``airflow db migrate`` per test session.

Six test modules each ran ``airflow db migrate`` for a fresh ``AIRFLOW_HOME`` (~5 s of CPU each:
Airflow's Alembic chain on SQLite, plus the CLI's imports). The migrated ``airflow.db`` is a
plain SQLite file that depends on nothing of the home it was made in, so the session migrates
one template home and every test gets a copy of the file in a home of its own: the same schema
and rows as its own migrate would have left, and still nothing shared between tests. Each home
writes its own ``airflow.cfg`` (secrets included) on first use, as a migrated home would have.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


class AirflowHomes:
    """Hands out fresh homes holding a copy of one migrated metadata DB; migrates it on first use."""

    def __init__(self, template: Path) -> None:
        self.template = template

    def _template_db(self) -> Path:
        db = self.template / "airflow.db"
        if not db.exists():
            env = {**os.environ, "AIRFLOW_HOME": str(self.template)}
            env.pop("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", None)  # the home's own SQLite file, as in every test
            done = subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, capture_output=True, text=True,
                                  timeout=600)
            assert done.returncode == 0, f"airflow db migrate failed:\n{(done.stdout + done.stderr)[-4000:]}"
        return db

    def new(self, home: Path) -> Path:
        """``home`` (created) with a migrated ``airflow.db``: use it as ``AIRFLOW_HOME`` instead of migrating."""
        home.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self._template_db(), home / "airflow.db")
        return home
