"""A `rideshare worker` child process with its web views at hand: used by the integration tests and the benchmarks.

The child gets the parent's settings through RIDESHARE_* variables (the one way settings reach a
process), its own web port and a log file. `stop()` is a clean SIGTERM leave; `kill()` is kill -9.
"""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.exceptions import RideshareError
from core.settings import Settings
from rideshare.infra.process import tail
from rideshare.supervisor import ChildProcess, rideshare_command

__all__ = ["Processed", "WorkerProcess", "free_port", "measure_processing", "settings_env"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings_env(settings: Settings) -> dict[str, str]:
    """RIDESHARE_* variables that rebuild `settings` in a child process (simple fields only)."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None or isinstance(value, dict | tuple | list):
            continue
        env[f"RIDESHARE_{name.upper()}"] = str(value)
    return env


class WorkerProcess(ChildProcess):
    """`rideshare worker --role <role> [--topologies ...]` as a real subprocess of this process."""

    def __init__(self, settings: Settings, *, log_path: Path, role: str | None = None, topologies: str | None = None,
                 web_port: int | None = None, loglevel: str = "warning", env: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self.web_port = web_port or free_port()
        args = ["worker", "--web-port", str(self.web_port), "--loglevel", loglevel]
        args += ["--topologies", topologies] if topologies else ["--role", role or "realtime"]
        environment = {k: v for k, v in os.environ.items() if not k.startswith("RIDESHARE_")} | settings_env(settings) | dict(env or {})
        super().__init__(f"worker {self.web_port}", rideshare_command(*args), log_path, env=environment)

    @property
    def log_path(self) -> Path:
        return self.log_file

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def get_json(self, path: str, timeout_s: float = 5.0) -> Any:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=timeout_s) as response:
            return json.loads(response.read())

    def get_text(self, path: str, timeout_s: float = 5.0) -> str:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=timeout_s) as response:
            return response.read().decode()

    def health(self, timeout_s: float = 5.0) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) of the worker's /healthz (503 while a partition is stalled)."""
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=timeout_s) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def nodes(self) -> dict[str, dict[str, Any]]:
        """Every topology node of the worker's /topology/ view, by id (counts, CPU, lag)."""
        return {node["id"]: node for graph in self.get_json("/topology/")["topologies"] for node in graph["nodes"]}

    def assigned(self, source_topic: str) -> set[int]:
        """Partitions of `source_topic` this worker currently consumes (from /topology/)."""
        for node in self.nodes().values():
            if node["kind"] == "source" and node["target"] == source_topic and "lag" in node:
                return {int(p) for p in node["lag"]["partitions"]}
        return set()

    def wait_assigned(self, source_topic: str, *, timeout_s: float = 90.0) -> set[int]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                partitions = self.assigned(source_topic)
                if partitions:
                    return partitions
            except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
                pass
            time.sleep(0.5)
        raise RideshareError(f"worker on port {self.web_port} got no partition of {source_topic} in {timeout_s:.0f} s; "
                             f"see {self.log_path}")

    def _check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise RideshareError(f"worker exited with code {self.process.returncode}:\n{tail(self.log_path, 40)}")

    def start(self) -> WorkerProcess:
        super().start()
        return self


@dataclass(frozen=True)
class Processed:
    """Events a group of workers processed between their first and their last, the wall time and CPU it took."""

    events: int
    seconds: float
    cpu_seconds: float

    @property
    def events_per_s(self) -> float:
        return self.events / max(self.seconds, 1e-9)

    @property
    def cpu_s_per_100k(self) -> float:
        return self.cpu_seconds / max(self.events, 1) * 100_000


def measure_processing(workers: list[WorkerProcess], node_id: str, expected: int, *, timeout_s: float = 600.0,
                       stall_s: float = 60.0) -> Processed:
    """Poll the workers' `node_id` counters until together they counted `expected` events, then read the
    throughput clocks the workers kept themselves: events after each one's first batch, the wall time from
    the first of them to the last, and the CPU each spent in between (start-up and group join excluded)."""
    def nodes() -> list[dict[str, Any]]:
        return [worker.nodes()[node_id] for worker in workers]

    deadline = time.monotonic() + timeout_s
    last, last_change = 0, time.monotonic()
    while last < expected:
        if not all(w.running() for w in workers):
            raise RideshareError(f"a worker exited at {last:,}/{expected:,} events (see {workers[0].log_path})")
        time.sleep(0.2)  # polling costs the workers CPU too: a few times a second is enough
        try:
            current = sum(int(node["events_in"]) for node in nodes())
        except (urllib.error.URLError, OSError, KeyError):
            continue
        if current != last:
            last, last_change = current, time.monotonic()
        elif (last and time.monotonic() - last_change > stall_s) or time.monotonic() > deadline:
            raise RideshareError(f"the workers stalled at {last:,}/{expected:,} events (see {workers[0].log_path})")
    clocks = [node["clock"] for node in nodes() if node["clock"]["first_at"]]
    return Processed(sum(int(clock["events"]) for clock in clocks),
                     max(clock["last_at"] for clock in clocks) - min(clock["first_at"] for clock in clocks),
                     sum(clock["last_cpu_s"] - clock["first_cpu_s"] for clock in clocks))
