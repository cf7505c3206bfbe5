"""Grok patterns (``%{PATTERN:field:type}``) compiled to Python regular expressions.

Glue's grok classifier reads log-like text that no delimiter describes. A grok pattern is
a regular expression with named building blocks; this module expands them (built-ins
below, plus the classifier's custom patterns, one ``NAME regex`` per line as in Glue) into
one anchored regex whose named groups are the table's columns. A plain regex with Python
``(?P<name>…)`` or Java ``(?<name>…)`` groups works too: it is a grok pattern without blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Glue's grok ``data-type`` names → catalog types (unknown names are rejected).
GROK_TYPES = {"string": "string", "boolean": "boolean", "byte": "tinyint", "short": "smallint", "int": "int",
              "integer": "int", "long": "bigint", "bigint": "bigint", "float": "float", "double": "double",
              "date": "date", "timestamp": "timestamp"}

#: The commonly used part of the standard grok library (Logstash / Glue built-ins).
BUILTIN_PATTERNS: dict[str, str] = {
    "USERNAME": r"[a-zA-Z0-9._-]+",
    "USER": r"%{USERNAME}",
    "INT": r"(?:[+-]?(?:[0-9]+))",
    "BASE10NUM": r"(?:[+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+))",
    "NUMBER": r"(?:%{BASE10NUM})",
    "POSINT": r"\b(?:[1-9][0-9]*)\b",
    "NONNEGINT": r"\b(?:[0-9]+)\b",
    "WORD": r"\b\w+\b",
    "NOTSPACE": r"\S+",
    "SPACE": r"\s*",
    "DATA": r".*?",
    "GREEDYDATA": r".*",
    "QUOTEDSTRING": r"(?:\"(?:\\.|[^\\\"])*\"|'(?:\\.|[^\\'])*')",
    "QS": r"%{QUOTEDSTRING}",
    "UUID": r"[A-Fa-f0-9]{8}-(?:[A-Fa-f0-9]{4}-){3}[A-Fa-f0-9]{12}",
    "IPV4": r"(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9]?[0-9])",
    "IPV6": r"(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}",
    "IP": r"(?:%{IPV6}|%{IPV4})",
    "HOSTNAME": r"\b(?:[0-9A-Za-z][0-9A-Za-z-]{0,62})(?:\.(?:[0-9A-Za-z][0-9A-Za-z-]{0,62}))*(?:\.?|\b)",
    "IPORHOST": r"(?:%{IP}|%{HOSTNAME})",
    "HOSTPORT": r"%{IPORHOST}:%{POSINT}",
    "URIPATH": r"(?:/[A-Za-z0-9$.+!*'(){},~:;=@#%&_\-]*)+",
    "URIPARAM": r"\?[A-Za-z0-9$.+!*'|(){},~@#%&/=:;_?\-\[\]<>]*",
    "URIPATHPARAM": r"%{URIPATH}(?:%{URIPARAM})?",
    "EMAILADDRESS": r"[a-zA-Z0-9!#$%&'*+/=?^_`{|}~.-]+@[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*",
    "MONTH": r"\b(?:[Jj]an(?:uary)?|[Ff]eb(?:ruary)?|[Mm]ar(?:ch)?|[Aa]pr(?:il)?|[Mm]ay|[Jj]un(?:e)?|[Jj]ul(?:y)?|"
             r"[Aa]ug(?:ust)?|[Ss]ep(?:tember)?|[Oo]ct(?:ober)?|[Nn]ov(?:ember)?|[Dd]ec(?:ember)?)\b",
    "MONTHNUM": r"(?:0?[1-9]|1[0-2])",
    "MONTHDAY": r"(?:(?:0[1-9])|(?:[12][0-9])|(?:3[01])|[1-9])",
    "DAY": r"(?:Mon(?:day)?|Tue(?:sday)?|Wed(?:nesday)?|Thu(?:rsday)?|Fri(?:day)?|Sat(?:urday)?|Sun(?:day)?)",
    "YEAR": r"(?:\d\d){1,2}",
    "HOUR": r"(?:2[0123]|[01]?[0-9])",
    "MINUTE": r"(?:[0-5][0-9])",
    "SECOND": r"(?:(?:[0-5]?[0-9]|60)(?:[:.,][0-9]+)?)",
    "TIME": r"(?:%{HOUR}:%{MINUTE}(?::%{SECOND})?)",
    "DATE_US": r"%{MONTHNUM}[/-]%{MONTHDAY}[/-]%{YEAR}",
    "DATE_EU": r"%{MONTHDAY}[./-]%{MONTHNUM}[./-]%{YEAR}",
    "ISO8601_TIMEZONE": r"(?:Z|[+-]%{HOUR}(?::?%{MINUTE}))",
    "TIMESTAMP_ISO8601": r"%{YEAR}-%{MONTHNUM}-%{MONTHDAY}[T ]%{HOUR}:?%{MINUTE}(?::?%{SECOND})?"
                         r"%{ISO8601_TIMEZONE}?",
    "DATE": r"%{DATE_US}|%{DATE_EU}",
    "DATESTAMP": r"%{DATE}[- ]%{TIME}",
    "HTTPDATE": r"%{MONTHDAY}/%{MONTH}/%{YEAR}:%{TIME} %{INT}",
    "SYSLOGTIMESTAMP": r"%{MONTH} +%{MONTHDAY} %{TIME}",
    "LOGLEVEL": r"(?:[Aa]lert|ALERT|[Tt]race|TRACE|[Dd]ebug|DEBUG|[Nn]otice|NOTICE|[Ii]nfo|INFO|[Ww]arn(?:ing)?|"
                r"WARN(?:ING)?|[Ee]rr(?:or)?|ERR(?:OR)?|[Cc]rit(?:ical)?|CRIT(?:ICAL)?|[Ff]atal|FATAL|"
                r"[Ss]evere|SEVERE|EMERG(?:ENCY)?|[Ee]merg(?:ency)?)",
    "COMMONAPACHELOG": r"%{IPORHOST:clientip} %{USER:ident} %{USER:auth} \[%{HTTPDATE:timestamp}\] "
                       r"\"(?:%{WORD:verb} %{NOTSPACE:request}(?: HTTP/%{NUMBER:httpversion})?|%{DATA:rawrequest})\" "
                       r"%{NUMBER:response} (?:%{NUMBER:bytes}|-)",
    "COMBINEDAPACHELOG": r"%{COMMONAPACHELOG} %{QS:referrer} %{QS:agent}",
}

_REFERENCE = re.compile(r"%\{(\w+)(?::([\w.@\-]+))?(?::(\w+))?\}")
_JAVA_GROUP = re.compile(r"\(\?<([A-Za-z][\w]*)>")
_PY_GROUP = re.compile(r"\(\?P<([A-Za-z_][\w]*)>")
_MAX_DEPTH = 25


class GrokError(ValueError):
    """A grok pattern cannot be compiled; the message names the pattern and the problem."""


@dataclass(frozen=True)
class GrokField:
    """One captured column: its name in the table, its regex group and its declared type."""

    name: str
    group: str
    type: str


@dataclass(frozen=True)
class CompiledGrok:
    regex: re.Pattern[str]
    fields: tuple[GrokField, ...]

    def match(self, line: str) -> dict[str, str | None] | None:
        """Column → captured text of a line the pattern matches entirely, else ``None``."""
        found = self.regex.fullmatch(line)
        if found is None:
            return None
        return {f.name: found.group(f.group) for f in self.fields}


def parse_custom_patterns(text: str) -> dict[str, str]:
    """Glue's CustomPatterns: one ``NAME regex`` per line; blank lines and ``#`` comments ignored."""
    patterns: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, _, body = line.partition(" ")
        if not re.fullmatch(r"\w+", name) or not body.strip():
            raise GrokError(f"custom pattern line {number} ({raw!r}) is not 'NAME regex'")
        patterns[name] = body.strip()
    return patterns


def compile_grok(pattern: str, custom_patterns: str = "") -> CompiledGrok:
    """Expand every ``%{…}`` reference and compile; columns are the named captures in order."""
    library = {**BUILTIN_PATTERNS, **parse_custom_patterns(custom_patterns)}
    fields: list[GrokField] = []

    def expand(text: str, depth: int, capture: bool) -> str:
        if depth > _MAX_DEPTH:
            raise GrokError(f"grok pattern {pattern!r}: references nest deeper than {_MAX_DEPTH} (a cycle?)")

        def replace(m: re.Match[str]) -> str:
            name, field_name, type_name = m.group(1), m.group(2), m.group(3)
            if name not in library:
                raise GrokError(f"grok pattern {pattern!r}: unknown pattern %{{{name}}}; define it in the "
                                "classifier's custom patterns")
            captured = capture and bool(field_name)
            # named references at any depth are columns (%{COMMONAPACHELOG} gives clientip, …),
            # except inside a reference that is itself captured: a column is never nested
            inner = expand(library[name], depth + 1, capture=capture and not captured)
            if not captured:
                return f"(?:{inner})"
            column_type = GROK_TYPES.get((type_name or "string").lower())
            if column_type is None:
                raise GrokError(f"grok pattern {pattern!r}: field {field_name} has unknown type {type_name!r}; "
                                f"use one of {', '.join(sorted(GROK_TYPES))}")
            group = f"g{len(fields)}"
            fields.append(GrokField(field_name, group, column_type))
            return f"(?P<{group}>{inner})"

        out = _REFERENCE.sub(replace, text)
        if not capture:
            out = _PY_GROUP.sub("(?:", _JAVA_GROUP.sub("(?:", out))
        return out

    expanded = expand(pattern, 0, capture=True)
    expanded = _JAVA_GROUP.sub(lambda m: f"(?P<{m.group(1)}>", expanded)
    for m in _PY_GROUP.finditer(expanded):
        if not re.fullmatch(r"g\d+", m.group(1)) or m.group(1) not in {f.group for f in fields}:
            fields.append(GrokField(m.group(1), m.group(1), "string"))
    try:
        regex = re.compile(expanded)
    except re.error as exc:
        raise GrokError(f"grok pattern {pattern!r} expands to an invalid regex: {exc}") from exc
    if not fields:
        raise GrokError(f"grok pattern {pattern!r} captures no field; name them as %{{PATTERN:field}} "
                        "or (?P<field>...)")
    ordered = sorted(fields, key=lambda f: regex.groupindex[f.group])
    names = [f.name for f in ordered]
    if len(set(names)) != len(names):
        raise GrokError(f"grok pattern {pattern!r} captures a field name twice: {names}")
    return CompiledGrok(regex, tuple(ordered))
