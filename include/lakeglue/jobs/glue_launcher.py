"""The script an AWS Glue job runs: set up lakeglue from the job's arguments, then run one job.

A Glue job is a fresh machine: no environment variables of ours, no project checkout — only
this script, the job's arguments and the ``--extra-py-files`` on ``sys.path`` (lakeglue's code
zip, which also carries the project's pipeline specs, SQL and quality suites under
``lakeglue_project/``). So, before anything imports :mod:`lakeglue.settings`, this script

1. applies ``--lakeglue-settings`` (a JSON object of ``LAKEGLUE_*`` variables the submitting
   worker resolved: profile, lake root, ledger URL, region, ...) to the environment, then the
   settings that hold credentials (a ledger URL with a password, the source DSN) from the
   Secrets Manager secret named by ``--lakeglue-settings-secret``: job arguments are readable by
   anyone allowed ``GetJobRun``, so credentials travel by reference only (the job's IAM role
   needs ``secretsmanager:GetSecretValue`` on that secret);
2. unpacks the project files from the code zip and points ``LAKEGLUE_PROJECT_ROOT`` at them;
3. hands the remaining arguments to the entry point of ``--engine`` (``spark`` or ``duckdb``),
   which ignores the arguments Glue adds itself (``--JOB_ID``, ``--JOB_RUN_ID``, ...).

It imports nothing of lakeglue at module level, so it runs as a plain script.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import zipfile

#: Folder of the code zip that holds the project files (see :mod:`lakeglue.jobs.packaging`).
PROJECT_FOLDER = "lakeglue_project/"
ENGINES = ("spark", "duckdb")


def apply_settings(encoded: str | None, source: str = "--lakeglue-settings") -> dict[str, str]:
    """Put the submitter's ``LAKEGLUE_*`` settings into the environment; refuse anything else.

    Error messages name the keys, never the values (they may be credentials)."""
    if not encoded:
        return {}
    try:
        values = json.loads(encoded)
    except ValueError:
        raise SystemExit(f"{source} is not JSON; it must be a JSON object of LAKEGLUE_* variables") from None
    if not isinstance(values, dict):
        raise SystemExit(f"{source} must be a JSON object of LAKEGLUE_* variables")
    bad = sorted(k for k in values if not str(k).startswith("LAKEGLUE_"))
    if bad:
        raise SystemExit(f"{source} may only set LAKEGLUE_* variables, not {bad}")
    applied = {str(k): str(v) for k, v in values.items()}
    os.environ.update(applied)
    return applied


def apply_secret_settings(secret_id: str | None) -> dict[str, str]:
    """Read the ``LAKEGLUE_*`` settings that hold credentials from Secrets Manager into the environment.

    The client uses the region and endpoint the public settings just set (``LAKEGLUE_AWS_REGION``,
    ``LAKEGLUE_AWS_ENDPOINT_URL``) and the job role's credentials.
    """
    if not secret_id:
        return {}
    import boto3

    client = boto3.client("secretsmanager", region_name=os.environ.get("LAKEGLUE_AWS_REGION") or None,
                          endpoint_url=os.environ.get("LAKEGLUE_AWS_ENDPOINT_URL") or None)
    try:
        value = client.get_secret_value(SecretId=secret_id)
    except Exception as exc:  # botocore's errors name the secret and the reason, never its value
        raise SystemExit(f"cannot read the settings secret {secret_id!r} from Secrets Manager: {exc}") from None
    return apply_settings(value.get("SecretString"), source=f"secret {secret_id!r}")


def code_zip() -> str | None:
    """The zip lakeglue is imported from, or None when it runs from a checkout/installation."""
    spec = importlib.util.find_spec("lakeglue")
    origin = (spec.origin if spec else None) or ""
    marker = ".zip" + os.sep
    return origin[: origin.index(marker) + 4] if marker in origin else None


def unpack_project(zip_path: str, dest: str) -> str | None:
    """Extract ``lakeglue_project/`` of the code zip into ``dest``; its path, or None if absent."""
    with zipfile.ZipFile(zip_path) as zf:
        members = [m for m in zf.namelist() if m.startswith(PROJECT_FOLDER) and not m.endswith("/")]
        if not members:
            return None
        zf.extractall(dest, members)
    return os.path.join(dest, PROJECT_FOLDER.rstrip("/"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lakeglue-glue-job", description=__doc__)
    parser.add_argument("--engine", choices=ENGINES, required=True)
    parser.add_argument("--lakeglue-settings", default=None)
    parser.add_argument("--lakeglue-settings-secret", default=None)
    args, rest = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    applied = apply_settings(args.lakeglue_settings)
    applied.update(apply_secret_settings(args.lakeglue_settings_secret))
    source = code_zip()
    if source and not os.environ.get("LAKEGLUE_PROJECT_ROOT"):
        root = unpack_project(source, tempfile.mkdtemp(prefix="lakeglue-project-"))
        if root:
            os.environ["LAKEGLUE_PROJECT_ROOT"] = root
    print(f"lakeglue {args.engine} job: code from {source or 'the installed package'}, "
          f"project files at {os.environ.get('LAKEGLUE_PROJECT_ROOT', 'the checkout')}, "
          f"settings {sorted(applied)}"
          + (f" ({args.lakeglue_settings_secret!r} gave the credentials)" if args.lakeglue_settings_secret else ""),
          flush=True)
    if args.engine == "duckdb":
        from lakeglue.jobs.duckdb.entrypoint import main as run
    else:
        from lakeglue.jobs.spark.entrypoint import main as run
    return run(rest)


if __name__ == "__main__":
    sys.exit(main())
