"""The topic catalog: the one place that declares every topic of the platform.

Producers, Faust topics, `rideshare topics create`, the bronze writer and the docs all read it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CATALOG", "WORKER_PARTITIONS", "TopicSpec", "topic_for_schema", "topic_spec"]

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


@dataclass(frozen=True)
class TopicSpec:
    """A topic: `key` is its short catalog name, `name` its Kafka name (before any namespace)."""

    key: str
    name: str
    key_field: str | None
    partitions: int
    retention_ms: int
    cleanup_policy: str
    value_schema: str | None
    doc: str

    def qualified(self, namespace: str = "") -> str:
        """Kafka topic name with the deployment's namespace prefix (e.g. 'ci42.')."""
        return f"{namespace}{self.name}"

    @property
    def config(self) -> dict[str, str]:
        config = {"cleanup.policy": self.cleanup_policy}
        if "delete" in self.cleanup_policy:
            config["retention.ms"] = str(self.retention_ms)
        return config


# Event topics have WORKER_PARTITIONS partitions: up to that many workers of a role share a topic. The control
# topic keeps one (its events are ordered), the DLQ a few (nothing consumes it in parallel).
WORKER_PARTITIONS = 12
CATALOG: tuple[TopicSpec, ...] = (
    TopicSpec("trips", "rideshare.trips", "trip_id", WORKER_PARTITIONS, 7 * DAY_MS, "delete", "trip_event",
              "Trip lifecycle events, all steps of a trip on one partition."),
    TopicSpec("gps", "rideshare.gps", "entity_id", WORKER_PARTITIONS, 1 * DAY_MS, "delete", "gps_ping",
              "GPS pings of drivers and riders."),
    TopicSpec("driver-status", "rideshare.driver-status", "driver_id", WORKER_PARTITIONS, 7 * DAY_MS, "delete", "driver_status",
              "Driver availability changes."),
    TopicSpec("surge", "rideshare.surge", "zone_id", WORKER_PARTITIONS, 7 * DAY_MS, "compact", "surge_update",
              "Latest surge multiplier per zone, produced by the surge topology, consumed by the simulation."),
    TopicSpec("ratings", "rideshare.ratings", "trip_id", WORKER_PARTITIONS, 30 * DAY_MS, "delete", "rating",
              "Ratings given after completed trips."),
    TopicSpec("payments", "rideshare.payments", "trip_id", WORKER_PARTITIONS, 30 * DAY_MS, "delete", "payment",
              "Payments of completed trips."),
    TopicSpec("driver-profiles", "rideshare.driver-profiles", "driver_id", WORKER_PARTITIONS, 30 * DAY_MS, "delete", "driver_profile",
              "Driver profile created/updated events (full state), source of SCD2 dim_driver."),
    TopicSpec("rider-profiles", "rideshare.rider-profiles", "rider_id", WORKER_PARTITIONS, 30 * DAY_MS, "delete", "rider_profile",
              "Rider profile created/updated events (full state), source of SCD2 dim_rider."),
    TopicSpec("sim-control", "rideshare.sim-control", "session_id", 1, 30 * DAY_MS, "delete", "simulation_control",
              "Simulation run-state changes (start, pause, speed, ...)."),
    TopicSpec("dlq", "rideshare.dlq", None, 3, 30 * DAY_MS, "delete", None,
              "Dead letters: original raw bytes; headers carry source topic/partition/offset, error type and message."),
)

_BY_KEY = {spec.key: spec for spec in CATALOG}
_BY_SCHEMA = {spec.value_schema: spec for spec in CATALOG if spec.value_schema}


def topic_spec(key: str) -> TopicSpec:
    """Catalog entry by short name (`trips`) or Kafka name (`rideshare.trips`)."""
    spec = _BY_KEY.get(key) or next((s for s in CATALOG if s.name == key), None)
    if spec is None:
        known = ", ".join(s.key for s in CATALOG)
        raise KeyError(f"unknown topic {key!r}; the catalog has: {known}")
    return spec


def topic_for_schema(schema_name: str) -> TopicSpec:
    """The topic every event of `schema_name` is produced to."""
    return _BY_SCHEMA[schema_name]
