"""Debian's redis-server on loopback, no persistence (it only holds live positions and pub/sub)."""

from __future__ import annotations

import shutil
import subprocess
import time

from core.settings import Settings
from rideshare.infra.exceptions import InfraError
from rideshare.infra.kafka import ServiceStatus
from rideshare.infra.process import port_open, read_pid, stop_pid, tail


class RedisService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home = settings.local_dir / "redis" / f"port-{settings.redis_port}"
        self.pid_file = self.home / "redis.pid"
        self.log_file = self.home / "redis.log"

    @property
    def address(self) -> str:
        return f"{self.settings.redis_host}:{self.settings.redis_port}"

    def start(self, *, timeout_s: float = 15.0) -> bool:
        if read_pid(self.pid_file) is not None and self.ready():
            return False
        binary = shutil.which("redis-server")
        if binary is None:
            raise InfraError("redis-server is not installed. Install it with: apt-get update && apt-get install -y redis-server")
        if port_open(self.settings.redis_host, self.settings.redis_port):
            raise InfraError(
                f"port {self.settings.redis_port} is taken by another process; stop it or set RIDESHARE_REDIS_PORT"
            )
        self.home.mkdir(parents=True, exist_ok=True)
        command = [
            binary, "--bind", self.settings.redis_host, "--port", str(self.settings.redis_port),
            "--save", "", "--appendonly", "no", "--daemonize", "yes",
            "--pidfile", str(self.pid_file), "--logfile", str(self.log_file), "--dir", str(self.home),
        ]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise InfraError(f"redis-server failed to start: {result.stderr or tail(self.log_file)}")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.ready():
                return True
            time.sleep(0.1)
        raise InfraError(f"Redis did not answer PING within {timeout_s:.0f} s; see {self.log_file}")

    def ready(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(host=self.settings.redis_host, port=self.settings.redis_port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self) -> bool:
        return stop_pid(self.pid_file, name="Redis", timeout_s=10)

    def status(self) -> ServiceStatus:
        pid = read_pid(self.pid_file)
        running = pid is not None and self.ready()
        return ServiceStatus("redis", running, pid, self.address, "redis-server" + ("" if running else " (stopped)"))
