"""lakeglue Airflow sensors."""
