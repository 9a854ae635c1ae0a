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
from pathlib import Path
from typing import Any

from core.exceptions import RideshareError
from core.settings import Settings
from rideshare.infra.process import tail
from rideshare.supervisor import ChildProcess, rideshare_command

__all__ = ["WorkerProcess", "free_port", "settings_env"]


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
