"""Child processes that `rideshare demo`, benchmarks and tests start and must stop again.

Each child runs in its own session (Ctrl-C in the terminal reaches only the parent, which then stops
the children in order), logs to a file, and is stopped by its process group: TERM, then KILL after a
timeout. Only processes started here are ever signalled.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.exceptions import RideshareError
from rideshare.infra.process import port_open, tail

__all__ = ["ChildProcess", "rideshare_command", "stop_together", "wait_until"]

log = logging.getLogger(__name__)


class ChildStartError(RideshareError):
    """A child process exited or did not become ready; the message carries its log tail."""


def rideshare_command(*args: str) -> list[str]:
    """`rideshare <args>` with this interpreter (works without the venv's bin on PATH)."""
    return [sys.executable, "-m", "rideshare.cli", *args]


def wait_until(check: Callable[[], bool], *, timeout_s: float, interval_s: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval_s)
    return check()


@dataclass
class ChildProcess:
    name: str
    command: list[str]
    log_file: Path
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> ChildProcess:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log_handle:
            self.process = subprocess.Popen(
                self.command, stdout=log_handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=dict(self.env) if self.env is not None else None, cwd=self.cwd, start_new_session=True,
            )
        log.info("started %s (pid %d), log %s", self.name, self.process.pid, self.log_file)
        return self

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def wait_for_port(self, host: str, port: int, *, timeout_s: float) -> None:
        """Block until the child listens on `port`; raise with its log tail if it dies or times out."""
        ready = wait_until(lambda: not self.running() or port_open(host, port), timeout_s=timeout_s)
        if not self.running():
            raise ChildStartError(
                f"{self.name} exited with code {self.returncode}; its log ({self.log_file}) ends with:\n{tail(self.log_file)}"
            )
        if not ready:
            raise ChildStartError(f"{self.name} did not listen on {host}:{port} within {timeout_s:.0f} s; see {self.log_file}")

    def stop(self, *, timeout_s: float = 20.0) -> int | None:
        """TERM the child's process group, KILL it after `timeout_s`; returns the exit code."""
        return stop_together([self], timeout_s=timeout_s)[0]

    def kill(self) -> None:
        """kill -9 the child's process group (no clean leave: what a crash looks like to Kafka)."""
        if self.process is not None and self.process.poll() is None:
            self._signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def cpu_seconds(self) -> float:
        """User + system CPU the child has used so far (all its threads), from /proc."""
        if self.process is None:
            return 0.0
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime

    def rss_bytes(self) -> int:
        """Resident memory of the child now, from /proc (0 once it has exited)."""
        if self.process is None:
            return 0
        try:
            pages = int(Path(f"/proc/{self.process.pid}/statm").read_text().split()[1])
        except OSError:
            return 0
        return pages * os.sysconf("SC_PAGE_SIZE")

    def _signal(self, signum: signal.Signals) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)  # its own session: the group is exactly this child's tree


def stop_together(children: Sequence[ChildProcess], *, timeout_s: float = 20.0) -> list[int | None]:
    """TERM every child's process group at once and KILL those still running `timeout_s` later; the exit codes.

    Stopping several children takes as long as the slowest of them, not the sum: a Faust worker may sit out
    its shutdown timeouts, and one after another they would outlast a supervisor's own stop deadline."""
    running = [child for child in children if child.running()]
    for child in running:
        child._signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    for child in running:
        assert child.process is not None
        try:
            child.process.wait(timeout=max(deadline - time.monotonic(), 0.0))
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %.0f s after SIGTERM: killing it", child.name, timeout_s)
            child._signal(signal.SIGKILL)
            child.process.wait(timeout=10)
    return [child.returncode for child in children]
