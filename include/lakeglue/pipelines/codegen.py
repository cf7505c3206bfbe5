"""Generate the thin DAG file of each pipeline spec, with the spec embedded.

Embedding the spec means Airflow parses a DAG file without reading any other file; a test
(and ``lakeglue dags check``) fails when a spec changed and its DAG file was not regenerated.
"""

from __future__ import annotations

import pprint
import textwrap
from pathlib import Path

from lakeglue.pipelines.spec import list_pipelines, load_spec_data, spec_from_dict
from lakeglue.settings import PIPELINES_DIR, PROJECT_ROOT

DAGS_DIR = PROJECT_ROOT / "dags"

TEMPLATE = '''"""{description}

Generated from include/pipelines/{name}.yml by `lakeglue dags generate`: edit the spec, not this file.
"""

from lakeglue_airflow.factory import build_pipeline_dags

SPEC = {spec}

globals().update(build_pipeline_dags(SPEC))
'''


def render_dag_file(spec_path: Path) -> str:
    path, data = load_spec_data(spec_path)
    spec = spec_from_dict(data, source=str(path))
    body = pprint.pformat(data, indent=4, width=110, sort_dicts=False)
    description = textwrap.fill(f"lakeglue pipeline {spec.name}: {spec.description}".strip(), width=110)
    return TEMPLATE.format(description=description,
                           name=spec.name, spec=body)


def dag_file_for(spec_path: Path, dags_dir: Path = DAGS_DIR) -> Path:
    return dags_dir / f"pipeline_{spec_path.stem}.py"


def generate(pipelines_dir: Path = PIPELINES_DIR, dags_dir: Path = DAGS_DIR) -> list[Path]:
    written = []
    for spec_path in list_pipelines(pipelines_dir):
        target = dag_file_for(spec_path, dags_dir)
        text = render_dag_file(spec_path)
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
            written.append(target)
    return written


def stale(pipelines_dir: Path = PIPELINES_DIR, dags_dir: Path = DAGS_DIR) -> list[Path]:
    """DAG files that do not match their spec (or are missing)."""
    return [dag_file_for(p, dags_dir) for p in list_pipelines(pipelines_dir)
            if not dag_file_for(p, dags_dir).exists() or dag_file_for(p, dags_dir).read_text() != render_dag_file(p)]
