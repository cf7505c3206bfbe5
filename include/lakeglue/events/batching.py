"""Turn a stream of listings into batches: a burst of uploads becomes one run.

A batch is released when ``min_files`` new objects are waiting, or when the waiting set
has not changed for ``quiet_seconds`` (no new object, no size/mtime change — which also
keeps half-written local files out), or when the oldest waiting object has waited
``max_wait_seconds`` (so a steady trickle cannot postpone a run forever). Pure logic over
an injected clock, so it is tested without sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass

from lakeglue.events.objects import ObjectInfo


@dataclass(frozen=True)
class BatchPolicy:
    min_files: int | None = None
    quiet_seconds: float = 10.0
    max_wait_seconds: float | None = 300.0
    #: Upper bound on objects per event: event payloads are stored as JSON in Airflow's DB.
    max_files: int = 1000

    def __post_init__(self) -> None:
        if self.min_files is not None and self.min_files < 1:
            raise ValueError(f"min_files={self.min_files} must be at least 1 (or None to rely on the quiet period)")
        if self.quiet_seconds < 0:
            raise ValueError(f"quiet_seconds={self.quiet_seconds} must not be negative")
        if self.max_wait_seconds is not None and self.max_wait_seconds < self.quiet_seconds:
            raise ValueError(f"max_wait_seconds={self.max_wait_seconds} is shorter than "
                             f"quiet_seconds={self.quiet_seconds}; a quiet batch could never be awaited")
        if self.max_files < 1:
            raise ValueError(f"max_files={self.max_files} must be at least 1")
        if self.min_files is not None and self.min_files > self.max_files:
            raise ValueError(f"min_files={self.min_files} exceeds max_files={self.max_files}")


class Batcher:
    """Remembers what was waiting at the previous observation and since when."""

    def __init__(self, policy: BatchPolicy) -> None:
        self.policy = policy
        self._signature: frozenset[tuple[str, str]] = frozenset()
        self._changed_at: float | None = None
        self._waiting_since: float | None = None

    def observe(self, waiting: list[ObjectInfo], now: float) -> list[ObjectInfo]:
        """The batch to release now (oldest paths first, at most ``max_files``), or ``[]``."""
        if not waiting:
            self._signature, self._changed_at, self._waiting_since = frozenset(), None, None
            return []
        signature = frozenset(o.key for o in waiting)
        if signature != self._signature or self._changed_at is None:
            if not signature <= self._signature:  # something new or changed (not just released)
                self._changed_at = now
            self._signature = signature
        if self._waiting_since is None:
            self._waiting_since = now
        assert self._changed_at is not None
        policy = self.policy
        ready = ((policy.min_files is not None and len(waiting) >= policy.min_files)
                 or now - self._changed_at >= policy.quiet_seconds
                 or (policy.max_wait_seconds is not None and now - self._waiting_since >= policy.max_wait_seconds))
        if not ready:
            return []
        batch = sorted(waiting)[: policy.max_files]
        rest = signature - {o.key for o in batch}
        self._signature = frozenset(rest)
        self._waiting_since = now if rest else None
        return batch
