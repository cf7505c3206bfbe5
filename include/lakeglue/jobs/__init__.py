"""The job framework: bronze → silver → gold transforms declared in the pipeline spec.

Engine-neutral pieces (context, metrics, batch ids, bookmarks, versioned commits, catalog
registration, quarantine layout, fault points, packaging) live here; ``jobs.spark`` runs the
transforms on PySpark and ``jobs.duckdb`` on DuckDB (single node), chosen per job by
``engine_choice`` from the spec's ``engines:``.
"""
