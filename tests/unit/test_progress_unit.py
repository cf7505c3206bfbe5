"""Progress lines: what they say, that a thread writes them at a steady rate, and that hooks find the tracker."""

from __future__ import annotations

import threading
import time

from lakeglue.jobs import progress
from lakeglue.jobs.progress import JobProgress


def test_the_line_names_table_files_rows_step_and_elapsed_time() -> None:
    now = [100.0]
    tracker = JobProgress("bronze", tables=3, emit=lambda line: None, clock=lambda: now[0],
                          engine_status=lambda: "spark: 3/8 tasks of 1 running stage")
    tracker.start_table("customers")
    tracker.claimed(4, 2048)
    tracker.table_done(files=4, rows=1200)
    tracker.start_table("orders")
    tracker.claimed(120, 47_500_000)
    tracker.set_step("reading and parsing the files")
    now[0] = 142.4
    assert tracker.line() == (
        "progress bronze: table orders (2/3): 120 files (45.3 MB); 4 files and 1,200 rows done; "
        "step: reading and parsing the files; spark: 3/8 tasks of 1 running stage; 42 s")


def test_a_thread_logs_at_a_steady_rate_until_the_job_ends() -> None:
    lines: list[str] = []
    with progress.tracking("bronze", 0.05, tables=1, emit=lines.append) as tracker:
        assert progress.current() is tracker
        tracker.start_table("orders")
        time.sleep(0.3)
    count = len(lines)
    time.sleep(0.15)
    assert len(lines) == count, "the thread stops with the job"
    assert 3 <= count <= 7, lines
    assert all(line.startswith("progress bronze: table orders (1/1): ") for line in lines)
    assert not any(t.name.startswith("lakeglue-progress") for t in threading.enumerate())


def test_outside_a_job_hooks_update_an_inert_tracker_and_zero_seconds_turns_lines_off() -> None:
    inert = progress.current()
    inert.add(files=1, rows=5)  # a hook called by a job function used outside a tracked job: no error, no line
    lines: list[str] = []
    with progress.tracking("silver", 0, emit=lines.append) as tracker:
        time.sleep(0.1)
        assert progress.current() is tracker
    assert lines == [] and progress.current() is inert


def test_a_failing_engine_status_is_reported_not_raised() -> None:
    lines: list[str] = []

    def broken() -> str:
        raise ConnectionError("py4j gateway closed")

    with progress.tracking("bronze", 0.05, emit=lines.append, engine_status=broken):
        time.sleep(0.2)
    assert lines and lines[0] == "progress bronze: cannot report (ConnectionError: py4j gateway closed)"
