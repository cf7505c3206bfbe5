"""lakeglue Airflow operators."""
