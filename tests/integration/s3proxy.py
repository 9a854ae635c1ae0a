"""A real S3-compatible server for tests: S3Proxy (Maven Central `org.gaul:s3proxy`, installed into
`.local/s3proxy` by `make setup-lake`) with its filesystem backend, on a free loopback port, started
with `java -jar` and a properties file and stopped by the process id it was started with."""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from core.settings import PROJECT_ROOT

JARS = PROJECT_ROOT / ".local" / "s3proxy"
ACCESS_KEY = "rideshare-test"
SECRET_KEY = "rideshare-test-secret"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class S3ProxyServer:
    root: Path
    bucket: str = "lake"
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def storage_options(self) -> dict[str, str]:
        """delta-rs options for this server (single writer per table: no S3 locking provider needed)."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                "AWS_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true", "AWS_S3_ALLOW_UNSAFE_RENAME": "true"}

    def start(self, timeout_s: float = 60.0) -> S3ProxyServer:
        jars = sorted(JARS.glob("s3proxy-*-jar-with-dependencies.jar"))
        if not jars:
            raise RuntimeError(f"S3Proxy is not installed in {JARS}: run `make setup-lake`")
        self.port = _free_port()
        (self.data_dir / self.bucket).mkdir(parents=True, exist_ok=True)  # a folder of the filesystem backend is a bucket
        properties = self.root / "s3proxy.properties"
        properties.write_text(
            f"s3proxy.endpoint={self.endpoint}\n"
            "s3proxy.authorization=aws-v2-or-v4\n"
            f"s3proxy.identity={ACCESS_KEY}\n"
            f"s3proxy.credential={SECRET_KEY}\n"
            "jclouds.provider=filesystem\n"
            f"jclouds.filesystem.basedir={self.data_dir}\n"
            # Current AWS SDKs (Arrow's S3 client) send headers such as x-amz-checksum-mode that S3Proxy
            # answers with 501 unless told to ignore them.
            "s3proxy.ignore-unknown-headers=true\n")
        log = (self.root / "s3proxy.log").open("wb")
        self.process = subprocess.Popen(["java", "-Xmx256m", "-jar", str(jars[-1]), "--properties", str(properties)],
                                        stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"S3Proxy exited with {self.process.returncode}: {(self.root / 's3proxy.log').read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"S3Proxy did not listen on {self.endpoint} within {timeout_s:.0f} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None
