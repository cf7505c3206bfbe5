"""lakeglue: an open, self-hostable data-lake engine (crawler, catalog, jobs, quality, query).

This package is plain Python and never imports airflow; Airflow wraps it in
``plugins/lakeglue_airflow``.
"""

__version__ = "0.1.0"
