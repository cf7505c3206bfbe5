"""Airflow glue for lakeglue: thin hooks, operators, sensors and triggers over ``lakeglue``.

Everything heavy (Spark, GX, DuckDB, pandas) is imported inside ``execute`` so DAG files
that import these modules still parse in well under a second.
"""
