"""Registers lakeglue with Airflow's plugin manager (the plugins folder points here)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


class LakeGluePlugin(AirflowPlugin):
    name = "lakeglue"
