"""Background processes tracked by pid files: start detached, check, stop by pid (TERM, then KILL)."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import subprocess
import time
from pathlib import Path

from rideshare.infra.exceptions import InfraError


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); treat it as gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return True
    return state != "Z"


def read_pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        return sock.connect_ex((host, port)) == 0


def port_bindable(host: str, port: int) -> bool:
    """Could a server listen on `port` now? False while a listener holds it, and also while a client
    connection that used it as its ephemeral port lingers in TIME_WAIT (our ports lie inside Linux's
    ephemeral range, and a busy shared machine sweeps through it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # what the JVM sets on its server sockets
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def wait_bindable(host: str, ports: list[int], *, timeout_s: float, name: str) -> None:
    """Wait until every port can be bound; a port with a listener on it is an error at once."""
    deadline = time.monotonic() + timeout_s
    for port in ports:
        while not port_bindable(host, port):
            if port_open(host, port):
                raise InfraError(f"port {port} ({name}) is taken by another process; stop it or choose other ports in .env")
            if time.monotonic() > deadline:
                raise InfraError(f"port {port} ({name}) stayed unbindable for {timeout_s:.0f} s (a connection in TIME_WAIT "
                                 "holds it); try again in a minute or choose other ports")
            time.sleep(0.5)


OPEN_FILES_WANTED = 1 << 20


def _raise_open_files_limit() -> None:
    """Run in the child before exec: Kafka keeps files open for every log segment of every partition (a test
    run creates thousands of partitions), and a broker out of descriptors fails its log dir and shuts down.
    Raise the limit as far as allowed (root may pass the hard limit, others go up to it)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES_WANTED, OPEN_FILES_WANTED))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def spawn(command: list[str], *, log_file: Path, pid_file: Path, cwd: Path | None = None) -> int:
    """Start `command` in its own session (so Ctrl-C in our terminal does not hit it), with as many open
    files as allowed, and record its pid."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=cwd, start_new_session=True, preexec_fn=_raise_open_files_limit,
        )
    pid_file.write_text(str(process.pid))
    return process.pid


def stop_pid(pid_file: Path, *, name: str, timeout_s: float = 30.0) -> bool:
    """Stop the process in `pid_file` gracefully; SIGKILL after `timeout_s`. Returns True if one ran."""
    return bool(stop_pids([pid_file], name=name, timeout_s=timeout_s))


def stop_pids(pid_files: list[Path], *, name: str, timeout_s: float = 30.0) -> int:
    """Stop the processes of `pid_files` together (TERM to all, then wait; KILL what is left after `timeout_s`).

    Together, because the nodes of a cluster shut down cleanly only while their quorum is still there.
    Returns how many were running."""
    pids = []
    for pid_file in pid_files:
        pid = read_pid(pid_file)
        pid_file.unlink(missing_ok=True)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            pids.append(pid)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(_alive_after_reap(pid) for pid in pids):
        time.sleep(0.1)
    for pid in pids:
        if _alive_after_reap(pid):
            kill_pid(pid, name=name)
    return len(pids)


def kill_pid(pid: int, *, name: str) -> None:
    """SIGKILL `pid` and wait until it is gone (what a crash looks like to its peers)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        if not _alive_after_reap(pid):
            return
        time.sleep(0.1)
    raise InfraError(f"{name} (pid {pid}) did not stop after SIGKILL; check `ps -p {pid}`")


def _alive_after_reap(pid: int) -> bool:
    _reap(pid)
    return pid_alive(pid)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
