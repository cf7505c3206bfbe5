"""lakeglue Airflow hooks."""
