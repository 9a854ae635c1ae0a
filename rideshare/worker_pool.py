"""`rideshare worker --processes N`: several worker processes on this machine, kept running.

Each child is a `rideshare worker --role <role> --web-port <port>` process in its own session with its
own log; together they form one consumer group per role and split the partitions. A child that exits
on its own (a crash, or `EXIT_STALLED` after a partition it could not heal) is started again after a
short back-off; Ctrl-C or SIGTERM stops every child (a clean leave of the group) and returns.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from rideshare.supervisor import ChildProcess, rideshare_command, stop_together
from streams.app import WorkerRole

__all__ = ["WorkerPool", "WorkerSpec"]

log = logging.getLogger(__name__)

RESTART_DELAYS_S = (1.0, 2.0, 5.0, 10.0, 30.0)


@dataclass(frozen=True)
class WorkerSpec:
    """One child: its role, web port and log level."""

    role: WorkerRole
    web_port: int
    loglevel: str = "info"

    def command(self) -> list[str]:
        return rideshare_command("worker", "--role", self.role.value, "--web-port", str(self.web_port), "--loglevel", self.loglevel)


@dataclass
class _Child:
    spec: WorkerSpec
    process: ChildProcess
    restarts: int = 0
    restart_at: float | None = None


@dataclass
class WorkerPool:
    """The children of one `rideshare worker --processes` invocation."""

    specs: list[WorkerSpec]
    log_dir: Path
    on_event: Callable[[str], None] = print
    env: Mapping[str, str] | None = None  # the children's environment (default: this process's)
    children: list[_Child] = field(default_factory=list)
    _stopping: bool = False

    def start(self) -> None:
        for spec in self.specs:
            self.children.append(_Child(spec, self._process(spec).start()))
            self.on_event(f"started {spec.role} worker on web port {spec.web_port} (log {self._log(spec)})")

    def _log(self, spec: WorkerSpec) -> Path:
        return self.log_dir / f"worker-{spec.role}-{spec.web_port}.log"

    def _process(self, spec: WorkerSpec) -> ChildProcess:
        return ChildProcess(f"{spec.role} worker {spec.web_port}", spec.command(), self._log(spec), env=self.env)

    def tick(self) -> None:
        """Restart children that exited by themselves (with back-off)."""
        now = time.monotonic()
        for child in self.children:
            if child.process.running() or self._stopping:
                continue
            if child.restart_at is None:
                delay = RESTART_DELAYS_S[min(child.restarts, len(RESTART_DELAYS_S) - 1)]
                child.restart_at = now + delay
                self.on_event(f"{child.spec.role} worker {child.spec.web_port} exited with code {child.process.returncode}; "
                              f"restarting in {delay:g} s (see {self._log(child.spec)})")
            elif now >= child.restart_at:
                child.restarts += 1
                child.restart_at = None
                child.process = self._process(child.spec).start()

    def run(self) -> None:
        """Start, keep running until SIGINT/SIGTERM, then stop every child."""
        def stop_on(signum: int, frame: FrameType | None) -> None:
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, stop_on)
        try:
            self.start()
            while True:
                self.tick()
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not abandon children half-stopped
            self.stop()
            signal.signal(signal.SIGTERM, previous)

    def stop(self) -> None:
        self._stopping = True
        codes = stop_together([child.process for child in self.children], timeout_s=30)
        for child, code in zip(self.children, codes, strict=True):
            self.on_event(f"stopped {child.spec.role} worker {child.spec.web_port} (exit code {code})")
