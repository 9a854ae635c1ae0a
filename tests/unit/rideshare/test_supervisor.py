"""Children are stopped by their process group, all at once: a stop lasts as long as the slowest child."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from rideshare.supervisor import ChildProcess, stop_together

STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(120)"
POLITE = "import time; print('ready', flush=True); time.sleep(120)"


def started(name: str, code: str, tmp_path: Path) -> ChildProcess:
    child = ChildProcess(name, [sys.executable, "-c", code], tmp_path / f"{name}.log").start()
    deadline = time.monotonic() + 20
    while "ready" not in child.log_file.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    return child


def test_children_that_ignore_sigterm_are_killed_after_one_shared_timeout(tmp_path: Path) -> None:
    children = [started(f"stubborn-{n}", STUBBORN, tmp_path) for n in range(3)] + [started("polite", POLITE, tmp_path)]
    began = time.monotonic()
    codes = stop_together(children, timeout_s=2)
    elapsed = time.monotonic() - began
    assert codes == [-signal.SIGKILL] * 3 + [-signal.SIGTERM]
    assert elapsed < 2 * 2, elapsed  # one timeout for all of them, not one per child
    assert not any(child.running() for child in children)


def test_stopping_a_stopped_or_never_started_child_is_harmless(tmp_path: Path) -> None:
    child = started("polite", POLITE, tmp_path)
    assert child.stop(timeout_s=5) == -signal.SIGTERM
    assert child.stop(timeout_s=5) == -signal.SIGTERM
    assert ChildProcess("never", [sys.executable], tmp_path / "never.log").stop() is None
