"""Custom classifiers, as Glue defines them: grok (or plain regex), JSON path, CSV options.

These are definitions only (cheap to import, JSON round-trippable in Glue's own API shape
``{"GrokClassifier": {...}}``); :mod:`lakeglue.crawler.custom` applies them to a sample.
A crawler tries its custom classifiers in order before the built-in ones, and the first
that is certain (certainty 1.0) decides the file's format and schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lakeglue.crawler.grok import GrokError, compile_grok

CSV_SERDES = ("OpenCSVSerDe", "LazySimpleSerDe", "None")
_JSON_PATH = re.compile(r"^\$(?:\.[A-Za-z_][\w]*|\[\*\]|\['[^']+'\])*$")


class ClassifierError(ValueError):
    """A classifier definition cannot be used; the message names the classifier and the field."""


@dataclass(frozen=True)
class GrokClassifier:
    """Lines matching ``grok_pattern`` entirely are records; named captures are the columns."""

    name: str
    classification: str
    grok_pattern: str
    custom_patterns: str = ""

    def __post_init__(self) -> None:
        if not self.classification:
            raise ClassifierError(f"grok classifier {self.name!r}: classification is required")
        try:
            compile_grok(self.grok_pattern, self.custom_patterns)
        except GrokError as exc:
            raise ClassifierError(f"grok classifier {self.name!r}: {exc}") from exc


@dataclass(frozen=True)
class JsonClassifier:
    """JSON whose records sit at ``json_path``: ``$[*]`` for a top-level array, ``$.data[*]``…"""

    name: str
    json_path: str

    @property
    def classification(self) -> str:
        return "json"

    def __post_init__(self) -> None:
        if not _JSON_PATH.match(self.json_path):
            raise ClassifierError(f"JSON classifier {self.name!r}: json_path {self.json_path!r} is not supported; "
                                  "use $ followed by .field, ['field'] or [*] steps (e.g. $[*], $.records[*])")

    def steps(self) -> list[str]:
        """The path as steps: a field name, or ``*`` for every array element."""
        return [m.group(1) or m.group(2) or "*"
                for m in re.finditer(r"\.([A-Za-z_]\w*)|\['([^']+)'\]|\[\*\]", self.json_path)]


@dataclass(frozen=True)
class CsvClassifier:
    """CSV with stated options instead of sniffing: delimiter, quote, header rule, column names."""

    name: str
    delimiter: str = ","
    quote_symbol: str = '"'
    contains_header: str = "UNKNOWN"
    header: tuple[str, ...] = field(default=())
    disable_value_trimming: bool = False
    allow_single_column: bool = False
    #: SerDe written to the catalog: OpenCSVSerDe, LazySimpleSerDe or None (decide from the data).
    serde: str = "None"

    @property
    def classification(self) -> str:
        return "csv"

    def __post_init__(self) -> None:
        object.__setattr__(self, "header", tuple(self.header))
        object.__setattr__(self, "contains_header", self.contains_header.upper())
        if len(self.delimiter) != 1 or len(self.quote_symbol) != 1:
            raise ClassifierError(f"CSV classifier {self.name!r}: delimiter and quote_symbol must be single "
                                  f"characters, got {self.delimiter!r} and {self.quote_symbol!r}")
        if self.delimiter == self.quote_symbol:
            raise ClassifierError(f"CSV classifier {self.name!r}: delimiter and quote_symbol are both "
                                  f"{self.delimiter!r}")
        if self.contains_header not in ("PRESENT", "ABSENT", "UNKNOWN"):
            raise ClassifierError(f"CSV classifier {self.name!r}: contains_header={self.contains_header!r}; "
                                  "choose PRESENT, ABSENT or UNKNOWN")
        if self.serde not in CSV_SERDES:
            raise ClassifierError(f"CSV classifier {self.name!r}: serde={self.serde!r}; choose one of "
                                  f"{', '.join(CSV_SERDES)}")


Classifier = GrokClassifier | JsonClassifier | CsvClassifier

#: Glue API key → (class, Glue field → our field).
_GLUE_SHAPES: dict[str, tuple[type, dict[str, str]]] = {
    "GrokClassifier": (GrokClassifier, {"Name": "name", "Classification": "classification",
                                        "GrokPattern": "grok_pattern", "CustomPatterns": "custom_patterns"}),
    "JsonClassifier": (JsonClassifier, {"Name": "name", "JsonPath": "json_path"}),
    "CsvClassifier": (CsvClassifier, {"Name": "name", "Delimiter": "delimiter", "QuoteSymbol": "quote_symbol",
                                      "ContainsHeader": "contains_header", "Header": "header",
                                      "DisableValueTrimming": "disable_value_trimming",
                                      "AllowSingleColumn": "allow_single_column", "Serde": "serde"}),
}


def classifier_to_dict(classifier: Classifier) -> dict[str, Any]:
    """Glue's ``CreateClassifier`` request shape (``{"CsvClassifier": {"Name": …}}``)."""
    for key, (cls, mapping) in _GLUE_SHAPES.items():
        if isinstance(classifier, cls):
            body: dict[str, Any] = {}
            for glue_name, ours in mapping.items():
                value = getattr(classifier, ours)
                if isinstance(value, tuple):
                    value = list(value)
                if value not in ("", [], None):
                    body[glue_name] = value
            return {key: body}
    raise ClassifierError(f"not a classifier: {classifier!r}")


def classifier_from_dict(data: dict[str, Any]) -> Classifier:
    """Accepts Glue's shape (``{"GrokClassifier": {"Name": …}}``) as stored by :func:`classifier_to_dict`."""
    if len(data) != 1 or next(iter(data)) not in _GLUE_SHAPES:
        raise ClassifierError(f"classifier {data!r}: expected one key among {', '.join(_GLUE_SHAPES)}")
    key, body = next(iter(data.items()))
    cls, mapping = _GLUE_SHAPES[key]
    unknown = sorted(set(body) - set(mapping))
    if unknown:
        raise ClassifierError(f"{key} {body.get('Name', '?')!r}: unknown fields {unknown}; known: {sorted(mapping)}")
    if "Name" not in body:
        raise ClassifierError(f"{key} {body!r}: Name is required")
    result: Classifier = cls(**{mapping[k]: v for k, v in body.items()})
    return result
