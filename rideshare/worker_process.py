"""Run `rideshare worker` as a child process: used by the integration tests and the benchmarks.

The child gets the parent's settings through RIDESHARE_* variables (the one way settings reach a
process), its own web port and a log file. `stop()` is a clean SIGTERM leave; `kill()` is kill -9.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from core.exceptions import RideshareError
from core.settings import Settings

__all__ = ["WorkerProcess", "free_port", "settings_env"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings_env(settings: Settings) -> dict[str, str]:
    """RIDESHARE_* variables that rebuild `settings` in a child process (simple fields only)."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None or isinstance(value, (dict, tuple, list)):
            continue
        env[f"RIDESHARE_{name.upper()}"] = str(value)
    return env


class WorkerProcess:
    def __init__(self, settings: Settings, *, topologies: str, log_path: Path, web_port: int | None = None,
                 loglevel: str = "warning") -> None:
        self.settings = settings
        self.topologies = topologies
        self.log_path = log_path
        self.web_port = web_port or free_port()
        self.loglevel = loglevel
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def start(self) -> WorkerProcess:
        env = {**os.environ, **settings_env(self.settings)}
        command = [sys.executable, "-m", "rideshare.cli", "worker", "--web-port", str(self.web_port),
                   "--topologies", self.topologies, "--loglevel", self.loglevel]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def get_json(self, path: str, timeout_s: float = 5.0) -> Any:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=timeout_s) as response:
            return json.loads(response.read())

    def get_text(self, path: str, timeout_s: float = 5.0) -> str:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=timeout_s) as response:
            return response.read().decode()

    def assigned(self, source_topic: str) -> set[int]:
        """Partitions of `source_topic` this worker currently consumes (from /topology/)."""
        for graph in self.get_json("/topology/")["topologies"]:
            for node in graph["nodes"]:
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
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise RideshareError(f"worker exited with code {self.process.returncode}:\n{tail}")

    def stop(self, timeout_s: float = 30.0) -> None:
        """Clean shutdown (SIGTERM: the worker leaves the group), kill -9 if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
