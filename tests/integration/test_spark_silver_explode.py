"""Spark silver computes a parent record's values once before an explode, and only those."""

from __future__ import annotations

from typing import Any


def test_only_deterministic_values_of_the_parent_are_computed_before_the_explode(spark: Any) -> None:
    from pyspark.sql import functions as F

    from lakeglue.jobs.spark.silver import _per_parent_first

    parent = spark.createDataFrame([("7", ["a", "b"]), ("x", ["c"])], "order_id string, items array<string>")

    def explode(rows: Any) -> Any:
        return (rows.select("*", F.posexplode("items").alias("__pos", "item"))
                .withColumn("line_no", (F.col("__pos") + 1).cast("int")).drop("__pos"))

    values = [F.col("order_id").try_cast("bigint"),  # the parent's: once per order
              F.concat(F.col("order_id"), F.lit("-"), F.col("item")),  # needs the element
              F.col("line_no") * 10,  # needs the position
              F.rand(seed=1) + F.col("order_id").try_cast("double")]  # not deterministic: per element
    hoisted, used = _per_parent_first(parent, explode(parent), values, {"item", "line_no"})
    assert [c for c in hoisted.columns if c.startswith("__parent_")] == ["__parent_0"]
    assert str(used[0]) == str(F.col("__parent_0"))
    assert [str(u) for u in used[1:]] == [str(v) for v in values[1:]]
    rows = explode(hoisted).select(*(u.alias(f"v{i}") for i, u in enumerate(used[:3]))).collect()
    assert {tuple(r) for r in rows} == {(7, "7-a", 10), (7, "7-b", 20), (None, "x-c", 10)}
