"""Exceptions of the quality gate, kept apart so callers can catch them without importing GX."""

from __future__ import annotations


class QualityError(Exception):
    """Base class: the gate could not evaluate (bad suite, unreadable table), or it failed."""


class SuiteError(QualityError, ValueError):
    """A suite file is invalid; the message names the file, the expectation (index, line) and the problem."""


class QualityGateFailed(QualityError):
    """At least one ``error``-severity rule failed; the message is the readable summary.

    Raised on purpose so that an orchestrator stops downstream (gold) work.
    """
