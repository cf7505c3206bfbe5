"""lakeglue Airflow triggers."""
