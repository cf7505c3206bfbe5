"""OpenLineage facets of the lakeglue operators: catalog tables as datasets, with their schema.

The Airflow OpenLineage provider asks each operator for ``get_openlineage_facets_on_complete``
(and, if a task fails, ``..._on_failure``, which falls back to it) after ``execute``, in the
worker. The datasets come from :mod:`lakeglue.lineage` — the same edges the Data Lake UI shows —
named ``database.table`` in the lake's namespace (:func:`lakeglue.lineage.catalog_namespace`),
with a schema facet read from the catalog; raw sources are datasets named by their URI.
Nothing here runs unless the provider is configured (a transport set), and all imports are
inside the methods, so DAG parsing does not pay for them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

    from lakeglue.catalog.base import Catalog
    from lakeglue.settings import Settings


def _schema_facet(catalog: Catalog, name: str) -> dict[str, Any]:
    """``{"schema": SchemaDatasetFacet}`` of a catalog table; empty for a table not (yet) in the catalog."""
    from openlineage.client.facet_v2 import schema_dataset

    from lakeglue.catalog.base import EntityNotFound

    database, _, table = name.partition(".")
    try:
        found = catalog.get_table(database, table)
    except EntityNotFound:
        return {}
    fields = [schema_dataset.SchemaDatasetFacetFields(name=c.name, type=c.type, description=c.comment or None)
              for c in (*found.storage.columns, *found.partition_keys)]
    return {"schema": schema_dataset.SchemaDatasetFacet(fields=fields)}


def datasets(names: Iterable[str], settings: Settings, catalog: Catalog) -> list[Any]:
    """OpenLineage datasets of lineage names: catalog tables get their schema, URIs are split per the naming spec."""
    from openlineage.client.event_v2 import Dataset

    from lakeglue.lineage import dataset_identity

    found = []
    for name in names:
        namespace, dataset_name = dataset_identity(name, settings)
        facets = {} if "://" in name else _schema_facet(catalog, name)
        found.append(Dataset(namespace=namespace, name=dataset_name, facets=facets))
    return found


def operator_lineage(inputs: Iterable[str], outputs: Iterable[str]) -> OperatorLineage:
    """The provider's ``OperatorLineage`` of a task reading ``inputs`` and writing ``outputs``."""
    from airflow.providers.openlineage.extractors import OperatorLineage

    from lakeglue.catalog import open_catalog
    from lakeglue.settings import get_settings

    settings = get_settings()
    catalog = open_catalog(settings)
    return OperatorLineage(inputs=datasets(inputs, settings, catalog), outputs=datasets(outputs, settings, catalog))


def pipeline_job_lineage(pipeline: str, kind: str, job: str | None = None) -> tuple[list[str], list[str]]:
    """(inputs, outputs) of one task of a pipeline (``job``: its task id, default ``kind``)."""
    from lakeglue.lineage import job_edges, pipeline_edges
    from lakeglue.pipelines import load_pipeline

    spec = load_pipeline(pipeline)
    return job_edges(pipeline_edges(spec), f"{spec.name}.{job or kind}")


class PipelineLineageMixin:
    """OpenLineage for the job operators (bronze, silver, gold): the job's edges in its pipeline's spec."""

    pipeline: str
    job: str

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        return operator_lineage(*pipeline_job_lineage(self.pipeline, self.job))
