"""Progress lines of long jobs, so a running task's log shows where the job is.

A bronze batch can spend many minutes inside one DuckDB statement or one Spark action, where
the job's code does not get control back; so a daemon thread writes the line every
``progress_seconds`` (a setting), not the job: the table being worked on, its files, the files
and rows done so far, the current step, and what the engine can tell about the statement in
flight (Spark: tasks done of the running stages). The job only updates counters — a few
integer additions per file or table — so the hooks cost nothing measurable, and a job that
finishes before the first tick logs nothing extra.

Hooks reach the tracker through :func:`current` (one job per process: the DuckDB subprocess,
the Spark driver), so functions deep in a job need no new parameter; outside a tracked job
:func:`current` is a tracker that is never started, whose updates go nowhere.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: Text of the engine's own view of the running statement, or None (called from the progress thread).
EngineStatus = Callable[[], str | None]


def _print(line: str) -> None:
    print(line, flush=True)  # jobs report on stdout, which the worker streams into the task log


class JobProgress:
    """Counters of one job run and the thread that logs them."""

    def __init__(self, job: str, tables: int = 0, emit: Callable[[str], None] = _print,
                 engine_status: EngineStatus | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.job = job
        self.tables_total = tables
        self.tables_done = 0
        self.table = ""
        self.table_files = 0
        self.table_bytes = 0
        self.files_done = 0
        self.rows_done = 0
        self.step = "starting"
        self._emit = emit
        self._engine_status = engine_status
        self._clock = clock
        self._started = clock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- hooks (called by the job; cheap) ---------------------------------------------------------
    def start_table(self, table: str, files: int = 0, size: int = 0) -> None:
        self.table, self.table_files, self.table_bytes, self.step = table, files, size, "claiming files"

    def claimed(self, files: int, size: int) -> None:
        self.table_files, self.table_bytes = files, size

    def set_step(self, step: str) -> None:
        self.step = step

    def add(self, files: int = 0, rows: int = 0) -> None:
        self.files_done += files
        self.rows_done += rows

    def table_done(self, files: int = 0, rows: int = 0) -> None:
        self.tables_done += 1
        self.files_done += files
        self.rows_done += rows
        self.step = "table done"

    # -- the line ---------------------------------------------------------------------------------
    def line(self) -> str:
        """``progress bronze: table orders (2/3): 120 files (45.3 MB); 80 files and 1,204,332 rows done; …``."""
        parts = [f"progress {self.job}:"]
        if self.table:
            of = f" ({self.tables_done + 1}/{self.tables_total})" if self.tables_total else ""
            parts.append(f"table {self.table}{of}: {self.table_files} files ({_size(self.table_bytes)});")
        parts.append(f"{self.files_done} files and {self.rows_done:,} rows done;")
        parts.append(f"step: {self.step};")
        if self._engine_status is not None:
            status = self._engine_status()
            if status:
                parts.append(f"{status};")
        parts.append(f"{self._clock() - self._started:.0f} s")
        return " ".join(parts)

    # -- the thread -------------------------------------------------------------------------------
    def start(self, interval: float) -> None:
        if interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, args=(interval,), name=f"lakeglue-progress-{self.job}",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self._emit(self.line())
            except Exception as exc:  # a progress line must never fail the job it reports on
                self._emit(f"progress {self.job}: cannot report ({type(exc).__name__}: {exc})")


_NOWHERE = JobProgress("none", emit=lambda line: None)
_current: JobProgress = _NOWHERE


def current() -> JobProgress:
    """The tracker of the job running in this process (an inert one outside :func:`tracking`)."""
    return _current


@contextmanager
def tracking(job: str, interval: float, tables: int = 0, engine_status: EngineStatus | None = None,
             emit: Callable[[str], None] = _print) -> Iterator[JobProgress]:
    """Track a job: ``current()`` is its tracker, and a line is logged every ``interval`` seconds until it ends."""
    global _current
    progress = JobProgress(job, tables, emit=emit, engine_status=engine_status)
    previous, _current = _current, progress
    progress.start(interval)
    try:
        yield progress
    finally:
        progress.stop()
        _current = previous


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"  # unreachable: GB is the last unit


def spark_status(spark: object) -> EngineStatus:
    """Spark's tasks done of its running stages (the status tracker is safe to ask from another thread)."""

    def status() -> str | None:
        tracker = spark.sparkContext.statusTracker()  # type: ignore[attr-defined]
        stages = [tracker.getStageInfo(s) for s in tracker.getActiveStageIds()]
        stages = [s for s in stages if s is not None]
        if not stages:
            return None
        done = sum(s.numCompletedTasks for s in stages)
        total = sum(s.numTasks for s in stages)
        return f"spark: {done}/{total} tasks of {len(stages)} running stage{'s' if len(stages) != 1 else ''}"

    return status
