"""lakeglue Airflow sensors (and the intake step of event-driven runs)."""
