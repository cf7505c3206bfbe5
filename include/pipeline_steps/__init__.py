"""User code of custom silver steps: ``silver.<table>.steps`` in a pipeline spec names functions here.

Each step gives a function per engine, ``pipeline_steps.<module>:<function>``:

* Spark: ``fn(df: pyspark.sql.DataFrame) -> pyspark.sql.DataFrame``;
* DuckDB: ``fn(rel: duckdb.DuckDBPyRelation) -> duckdb.DuckDBPyRelation | pyarrow.Table``.

This package ships with the engine's code zip (spark-submit ``--py-files``, Glue
``--extra-py-files``) and is on the DuckDB job's ``PYTHONPATH``. Import engine libraries inside
the functions, so a module loads on either engine. See docs/engines.md, "Custom Python steps".
"""
