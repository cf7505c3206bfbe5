"""S3 event notifications (as SQS delivers them) → the objects they announce.

SQS delivers at least once and S3 may send two messages for one upload (moto sends
``ObjectCreated:Put`` and ``ObjectCreated:CompleteMultipartUpload`` for a multipart
upload), so this only *reads* notifications; deduplication happens when a run claims the
objects by (path, ETag). Keys arrive URL-encoded (``landing%2Fdt%3D…``, spaces as ``+``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import unquote_plus

from lakeglue.events.objects import ObjectInfo, PayloadError


def objects_from_sqs_messages(messages: Iterable[Mapping[str, Any]]) -> list[ObjectInfo]:
    """Created objects named by a batch of raw SQS messages (``Body`` holds the S3 event JSON).

    ``s3:TestEvent`` messages, removals and other event types are skipped; an S3 event
    wrapped in an SNS envelope (S3 → SNS → SQS fan-out) is unwrapped.
    """
    found: dict[tuple[str, str], ObjectInfo] = {}
    for message in messages:
        where = f"SQS message {message.get('MessageId', '?')}"
        body = _json(message.get("Body"), where)
        if isinstance(body, dict) and body.get("Type") == "Notification" and "Message" in body:
            body = _json(body["Message"], f"{where} (SNS envelope)")
        if not isinstance(body, dict):
            raise PayloadError(f"{where}: body is {type(body).__name__}, not an S3 event object")
        for i, record in enumerate(body.get("Records") or []):
            obj = object_from_s3_record(record, f"{where} Records[{i}]")
            if obj is not None:
                found.setdefault(obj.key, obj)
    return sorted(found.values())


def object_from_s3_record(record: Mapping[str, Any], where: str = "S3 record") -> ObjectInfo | None:
    if not str(record.get("eventName", "")).startswith("ObjectCreated:"):
        return None
    try:
        s3 = record["s3"]
        bucket = s3["bucket"]["name"]
        obj = s3["object"]
        key = unquote_plus(obj["key"])
        when = str(record.get("eventTime") or "")
        mtime = datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp() if when else 0.0
        return ObjectInfo(path=f"{bucket}/{key}", size=int(obj.get("size", 0)), mtime=mtime,
                          etag=str(obj.get("eTag") or obj.get("etag") or "").strip('"'))
    except (KeyError, TypeError, ValueError) as exc:
        raise PayloadError(f"{where}: not an S3 ObjectCreated record ({type(exc).__name__}: {exc})") from None


def _json(text: Any, where: str) -> Any:
    if isinstance(text, dict):
        return text
    try:
        return json.loads(str(text))
    except json.JSONDecodeError as exc:
        raise PayloadError(f"{where}: body is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
