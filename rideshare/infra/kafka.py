"""Apache Kafka 4.x, single node in KRaft mode (combined broker + controller) on loopback.

Jars come from Maven Central through Maven (a throw-away pom next to this file) into
`.local/kafka/<version>/lib`; storage is formatted once; data and logs live under
`.local/kafka/port-<port>/`, so brokers on different ports can run side by side.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from core.settings import Settings
from rideshare.infra.exceptions import InfraError
from rideshare.infra.process import port_open, read_pid, spawn, stop_pid, tail

POM = Path(__file__).with_name("kafka-pom.xml")

LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka.server
logger.kafka.level = INFO
"""


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    running: bool
    pid: int | None
    address: str
    detail: str


class KafkaService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.version = settings.kafka_version
        self.lib_dir = settings.local_dir / "kafka" / settings.kafka_version / "lib"
        self.home = settings.local_dir / "kafka" / f"port-{settings.kafka_port}"
        self.pid_file = self.home / "kafka.pid"
        self.log_file = self.home / "logs" / "stdout.log"

    @property
    def address(self) -> str:
        return f"{self.settings.kafka_host}:{self.settings.kafka_port}"

    # -- install -----------------------------------------------------------------------------
    def ensure_jars(self) -> Path:
        """Resolve Kafka's jars from Maven Central once (idempotent)."""
        marker = self.lib_dir / ".complete"
        if marker.exists():
            return self.lib_dir
        for tool, package in (("java", "openjdk-17-jre-headless"), ("mvn", "maven")):
            if shutil.which(tool) is None:
                raise InfraError(
                    f"`{tool}` is not installed; Kafka needs Java 17+ and Maven to fetch its jars. "
                    f"Install it with: apt-get update && apt-get install -y {package}"
                )
        self.lib_dir.mkdir(parents=True, exist_ok=True)
        command = [
            "mvn", "-q", "-B", "-f", str(POM), f"-Dkafka.version={self.version}",
            f"-Dmaven.repo.local={self.settings.local_dir / 'm2'}",
            "dependency:copy-dependencies", f"-DoutputDirectory={self.lib_dir}", "-DincludeScope=runtime",
        ]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise InfraError(
                f"Maven could not fetch Apache Kafka {self.version} from Maven Central "
                f"(exit {result.returncode}). Check RIDESHARE_KAFKA_VERSION and network access to "
                f"Maven Central.\n{(result.stdout + result.stderr)[-2000:]}"
            )
        marker.write_text(self.version)
        return self.lib_dir

    def _java(self, main_class: str, *args: str, heap: str = "256m") -> list[str]:
        return [
            "java", f"-Xmx{heap}", f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.home / 'logs'}", "-cp", f"{self.lib_dir}/*", main_class, *args,
        ]

    def _write_config(self) -> Path:
        s = self.settings
        data_dir = self.home / "data"
        config = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"{s.kafka_host}:{s.kafka_controller_port}",
            "listeners": f"PLAINTEXT://{s.kafka_host}:{s.kafka_port},CONTROLLER://{s.kafka_host}:{s.kafka_controller_port}",
            "advertised.listeners": f"PLAINTEXT://{s.kafka_host}:{s.kafka_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(data_dir),
            "num.partitions": "3",
            # One node: every internal topic has a single replica.
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            # Topics are created from the catalog (and by Faust for its own): a typo or a recreated topic must
            # not spring back into existence with the defaults because a client asked for its metadata.
            "auto.create.topics.enable": "false",
            # Small machine: few threads, modest segment size so retention can act in long runs.
            "num.network.threads": "2",
            "num.io.threads": "4",
            "log.segment.bytes": str(256 * 1024 * 1024),
            "log.retention.check.interval.ms": "60000",
        }
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "log4j2.properties").write_text(LOG4J2)
        path = self.home / "server.properties"
        path.write_text("".join(f"{key}={value}\n" for key, value in config.items()))
        return path

    def _format_once(self, config: Path) -> None:
        if (self.home / "data" / "meta.properties").exists():
            return
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        command = self._java("kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config), "--standalone")
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise InfraError(f"formatting Kafka storage failed:\n{(result.stdout + result.stderr)[-2000:]}")

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, *, timeout_s: float = 90.0) -> bool:
        """Start the broker unless it already runs; wait until it answers a metadata request.
        Returns True if this call started it."""
        if read_pid(self.pid_file) is not None and self.ready():
            return False
        if port_open(self.settings.kafka_host, self.settings.kafka_port):
            raise InfraError(
                f"port {self.settings.kafka_port} is taken by another process; stop it or set "
                "RIDESHARE_KAFKA_PORT to a free port"
            )
        self.ensure_jars()
        config = self._write_config()
        self._format_once(config)
        command = self._java("kafka.Kafka", str(config), heap=self.settings.kafka_heap)
        command[1:1] = ["-Xms512m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true"]
        spawn(command, log_file=self.log_file, pid_file=self.pid_file)
        self.wait_ready(timeout_s)
        return True

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if read_pid(self.pid_file) is None:
                raise InfraError(
                    "Kafka exited while starting; last log lines:\n"
                    + tail(self.log_file) + "\n" + tail(self.home / "logs" / "server.log")
                )
            if self.ready():
                return
            time.sleep(0.5)
        raise InfraError(f"Kafka did not answer a metadata request within {timeout_s:.0f} s; see {self.home / 'logs'}")

    def ready(self) -> bool:
        """A real metadata request (not just an open port)."""
        if not port_open(self.settings.kafka_host, self.settings.kafka_port):
            return False
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.address, "socket.timeout.ms": 2000})
        try:
            metadata = admin.list_topics(timeout=3)
        except Exception:  # KafkaException while the broker is still starting
            return False
        return bool(metadata.brokers)

    def stop(self) -> bool:
        return stop_pid(self.pid_file, name="Kafka", timeout_s=45)

    def status(self) -> ServiceStatus:
        pid = read_pid(self.pid_file)
        running = pid is not None and self.ready()
        detail = f"Kafka {self.version} KRaft" + ("" if running else " (stopped)")
        return ServiceStatus("kafka", running, pid, self.address, detail)
