"""Apache Kafka 4.x in KRaft mode on loopback: one node by default, a cluster of N nodes on request.

Every node is a combined broker + controller. Jars come from Maven Central through Maven (a throw-away
pom next to this file) into `.local/kafka/<version>/lib`; storage is formatted once per node.

- One node (the default) lives in `.local/kafka/port-<port>/` and formats itself as a standalone
  controller quorum.
- A cluster of N (`RIDESHARE_KAFKA_BROKERS=3`, `rideshare infra up --brokers 3`) lives in
  `.local/kafka/cluster-<port>x<N>/node-<id>/`: node n (from 0) listens on `kafka_port + n * step`
  and `kafka_controller_port + n * step` (`RIDESHARE_KAFKA_NODE_PORT_STEP`, 100), every node knows
  every voter (static `controller.quorum.voters`) and all share one cluster id. Topics get
  replication min(3, N) and `min.insync.replicas` 2 from three replicas, Kafka's internal ones
  (consumer offsets, transaction state) as well as the catalog's and Faust's changelogs, so a write
  acknowledged with acks=all survives the loss of one node. Nodes can be killed (`kill()`, kill -9)
  and started again one at a time (`start()`).

Our ports lie inside Linux's ephemeral port range: on a busy machine a client connection elsewhere may
hold one of them for a minute (TIME_WAIT), so a node waits until its ports can be bound, and a node
that still loses that race at start is launched again.
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
from rideshare.infra.process import kill_pid, port_open, read_pid, spawn, stop_pids, tail, wait_bindable

__all__ = ["KafkaNode", "KafkaService", "NodeSpec", "ServiceStatus", "node_config"]

POM = Path(__file__).with_name("kafka-pom.xml")
BIND_ATTEMPTS = 3
PORT_WAIT_S = 120.0

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


@dataclass(frozen=True)
class NodeSpec:
    """Where one node listens: its broker (PLAINTEXT) and controller ports on `host`."""

    node_id: int
    host: str
    port: int
    controller_port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def node_config(settings: Settings, node: NodeSpec, nodes: tuple[NodeSpec, ...], data_dir: Path) -> dict[str, str]:
    """server.properties of `node` in a cluster of `nodes` (pure: no I/O)."""
    replicas, min_isr = str(settings.kafka_replication_factor), str(settings.kafka_min_insync_replicas)
    config = {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        "listeners": f"PLAINTEXT://{node.host}:{node.port},CONTROLLER://{node.host}:{node.controller_port}",
        "advertised.listeners": f"PLAINTEXT://{node.host}:{node.port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": "3",
        # Every topic, the internal ones included, as replicated as the cluster allows.
        "default.replication.factor": replicas,
        "min.insync.replicas": min_isr,
        "offsets.topic.replication.factor": replicas,
        "transaction.state.log.replication.factor": replicas,
        "transaction.state.log.min.isr": min_isr,
        "share.coordinator.state.topic.replication.factor": replicas,
        "share.coordinator.state.topic.min.isr": min_isr,
        "unclean.leader.election.enable": "false",  # a replica that missed acknowledged writes never leads
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
    if len(nodes) == 1:
        config["controller.quorum.bootstrap.servers"] = f"{node.host}:{node.controller_port}"
    else:
        config["controller.quorum.voters"] = ",".join(f"{n.node_id}@{n.host}:{n.controller_port}" for n in nodes)
    return config


def new_cluster_id() -> str:
    """A random cluster id as Kafka writes them (base64url of a UUID). Like Kafka's own `Uuid.randomUuid`, never
    one starting with '-': the storage tool would read it as an option and fail to format."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def _java(lib_dir: Path, home: Path, main_class: str, *args: str, heap: str = "256m") -> list[str]:
    return [
        "java", f"-Xmx{heap}", f"-Dlog4j2.configurationFile={home / 'log4j2.properties'}",
        f"-Dkafka.logs.dir={home / 'logs'}", "-cp", f"{lib_dir}/*", main_class, *args,
    ]


class KafkaNode:
    """One node process: its configuration, storage, pid file and logs under `home`."""

    def __init__(self, settings: Settings, spec: NodeSpec, nodes: tuple[NodeSpec, ...], home: Path, lib_dir: Path) -> None:
        self.settings = settings
        self.spec = spec
        self.nodes = nodes
        self.home = home
        self.lib_dir = lib_dir
        self.pid_file = home / "kafka.pid"
        self.log_file = home / "logs" / "stdout.log"
        self.server_log = home / "logs" / "server.log"
        self._log_offset = 0
        self._launches = 0

    @property
    def name(self) -> str:
        return f"Kafka node {self.spec.node_id} ({self.spec.address})"

    @property
    def pid(self) -> int | None:
        return read_pid(self.pid_file)

    def running(self) -> bool:
        return self.pid is not None

    def ready(self) -> bool:
        """This node answers a metadata request and is in the cluster's live broker list (not just an open port)."""
        if not port_open(self.spec.host, self.spec.port):
            return False
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.spec.address, "socket.timeout.ms": 2000})
        try:
            metadata = admin.list_topics(timeout=3)
        except Exception:  # KafkaException while the node is still starting
            return False
        return self.spec.node_id in metadata.brokers

    # -- storage -----------------------------------------------------------------------------
    @property
    def formatted(self) -> bool:
        return (self.home / "data" / "meta.properties").exists()

    def prepare(self, cluster_id: str) -> subprocess.Popen[str] | None:
        """Write server.properties and the log configuration; start formatting the storage the first time
        (returns that process: the caller waits for it with `finish_format`)."""
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "log4j2.properties").write_text(LOG4J2)
        config_file = self.home / "server.properties"
        config = node_config(self.settings, self.spec, self.nodes, self.home / "data")
        config_file.write_text("".join(f"{key}={value}\n" for key, value in config.items()))
        if self.formatted:
            return None
        standalone = ["--standalone"] if len(self.nodes) == 1 else []  # a cluster's voters are static
        command = _java(self.lib_dir, self.home, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config_file),
                        *standalone)
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def finish_format(self, formatting: subprocess.Popen[str]) -> None:
        output, _ = formatting.communicate()
        if formatting.returncode != 0:
            raise InfraError(f"formatting the storage of {self.name} failed:\n{output[-2000:]}")

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def ports(self) -> list[int]:
        return [self.spec.port, self.spec.controller_port]

    def launch(self, *, wait_for_ports: bool = True) -> None:
        """Spawn the node's JVM (it becomes ready once a quorum of the cluster's nodes runs)."""
        s, spec = self.settings, self.spec
        if wait_for_ports:
            wait_bindable(spec.host, self.ports, timeout_s=PORT_WAIT_S, name=self.name)
        command = _java(self.lib_dir, self.home, "kafka.Kafka", str(self.home / "server.properties"), heap=s.kafka_heap)
        # The whole heap reserved and touched at start (as Kafka's own start script sets -Xms to -Xmx): a heap grown
        # on demand rises in steps towards its maximum for the first half hour, which a memory check cannot tell from
        # a leak.
        command[1:1] = [f"-Xms{s.kafka_heap}", "-XX:+AlwaysPreTouch", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
                        "-Djava.awt.headless=true"]
        self._log_offset = self.server_log.stat().st_size if self.server_log.exists() else 0
        self._launches += 1
        spawn(command, log_file=self.log_file, pid_file=self.pid_file)

    def check_started(self) -> bool:
        """While starting: True once ready. A node that exited is launched again if it lost a race for its
        ports, otherwise this raises with its log."""
        if self.running():
            return self.ready()
        if self._lost_port_race() and self._launches < BIND_ATTEMPTS:
            self.launch()
            return False
        raise InfraError(f"{self.name} exited while starting; last log lines:\n{tail(self.log_file)}\n{self._new_server_log()}")

    def _server_log_since_launch(self) -> str:
        try:
            with self.server_log.open("rb") as log:
                log.seek(self._log_offset)
                return log.read().decode(errors="replace")
        except OSError:
            return "(no log)"

    def _new_server_log(self) -> str:
        return "\n".join(self._server_log_since_launch().splitlines()[-20:])

    def _lost_port_race(self) -> bool:
        # Anywhere since the launch: the bind error comes well before the many lines of the shutdown it causes.
        return "Address already in use" in self._server_log_since_launch()

    def start(self, *, timeout_s: float = 90.0) -> bool:
        """Start this node alone (the rest of its cluster running) and wait until it is ready; False if it ran."""
        if self.running() and self.ready():
            return False
        self.launch()
        _wait_started([self], timeout_s)
        return True

    def stop(self, *, timeout_s: float = 45.0) -> bool:
        """Graceful stop (SIGTERM: a controlled shutdown that moves its leaderships away), KILL after `timeout_s`."""
        return bool(stop_pids([self.pid_file], name=self.name, timeout_s=timeout_s))

    def kill(self) -> None:
        """kill -9: no controlled shutdown, what a crashed machine looks like to the rest of the cluster."""
        pid = self.pid
        self.pid_file.unlink(missing_ok=True)
        if pid is not None:
            kill_pid(pid, name=self.name)

    def status(self) -> ServiceStatus:
        pid = self.pid
        running = pid is not None and self.ready()
        name = "kafka" if len(self.nodes) == 1 else f"kafka-{self.spec.node_id}"
        role = "KRaft" if len(self.nodes) == 1 else f"KRaft broker + controller {self.spec.node_id}"
        return ServiceStatus(name, running, pid, self.spec.address,
                             f"Kafka {self.settings.kafka_version} {role}" + ("" if running else " (stopped)"))


def _wait_started(nodes: list[KafkaNode], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    pending = list(nodes)
    while pending:
        pending = [node for node in pending if not node.check_started()]
        if not pending:
            return
        if time.monotonic() > deadline:
            names = ", ".join(node.name for node in pending)
            raise InfraError(f"{names} did not answer a metadata request within {timeout_s:.0f} s; "
                             f"see {pending[0].home / 'logs'}")
        time.sleep(0.5)


class KafkaService:
    """The local Kafka of these settings: `settings.kafka_brokers` nodes started, checked and stopped together."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.version = settings.kafka_version
        self.lib_dir = settings.local_dir / "kafka" / settings.kafka_version / "lib"
        self.home = self.home_of(settings, settings.kafka_brokers)
        specs = tuple(NodeSpec(index + 1, settings.kafka_host, port, controller_port)
                      for index, (port, controller_port) in enumerate(settings.kafka_node_ports))
        single = len(specs) == 1
        self.nodes = [KafkaNode(settings, spec, specs, self.home if single else self.home / f"node-{spec.node_id}", self.lib_dir)
                      for spec in specs]

    @staticmethod
    def home_of(settings: Settings, brokers: int) -> Path:
        name = f"port-{settings.kafka_port}" if brokers == 1 else f"cluster-{settings.kafka_port}x{brokers}"
        return settings.local_dir / "kafka" / name

    @classmethod
    def running_sizes(cls, settings: Settings) -> list[int]:
        """Cluster sizes with a node of this project running on these ports (for `infra down` and clashes)."""
        sizes = {path.name.rsplit("x", 1)[1] for path in (settings.local_dir / "kafka").glob(f"cluster-{settings.kafka_port}x*")}
        candidates = [1, *sorted(int(size) for size in sizes if size.isdigit())]
        return [size for size in candidates
                if any(read_pid(pid_file) is not None for pid_file in cls.home_of(settings, size).glob("**/kafka.pid"))]

    @property
    def address(self) -> str:
        return ",".join(node.spec.address for node in self.nodes)

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

    def _cluster_id(self) -> str:
        """One id for every node of the cluster, kept beside them (a node formatted later must match)."""
        id_file = self.home / "cluster.id"
        if id_file.exists():
            stored = id_file.read_text().strip()
            if not stored.startswith("-"):  # one written before ids were drawn as below cannot be passed to the tool
                return stored
        cluster_id = new_cluster_id()
        self.home.mkdir(parents=True, exist_ok=True)
        id_file.write_text(cluster_id)
        return cluster_id

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, *, timeout_s: float = 90.0) -> bool:
        """Start every node that does not run (all at once: a node needs a quorum of voters to become ready)
        and wait until each answers. Returns True if this call started any."""
        down = [node for node in self.nodes if not (node.running() and node.ready())]
        if not down:
            return False
        for size in self.running_sizes(self.settings):
            if size != len(self.nodes):
                raise InfraError(f"a {size}-node Kafka of this project runs on port {self.settings.kafka_port}; "
                                 "stop it first with `rideshare infra down`")
        self.ensure_jars()
        cluster_id = self._cluster_id() if not all(node.formatted for node in down) else ""
        # JVM start-ups are slow on a small machine: format every node at once, then launch every node at once.
        formatting = [(node, node.prepare(cluster_id)) for node in down]
        for node, process in formatting:
            if process is not None:
                node.finish_format(process)
        # Ports first, then every node at once: a node left alone waiting for its voters gives up after a minute
        # (its broker registration times out), which a port held in TIME_WAIT for a minute would cause.
        launching = [node for node in down if not node.running()]
        for node in launching:
            wait_bindable(node.spec.host, node.ports, timeout_s=PORT_WAIT_S, name=node.name)
        try:
            for node in launching:
                node.launch(wait_for_ports=False)
            _wait_started(down, timeout_s)
        except BaseException:
            stop_pids([node.pid_file for node in launching], name="Kafka", timeout_s=20)  # no half-started cluster left behind
            raise
        return True

    def ready(self) -> bool:
        return all(node.ready() for node in self.nodes)

    def stop(self) -> bool:
        """Stop every node together (graceful, KILL after 45 s). Returns True if any ran."""
        return bool(stop_pids([node.pid_file for node in self.nodes], name="Kafka", timeout_s=45))

    def node_statuses(self) -> list[ServiceStatus]:
        return [node.status() for node in self.nodes]

    def status(self) -> ServiceStatus:
        statuses = self.node_statuses()
        up = sum(st.running for st in statuses)
        layout = "" if len(statuses) == 1 else f", {up} of {len(statuses)} nodes up"
        detail = f"Kafka {self.version} KRaft{layout}" + ("" if up else " (stopped)")
        return ServiceStatus("kafka", up == len(statuses), statuses[0].pid, self.address, detail)
