"""A real Spark standalone cluster on loopback: one master and N workers from the pyspark distribution.

The wheel ships ``bin/spark-class``, so the same daemons a cluster runs
(``org.apache.spark.deploy.master.Master`` / ``…deploy.worker.Worker``) start here without any
other download. Every port is free-picked and every daemon writes under one directory, so parallel
test runs never meet; :meth:`StandaloneCluster.stop` ends exactly the processes it started (their
process groups: ``spark-class`` execs ``java``), also when start-up failed half-way.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tests.support.jvm import TEST_JVM_OPTIONS
from tests.support.net import free_port


def spark_home() -> Path:
    """The pyspark package folder: the wheel's SPARK_HOME (bin/, jars/)."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent


@dataclass
class _Daemon:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]


@dataclass
class StandaloneCluster:
    """Master + ``workers`` workers, each with ``worker_cores`` cores and ``worker_memory`` memory."""

    root: Path
    workers: int = 2
    worker_cores: int = 1
    worker_memory: str = "1g"
    daemon_memory: str = "384m"
    host: str = "127.0.0.1"
    master_port: int = field(default_factory=free_port)
    master_ui_port: int = field(default_factory=free_port)
    worker_ui_ports: list[int] = field(default_factory=list)
    _daemons: list[_Daemon] = field(default_factory=list)

    @property
    def master_url(self) -> str:
        return f"spark://{self.host}:{self.master_port}"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({"SPARK_HOME": str(spark_home()), "SPARK_LOCAL_IP": self.host,
                    "SPARK_DAEMON_MEMORY": self.daemon_memory, "SPARK_DAEMON_JAVA_OPTS": TEST_JVM_OPTIONS,
                    "SPARK_LOG_DIR": str(self.root / "logs"), "SPARK_PID_DIR": str(self.root)})
        env.pop("SPARK_CONF_DIR", None)  # the daemons use defaults; jobs bring their own conf
        return env

    def _spawn(self, name: str, *args: str) -> None:
        log_path = self.root / f"{name}.log"
        log = log_path.open("wb")
        cmd = [str(spark_home() / "bin" / "spark-class"), *args]
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self._env(),
                                   cwd=self.root, start_new_session=True)
        self._daemons.append(_Daemon(name, process, log_path, log))

    def start(self, timeout: float = 120) -> StandaloneCluster:
        """Launch the daemons and wait until every worker registered."""
        self.launch()
        return self.wait_ready(timeout)

    def launch(self) -> StandaloneCluster:
        """Start the master and the workers without waiting for them: other set-up can run meanwhile."""
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            self._spawn("master", "org.apache.spark.deploy.master.Master", "--host", self.host,
                        "--port", str(self.master_port), "--webui-port", str(self.master_ui_port))
            for n in range(self.workers):
                port = free_port()
                self.worker_ui_ports.append(port)
                work_dir = self.root / f"worker-{n}"
                work_dir.mkdir(exist_ok=True)
                self._spawn(f"worker-{n}", "org.apache.spark.deploy.worker.Worker", self.master_url,
                            "--host", self.host, "--cores", str(self.worker_cores), "--memory", self.worker_memory,
                            "--webui-port", str(port), "--work-dir", str(work_dir))
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout: float = 120) -> StandaloneCluster:
        """Wait until every worker registered with the master as ALIVE (stops the cluster on failure)."""
        try:
            self._wait_for_workers(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_for_workers(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            for daemon in self._daemons:
                if daemon.process.poll() is not None:
                    raise RuntimeError(f"spark {daemon.name} exited with {daemon.process.returncode}:\n"
                                       f"{self.log_tail(daemon.name)}")
            try:
                alive = [w for w in self.master_status()["workers"] if w["state"] == "ALIVE"]
                if len(alive) == self.workers:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.workers} workers did not register with {self.master_url} "
                                   f"in {timeout:.0f}s:\n{self.log_tail('master')}")
            time.sleep(0.2)

    @staticmethod
    def _get_json(url: str) -> dict[str, Any]:
        with urllib.request.urlopen(url, timeout=5) as response:
            data: dict[str, Any] = json.load(response)
        return data

    def master_status(self) -> dict[str, Any]:
        """The master's REST status (``/json/``): workers, active and completed applications."""
        return self._get_json(f"http://{self.host}:{self.master_ui_port}/json/")

    def worker_status(self, n: int) -> dict[str, Any]:
        """Worker ``n``'s status (``/json/``): its running and finished executors, by application."""
        return self._get_json(f"http://{self.host}:{self.worker_ui_ports[n]}/json/")

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"

    def stop(self) -> None:
        """SIGTERM each daemon's process group, SIGKILL what is left after 15 s; workers first."""
        for daemon in reversed(self._daemons):
            if daemon.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(daemon.process.pid, signal.SIGTERM)
        for daemon in reversed(self._daemons):
            try:
                daemon.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(daemon.process.pid, signal.SIGKILL)
                daemon.process.wait(timeout=15)
            daemon.log.close()
        self._daemons.clear()


def executor_task_counts(event_log_dir: Path) -> dict[str, dict[str, int]]:
    """Application id → executor id → tasks that ended successfully there, from Spark's event logs.

    Write them uncompressed (``spark.eventLog.compress false``): one JSON object a line, either one
    file per application or, with rolling logs, ``eventlog_v2_<app>/events_<n>_<app>`` files.
    ``SparkListenerTaskEnd`` events name the task's executor, ``SparkListenerApplicationStart`` the
    application id.
    """
    counts: dict[str, dict[str, int]] = {}
    files = sorted(p for p in event_log_dir.rglob("*") if p.is_file() and not p.name.startswith((".", "appstatus"))
                   and not p.name.endswith(".inprogress"))
    for path in files:
        app_id = path.name
        per_executor: dict[str, int] = {}
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                event = json.loads(line)
                kind = event.get("Event")
                if kind == "SparkListenerApplicationStart":
                    app_id = event.get("App ID", app_id)
                elif kind == "SparkListenerTaskEnd" and event.get("Task End Reason", {}).get("Reason") == "Success":
                    executor = event["Task Info"]["Executor ID"]
                    per_executor[executor] = per_executor.get(executor, 0) + 1
        for executor, tasks in per_executor.items():
            counts.setdefault(app_id, {})[executor] = counts.get(app_id, {}).get(executor, 0) + tasks
        counts.setdefault(app_id, {})
    return counts
