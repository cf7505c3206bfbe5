"""Apply custom classifiers to a text sample, in order; each answers with a certainty in [0, 1].

Glue's rule: the first classifier that is certain (1.0) decides; if none is, the built-in
classifiers try; if they fail too, the custom classifier with the highest certainty wins.
Every classifier that said no leaves a line saying why, so a misconfigured pattern is
visible in the crawl result instead of silently falling through.
"""

from __future__ import annotations

import json
from typing import Any

from lakeglue.crawler.classifiers import Classifier, CsvClassifier, GrokClassifier, JsonClassifier
from lakeglue.crawler.classify import Sample, UnreadableFile
from lakeglue.crawler.grok import compile_grok
from lakeglue.crawler.infer import CsvHints, FileSchema, InferOptions, covered_stored_bytes, schema_of_objects
from lakeglue.crawler.types import GlueType

GROK_SERDE = "com.amazonaws.glue.serde.GrokSerDe"
OPEN_CSV_SERDE = "org.apache.hadoop.hive.serde2.OpenCSVSerde"
LAZY_SIMPLE_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"


def try_custom(sample: Sample, options: InferOptions) -> tuple[FileSchema | None, tuple[float, FileSchema] | None,
                                                               list[str]]:
    """(the certain classifier's schema, the best uncertain one, why each classifier declined)."""
    best: tuple[float, FileSchema] | None = None
    rejections: list[str] = []
    for classifier in options.classifiers:
        certainty, schema, why = _classify(classifier, sample, options)
        if schema is not None:
            schema.classifier = classifier.name
            if certainty >= 1.0:
                schema.notes.append(f"classified by custom classifier {classifier.name} (certainty 1.00)")
                schema.notes.extend(rejections)
                return schema, None, rejections
            if best is None or certainty > best[0]:
                best = (certainty, schema)
        rejections.append(f"classifier {classifier.name}: certainty {certainty:.2f} ({why})")
    return None, best, rejections


def _classify(classifier: Classifier, sample: Sample, options: InferOptions) -> tuple[float, FileSchema | None,
                                                                                       str]:
    if isinstance(classifier, GrokClassifier):
        return _grok(classifier, sample, options)
    if isinstance(classifier, JsonClassifier):
        return _json_path(classifier, sample, options)
    return _csv(classifier, sample, options)


def _lines(sample: Sample, limit: int) -> tuple[list[str], int]:
    """Non-empty lines of the sample (a line cut by the byte limit dropped) and characters consumed."""
    lines = sample.text.split("\n")
    if sample.truncated and not sample.text.endswith("\n"):
        lines = lines[:-1]
    out: list[str] = []
    consumed = 0
    for line in lines:
        if len(out) >= limit:
            break
        consumed += len(line) + 1
        if line.strip():
            out.append(line.rstrip("\r"))
    return out, consumed


def _grok(classifier: GrokClassifier, sample: Sample, options: InferOptions) -> tuple[float, FileSchema | None,
                                                                                     str]:
    grok = compile_grok(classifier.grok_pattern, classifier.custom_patterns)
    lines, consumed = _lines(sample, options.max_records)
    if not lines:
        return 0.0, None, "no lines"
    matched = [grok.match(line) for line in lines]
    hits = sum(1 for m in matched if m is not None)
    certainty = hits / len(lines)
    if not hits:
        return 0.0, None, f"the pattern matches none of {len(lines)} lines (first: {lines[0][:80]!r})"
    misses = [i for i, m in enumerate(matched, 1) if m is None]
    why = f"{hits} of {len(lines)} lines match" + (f"; line {misses[0]} does not" if misses else "")
    columns = [(f.name.lower(), GlueType(f.type)) for f in grok.fields]
    params = {"input.format": classifier.grok_pattern}
    if classifier.custom_patterns:
        params["input.grokCustomPatterns"] = classifier.custom_patterns
    schema = FileSchema(path=sample.path, format=classifier.classification, compression=sample.compression,
                        columns=columns, records=hits, stored_bytes=covered_stored_bytes(sample, consumed),
                        bytes_read=sample.bytes_read, serde=GROK_SERDE, serde_parameters=params,
                        notes=list(sample.notes))
    return certainty, schema, why


def _records_at(document: Any, steps: list[str]) -> list[Any]:
    current = [document]
    for step in steps:
        nxt: list[Any] = []
        for node in current:
            if step == "*" and isinstance(node, list):
                nxt.extend(node)
            elif step != "*" and isinstance(node, dict) and step in node:
                nxt.append(node[step])
        current = nxt
    return current


def _stream_array(text: str, limit: int) -> tuple[list[Any], int, bool]:
    """Elements of a top-level JSON array, decoded one by one so a sample cut mid-array still yields
    its complete elements; (elements, characters consumed, whether the array closed)."""
    decoder = json.JSONDecoder()
    pos = text.index("[") + 1
    items: list[Any] = []
    while len(items) < limit:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text):
            return items, pos, False
        if text[pos] == "]":
            return items, pos + 1, True
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            return items, pos, False
        items.append(item)
    return items, pos, False


def _json_path(classifier: JsonClassifier, sample: Sample, options: InferOptions) -> tuple[float, FileSchema | None,
                                                                                          str]:
    steps = classifier.steps()
    text = sample.text.strip()
    consumed = len(sample.text)
    if steps == ["*"] and text.startswith("["):
        records, consumed, _ = _stream_array(text, options.max_records)
    else:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            cut = " (the sample limit cut the document)" if sample.truncated else ""
            return 0.0, None, f"not one JSON document{cut}: line {exc.lineno} column {exc.colno}: {exc.msg}"
        records = _records_at(document, steps)[: options.max_records]
    objects = [r for r in records if isinstance(r, dict)]
    if not objects:
        return 0.0, None, f"no JSON object at {classifier.json_path}"
    notes = list(sample.notes)
    if len(objects) < len(records):
        notes.append(f"{len(records) - len(objects)} value(s) at {classifier.json_path} are not objects; skipped")
    schema = schema_of_objects(sample, objects, options.narrow_ints, notes)
    schema.stored_bytes = covered_stored_bytes(sample, consumed)
    schema.table_parameters = {"jsonPath": classifier.json_path}
    return len(objects) / len(records), schema, f"{len(objects)} of {len(records)} values are objects"


def csv_hints(classifier: CsvClassifier) -> CsvHints:
    header = {"PRESENT": True, "ABSENT": False}.get(classifier.contains_header)
    return CsvHints(delimiter=classifier.delimiter, header=header, quote_char=classifier.quote_symbol,
                    names=classifier.header, trim=not classifier.disable_value_trimming,
                    allow_single_column=classifier.allow_single_column)


def _csv(classifier: CsvClassifier, sample: Sample, options: InferOptions) -> tuple[float, FileSchema | None, str]:
    from lakeglue.crawler.csvinfer import infer_csv

    try:
        schema = infer_csv(sample, options.max_records, csv_hints(classifier), options.narrow_ints)
    except UnreadableFile as exc:
        return 0.0, None, exc.reason
    if classifier.serde == "OpenCSVSerDe" or (classifier.serde == "None" and (schema.quoted or
                                                                               classifier.quote_symbol != '"')):
        schema.serde = OPEN_CSV_SERDE
    elif classifier.serde == "LazySimpleSerDe":
        schema.serde = LAZY_SIMPLE_SERDE
    schema.quoted = schema.quoted or classifier.quote_symbol != '"'
    if classifier.quote_symbol != '"':
        schema.serde_parameters = {"quoteChar": classifier.quote_symbol}
    return 1.0, schema, "parses with the classifier's options"
