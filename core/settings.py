"""One frozen settings object per process, read from RIDESHARE_* environment variables and `.env`.

Library code never reads os.environ: entry points call `load_settings()` once and pass it down.
Defaults run on a fresh machine with everything on loopback under `.local/` in the project.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The documented development keys (README): fine on loopback, refused by the API when it listens anywhere else.
DEVELOPMENT_API_KEYS = ("dev-admin-key", "dev-viewer-key")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RIDESHARE_", env_file=".env", frozen=True, extra="ignore"
    )

    local_dir: Path = Field(PROJECT_ROOT / ".local", description="Ignored folder for jars, service data, logs and the lake.")

    kafka_host: str = "127.0.0.1"
    kafka_port: int = Field(9092, ge=1, le=65535, description="Kafka PLAINTEXT listener port.")
    kafka_controller_port: int = Field(9093, ge=1, le=65535, description="KRaft controller listener port.")
    kafka_version: str = Field("4.1.1", description="Apache Kafka version resolved from Maven Central.")
    kafka_heap: str = Field("1g", description="Kafka JVM heap (-Xms and -Xmx: reserved whole at start).")
    kafka_bootstrap: str | None = Field(None, description="Use an external cluster instead of the local broker.")
    kafka_brokers: int = Field(
        1, ge=1, le=9, description="Nodes of the Kafka cluster (the local one has combined broker + controller nodes): "
        "topics get replication min(3, nodes), and min.insync.replicas 2 from three replicas.")
    kafka_node_port_step: int = Field(
        100, ge=2, description="Node n (from 0) of a local cluster listens on kafka_port + n x step (controller likewise).")

    redis_host: str = "127.0.0.1"
    redis_port: int = Field(6379, ge=1, le=65535)

    topic_namespace: str = Field("", description="Prefix added to every catalog topic name (isolates runs sharing a broker).")

    lake_uri: str = Field("", description="Delta Lake root: a folder or an s3:// URI (default: the lake folder of local_dir).")
    lake_storage_options: dict[str, str] = Field(default_factory=dict, description="delta-rs storage options (JSON) for remote lakes.")
    # A Delta commit costs about as much as writing tens of thousands of records: on a backlog, 50,000 per
    # commit ingests 1.6x faster than 25,000 (bench/topologies.py bronze), with 2 batches buffered per topic.
    bronze_batch_max_records: int = Field(50_000, ge=1, description="Bronze micro-batch: commit after this many records per topic...")
    bronze_batch_max_seconds: float = Field(2.0, gt=0, description="... or after this many seconds, whichever comes first.")
    bronze_event_time_skew_ms: int = Field(
        86_400_000, ge=60_000,
        description="Bronze dead-letters an event this far ahead of its partition's clock (per run): a far-future outlier.")
    bronze_max_batch_attempts: int = Field(
        20, ge=1, description="A batch whose commit keeps failing (lake reachable) is dead-lettered after this many attempts.")
    # Event time vs. the broker's (wall-clock) timestamp: simulations replay a fixed start instant (months
    # back) at up to 1000x, so only absurd times (unit mix-ups, garbage) are dead-lettered by default.
    bronze_event_time_max_ahead_days: float = Field(30.0, gt=0, description="Bronze dead-letters events this far after the broker time.")
    bronze_event_time_max_behind_days: float = Field(3650.0, gt=0, description="Bronze dead-letters events older than this.")
    lake_vacuum_retention_hours: float = Field(168.0, ge=0, description="Delta vacuum keeps files removed less than this long ago.")
    dlq_alert_threshold: int = Field(0, ge=0, description="DLQ monitor alerts above this many new dead letters.")

    osrm_url: str | None = Field(
        None, validation_alias=AliasChoices("osrm_url", "RIDESHARE_OSRM_URL", "OSRM_URL"),
        description="OSRM server for street routes in the simulation (optional; the built-in grid router otherwise).")

    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65535)
    worker_web_port: int = Field(6066, ge=1, le=65535)
    worker_web_host: str = Field("127.0.0.1", description="Address the workers' web servers listen on (views, /metrics).")
    dedup_horizon_ms: int = Field(120_000, ge=1_000, description="Event-time span of duplicate-id memory.")
    stream_event_time_skew_ms: int = Field(
        300_000, ge=1_000, description="An event this far ahead of its partition's clock is an outlier (counted, skipped).")
    stream_batch_max_events: int = Field(5_000, ge=1, description="Real-time batch: at most this many events per batch...")
    stream_batch_within_s: float = Field(0.05, gt=0, description="... or what arrived within this many seconds.")
    stream_stall_check_s: float = Field(5.0, gt=0, description="How often a worker checks its partitions are being fetched.")
    stream_stall_timeout_s: float = Field(
        30.0, gt=0, description="An assigned partition with lag and no progress this long is stalled (healed, then restarted).")
    stream_rebalance_timeout_s: float = Field(
        180.0, gt=0, description="A rebalance (table recovery included) that makes no progress this long makes the "
                                 "worker exit for its supervisor to restart it.")
    stream_revoke_commit_timeout_s: float = Field(
        10.0, gt=0, description="How long a worker tries to commit its acked offsets before giving partitions up (the "
                                "records after the last commit that made it are read again).")
    fault_unfetched_partition: str | None = Field(
        None, description="Fault injection for tests: 'topic:partition' the worker stops fetching once assigned.")
    fault_revoke_commit_hangs: bool = Field(
        False, description="Fault injection for tests: the offset commit before a revoke never returns (a group "
                           "coordinator that does not answer).")
    stream_checkpoint_s: float = Field(
        5.0, gt=0, description="Real-time state is written to its tables (changelogs), and offsets acked, this often.")
    gps_window_ms: int = Field(1_000, ge=100, description="Tumbling event-time window of the GPS aggregation.")
    gps_idle_expiry_ms: int = Field(300_000, ge=1_000, description="Event time after which a silent entity leaves the live map.")
    surge_window_ms: int = Field(300_000, ge=60_000, description="Hopping window size of the surge demand/supply counts.")
    surge_step_ms: int = Field(60_000, ge=1_000, description="Hopping window step (how often surge is re-evaluated, event time).")
    surge_allowed_lateness_ms: int = Field(15_000, ge=0, description="Event time a surge window waits past its end for late signals.")
    # API keys: comma-separated in RIDESHARE_API_ADMIN_KEYS / RIDESHARE_API_VIEWER_KEYS. SecretStr keeps them
    # out of reprs and logs. The defaults are development keys documented in the README: change them anywhere shared.
    api_admin_keys: Annotated[tuple[SecretStr, ...], NoDecode] = Field(
        (SecretStr(DEVELOPMENT_API_KEYS[0]),), description="Keys that may read and mutate the simulation through the API."
    )
    api_viewer_keys: Annotated[tuple[SecretStr, ...], NoDecode] = Field(
        (SecretStr(DEVELOPMENT_API_KEYS[1]),), description="Keys that may only read (REST GETs and the WebSocket)."
    )
    api_max_body_bytes: int = Field(16 * 1024, ge=256, description="Largest request body the API reads (413 beyond).")
    api_max_ws_clients: int = Field(32, ge=1, description="WebSocket clients served at once (more are closed with 1013, try later).")
    api_keep_alive_s: int = Field(
        75, ge=1, description="How long the API keeps an idle HTTP connection open for the client's next request. Longer "
                                "than any polling interval: a connection closed just as a poller reuses it loses that request.")
    api_mutations_per_s: float = Field(5.0, gt=0, description="Mutating API calls per second and key, sustained (429 beyond)...")
    api_mutations_burst: int = Field(20, ge=1, description="... and in a burst.")

    @model_validator(mode="after")
    def _derive_from_local_dir(self) -> Settings:
        """Defaults that live below `local_dir` follow it: a second stack with its own local dir has its own lake."""
        if not self.lake_uri:
            object.__setattr__(self, "lake_uri", str(Path(self.local_dir) / "lake"))  # frozen model: set once, here
        return self

    @field_validator("api_admin_keys", "api_viewer_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(key.strip() for key in value.split(",") if key.strip())
        return value

    @model_validator(mode="after")
    def _distinct_node_ports(self) -> Settings:
        ports = [port for pair in self.kafka_node_ports for port in pair]
        if len(set(ports)) != len(ports) or max(ports) > 65535:
            raise ValueError(f"the {self.kafka_brokers} Kafka nodes' ports {ports} overlap or exceed 65535: choose "
                             "RIDESHARE_KAFKA_PORT, RIDESHARE_KAFKA_CONTROLLER_PORT and RIDESHARE_KAFKA_NODE_PORT_STEP apart")
        return self

    @property
    def kafka_node_ports(self) -> tuple[tuple[int, int], ...]:
        """(broker port, controller port) of each node of the local cluster."""
        step = self.kafka_node_port_step
        return tuple((self.kafka_port + n * step, self.kafka_controller_port + n * step) for n in range(self.kafka_brokers))

    @property
    def kafka_replication_factor(self) -> int:
        """Replicas of every topic (catalog, Kafka's internal ones, Faust's changelogs): up to 3."""
        return min(3, self.kafka_brokers)

    @property
    def kafka_min_insync_replicas(self) -> int:
        """With acks=all a write needs this many replicas: 2 of 3 survives one node down and loses nothing."""
        return 2 if self.kafka_replication_factor >= 3 else 1

    @property
    def bootstrap_servers(self) -> str:
        """Every node, so a client can start while one of them is down."""
        return self.kafka_bootstrap or ",".join(f"{self.kafka_host}:{port}" for port, _ in self.kafka_node_ports)

    @property
    def redis_url(self) -> str:
        return f"redis://{self.redis_host}:{self.redis_port}/0"


def load_settings(**overrides: object) -> Settings:
    """Build the process's settings; keyword overrides win over the environment."""
    return Settings(**overrides)  # type: ignore[arg-type]  # pydantic validates the overrides
