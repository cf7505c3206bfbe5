"""Where the Spark variants spend their CPU: per Spark job and stage (task CPU, shuffle, output) and
per JVM thread group (task threads vs. the JIT compilers vs. GC), lakeglue beside the hand script.

Runs on the raw data a ``bench/pipeline.py --keep`` run left behind, each variant in its own process
as the benchmark does, with Spark's event log on. Task CPU (``Executor CPU Time``) and thread CPU
(``/proc``) are the figures to compare on a shared machine: wall time there mostly measures the
other tenants. The ``Thread`` group is py4j's: the driver analysing and planning the Python side's
calls. On 2 cores at small scales the C2/C1 compiler threads burn about as much CPU as the tasks:
code a plan generates is paid for again in JIT time.

    .venv/bin/python bench/pipeline.py --only spark --scale 0.5 --keep     # prints "kept <root>"
    .venv/bin/python bench/profile_spark.py <root> [--variants lakeglue_spark,hand_pyspark]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from pipeline import wait_sampling  # noqa: E402


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    children[int(fh.read().rsplit(")", 1)[1].split()[1])].append(int(entry))
            except OSError:
                continue
    found, stack = [], [pid]
    while stack:
        found.append(current := stack.pop())
        stack.extend(children.get(current, []))
    return found


def _thread_cpu(pids: list[int], seen: dict[str, tuple[str, float]]) -> None:
    """CPU seconds so far of every thread of these processes, by (pid, tid): the latest sample wins."""
    ticks = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/stat") as fh:
                    text = fh.read()
            except OSError:
                continue
            fields = text.rsplit(")", 1)[1].split()
            name = re.sub(r"[ #-]?\d+$", "", text[text.index("(") + 1: text.rindex(")")])
            seen[f"{pid}/{tid}"] = (name, (int(fields[11]) + int(fields[12])) / ticks)


def run(name: str, root: Path, events: Path) -> dict[str, float]:
    """Run one variant as bench/pipeline.py does, with the event log on; CPU seconds per thread group."""
    env = {**os.environ, "SPARK_LOCAL_IP": os.environ.get("SPARK_LOCAL_IP", "127.0.0.1"),
           "PYSPARK_SUBMIT_ARGS": f"--conf spark.eventLog.enabled=true --conf spark.eventLog.dir=file://{events} "
                                  "--conf spark.eventLog.compress=false pyspark-shell"}
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "pipeline.py"), "--child", name, "--root", str(root),
                             "--out", str(root / f"{name}.json")], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    seen: dict[str, tuple[str, float]] = {}
    stderr = wait_sampling(proc, lambda: _thread_cpu(_descendants(proc.pid), seen), every=0.5)
    if proc.returncode:
        raise SystemExit(f"{name} failed ({proc.returncode}):\n{stderr.decode(errors='replace')[-4000:]}")
    groups: dict[str, float] = defaultdict(float)
    for group, seconds in seen.values():
        groups[group] += seconds
    return dict(groups)


def stage_table(log: Path) -> list[str]:
    """One line per job (wall) and per stage: tasks, task CPU, GC, input, output, shuffle written/read."""
    jobs: dict[int, dict[str, Any]] = {}
    stages: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    names: dict[int, str] = {}
    for line in log.read_text().splitlines():
        event = json.loads(line)
        kind = event["Event"]
        if kind == "SparkListenerJobStart":
            jobs[event["Job ID"]] = {"start": event["Submission Time"], "stages": event["Stage IDs"]}
            names.update({s["Stage ID"]: s["Stage Name"] for s in event["Stage Infos"]})
        elif kind == "SparkListenerJobEnd":
            jobs[event["Job ID"]]["end"] = event["Completion Time"]
        elif kind == "SparkListenerTaskEnd":
            m, s = event.get("Task Metrics") or {}, stages[event["Stage ID"]]
            shuffle_read = m.get("Shuffle Read Metrics") or {}
            s["tasks"] += 1
            s["cpu"] += m.get("Executor CPU Time", 0) / 1e9
            s["gc"] += m.get("JVM GC Time", 0) / 1e3
            s["in"] += (m.get("Input Metrics") or {}).get("Bytes Read", 0) / 2**20
            s["out"] += (m.get("Output Metrics") or {}).get("Bytes Written", 0) / 2**20
            s["shw"] += (m.get("Shuffle Write Metrics") or {}).get("Shuffle Bytes Written", 0) / 2**20
            s["shr"] += (shuffle_read.get("Local Bytes Read", 0) + shuffle_read.get("Remote Bytes Read", 0)) / 2**20
    lines, total = [], 0.0
    for job_id, job in sorted(jobs.items()):
        ran = [sid for sid in job["stages"] if sid in stages]
        if sum(stages[sid]["cpu"] for sid in ran) < 0.2:
            continue  # metadata jobs (listing, schema, footers)
        lines.append(f"  job {job_id:3d} wall {(job.get('end', job['start']) - job['start']) / 1000:6.1f} s")
        for sid in ran:
            s = stages[sid]
            total += s["cpu"]
            lines.append(f"    stage {sid:3d} tasks {int(s['tasks']):3d} cpu {s['cpu']:6.1f} s gc {s['gc']:5.1f} s "
                         f"in {s['in']:6.0f} MiB out {s['out']:5.0f} MiB shuffle w {s['shw']:5.0f} r {s['shr']:5.0f} "
                         f"MiB  {names.get(sid, '')[:40]}")
    lines.append(f"  task CPU {total:.1f} s")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", help="a directory kept by bench/pipeline.py --keep (holds raw/)")
    parser.add_argument("--variants", default="lakeglue_spark,hand_pyspark")
    args = parser.parse_args(argv)
    for name in args.variants.split(","):
        work = Path(tempfile.mkdtemp(prefix=f"profile-spark-{name}-"))
        try:
            subprocess.run(["cp", "-al", str(Path(args.root) / "raw"), str(work / "raw")], check=True)
            events = work / "events"
            events.mkdir()
            groups = run(name, work, events)
            result = json.loads((work / f"{name}.json").read_text())
            print(f"{name}: wall {result['wall_s']:.1f} s (start-up {result['startup_s']:.1f} s; "
                  + ", ".join(f"{k} {v:.1f}" for k, v in result["stages"].items()) + ")")
            print("  CPU by thread group: " + ", ".join(
                f"{k} {v:.1f}" for k, v in sorted(groups.items(), key=lambda kv: -kv[1]) if v >= 0.5))
            for log in sorted(events.rglob("events_*")):
                print("\n".join(stage_table(log)))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
