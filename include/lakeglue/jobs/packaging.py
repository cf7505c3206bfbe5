"""Ship the engine to where jobs run: one deterministic zip of the ``lakeglue`` package, with the
project's ``pipeline_steps`` package (custom silver steps, include/pipeline_steps/) beside it.

spark-submit takes it as ``--py-files`` (a cluster's executors have no editable install),
Glue as ``--extra-py-files``. A Glue job has no project checkout either, so the zip also
carries the project files jobs read — pipeline specs, SQL, quality suites — under
``lakeglue_project/include/`` (unpacked by :mod:`lakeglue.jobs.glue_launcher`). Entries are
sorted and timestamped at a fixed date, so the same code gives byte-identical zips and a
content hash names the artifact.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import lakeglue
from lakeglue.pipelines.spec import STEPS_PACKAGE
from lakeglue.settings import INCLUDE_DIR

PACKAGE_DIR = Path(lakeglue.__file__).resolve().parent
#: User code of custom silver steps: the driver imports it and executors unpickle UDFs from it.
STEPS_DIR = INCLUDE_DIR / STEPS_PACKAGE
#: Folders of ``include/`` that jobs read at run time.
PROJECT_FOLDERS = ("pipelines", "sql", "quality")
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def package_files(package_dir: Path = PACKAGE_DIR) -> list[Path]:
    return sorted(p for p in package_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                  and p.suffix not in (".pyc", ".pyo"))


def project_files(include_dir: Path = INCLUDE_DIR) -> list[tuple[str, Path]]:
    """(name in the zip, file) of every spec, SQL file and suite, sorted."""
    found = []
    for folder in PROJECT_FOLDERS:
        root = include_dir / folder
        if root.is_dir():
            found += [(f"lakeglue_project/include/{folder}/{p.relative_to(root).as_posix()}", p)
                      for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return sorted(found)


def build_code_zip(dest_dir: str | Path, package_dir: Path = PACKAGE_DIR, steps_dir: Path = STEPS_DIR) -> Path:
    """Write ``lakeglue-<sha12>.zip`` (importable as ``lakeglue`` and ``pipeline_steps``) into ``dest_dir``."""
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    tmp = dest / "lakeglue.zip.part"
    packages = [("lakeglue", package_dir), *([(STEPS_PACKAGE, steps_dir)] if steps_dir.is_dir() else [])]
    entries = [(f"{name}/{path.relative_to(directory).as_posix()}", path)
               for name, directory in packages for path in package_files(directory)]
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, path in entries + project_files():
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()[:12]
    final = dest / f"lakeglue-{digest}.zip"
    tmp.replace(final)
    return final
