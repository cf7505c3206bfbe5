"""PySpark implementations of the bronze, silver and gold transforms."""
