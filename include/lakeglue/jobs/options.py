"""Small helpers for job options: environment references and SQL literals for bookmarks."""

from __future__ import annotations

import os
import re

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(options: dict[str, str]) -> dict[str, str]:
    """Replace ``${VAR}`` with the environment's value, so specs never hold secrets."""
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ValueError(f"option refers to ${{{name}}}, but the environment variable {name} is not set")
        return os.environ[name]

    return {key: _ENV_REF.sub(value, text) for key, text in options.items()}


def sql_literal(value: str) -> str:
    """A quoted SQL string literal; the source database casts it to the bookmark column's type."""
    return "'" + value.replace("'", "''") + "'"
