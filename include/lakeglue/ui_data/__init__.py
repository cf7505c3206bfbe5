"""What the Data Lake pages show, gathered in plain Python (no Airflow, no web framework).

The Airflow plugin (``lakeglue_airflow.ui``) only renders these objects; unit tests call the
functions here directly against a real lake and catalog.
"""
