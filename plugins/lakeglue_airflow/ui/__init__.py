"""lakeglue Airflow ui."""
