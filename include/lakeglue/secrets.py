"""Secrets by reference: credentials travel as a secret's id, and every label shows them redacted.

Two rules, both here so every caller applies the same one:

* :func:`redact` is *the* function that turns a URL or DSN into something safe to show —
  lineage (``_source_file``, a table's ``source_table`` parameter), log lines, error messages.
  ``scheme://user:pw@host`` becomes ``scheme://user:***@host`` and ``password=…`` (query
  string, JDBC ``;`` options, libpq key/value DSNs) becomes ``password=***``.
* :func:`split_secret_settings` says which ``LAKEGLUE_*`` settings hold credentials (a catalog /
  ledger URL with a password, the source DSN). A Glue job gets those only as a Secrets Manager
  secret id (``--lakeglue-settings-secret``) that it resolves itself, never as job arguments,
  which anyone allowed to call ``GetJobRun`` can read.

This module imports nothing of lakeglue, so the Glue launcher may use it before settings load.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

MASK = "***"
#: ``//user:password@`` in a URL (the password may not contain an unencoded ``/``, as URLs require).
_USERINFO = re.compile(r"(//[^/@:\s]*):([^/\s]*)@")
#: ``password=…`` in a query string, JDBC ``;`` options or a libpq key/value DSN (quoted or not).
_PARAM = re.compile(r"(?i)\b(password|passwd|pwd|sslpassword)(\s*=\s*)('(?:[^'\\]|\\.)*'|[^&;\s]*)")
#: Settings that always hold credentials, whatever their form.
ALWAYS_SECRET = ("LAKEGLUE_SOURCE_POSTGRES_DSN",)
#: Settings that hold credentials when they carry a password (a URL may also use IAM or trust auth).
SECRET_IF_PASSWORD = ("LAKEGLUE_CATALOG_URL", "LAKEGLUE_STATE_URL")


def redact(text: str) -> str:
    """``text`` with every password it carries replaced by ``***`` (URLs, DSNs, JDBC options)."""
    if not text:
        return text
    text = _USERINFO.sub(lambda m: f"{m.group(1)}:{MASK}@", text)
    return _PARAM.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)


def has_password(text: str) -> bool:
    """Whether :func:`redact` would hide something in ``text``."""
    return redact(text) != text


def split_secret_settings(values: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """``(public, secret)``: settings safe to pass as job arguments, and those that must go by reference."""
    public: dict[str, str] = {}
    secret: dict[str, str] = {}
    for key, value in values.items():
        if value and (key in ALWAYS_SECRET or (key in SECRET_IF_PASSWORD and has_password(value))):
            secret[key] = value
        else:
            public[key] = value
    return public, secret
