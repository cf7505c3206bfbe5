"""Pipeline specs (include/pipelines/*.yml) as validated objects."""

from lakeglue.pipelines.spec import PipelineSpec, SpecError, list_pipelines, load_pipeline

__all__ = ["PipelineSpec", "SpecError", "list_pipelines", "load_pipeline"]
