"""Where the simulation's surge multipliers come from. The simulation never computes surge: it asks a
`SurgeSource` for the latest multiplier of a zone (1.0 when none is known).

- `StaticSurge(mapping)`: fixed multipliers (jsonl/null runs, tests); empty = 1.0 everywhere.
- `KafkaSurge(settings)`: consumes the catalog's `surge` topic (surge_update records) with a
  confluent-kafka consumer; `poll()` is called by the simulation between steps and applies every
  update received since, latest per zone.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Protocol

from confluent_kafka import Consumer, KafkaError

from core.settings import Settings
from schemas.catalog import topic_spec
from schemas.codec import DecodeError, decode

__all__ = ["KafkaSurge", "StaticSurge", "SurgeSource"]

log = logging.getLogger(__name__)


class SurgeSource(Protocol):
    def multiplier(self, zone_id: str) -> float: ...

    def poll(self) -> int:
        """Apply updates received since the last call; return how many were applied."""
        ...

    def snapshot(self) -> dict[str, float]: ...

    def close(self) -> None: ...


class StaticSurge:
    def __init__(self, multipliers: Mapping[str, float] | None = None) -> None:
        self._multipliers = dict(multipliers or {})

    def multiplier(self, zone_id: str) -> float:
        return self._multipliers.get(zone_id, 1.0)

    def set(self, zone_id: str, value: float) -> None:
        self._multipliers[zone_id] = value

    def poll(self) -> int:
        return 0

    def snapshot(self) -> dict[str, float]:
        return dict(self._multipliers)

    def close(self) -> None:
        return None


class KafkaSurge:
    """Latest multiplier per zone from the surge topic (compacted, read from the beginning)."""

    def __init__(self, settings: Settings, *, group_id: str | None = None) -> None:
        self.topic = topic_spec("surge").qualified(settings.topic_namespace)
        self._consumer = Consumer({
            "bootstrap.servers": settings.bootstrap_servers,
            # A private group per run: every simulation reads the whole compacted state.
            "group.id": group_id or f"sim-surge-{uuid.uuid4().hex[:12]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        })
        self._consumer.subscribe([self.topic])
        self._multipliers: dict[str, float] = {}
        self.applied = 0
        self.rejected = 0

    def multiplier(self, zone_id: str) -> float:
        return self._multipliers.get(zone_id, 1.0)

    def poll(self, timeout_s: float = 0.0, max_messages: int = 1000) -> int:
        applied = 0
        for message in self._consumer.consume(max_messages, timeout=timeout_s):
            if message.error() is not None:
                if message.error().code() != KafkaError._PARTITION_EOF:
                    log.warning("surge consumer error: %s", message.error())
                continue
            try:
                schema, record = decode(message.value())
            except DecodeError as exc:
                self.rejected += 1
                log.warning("skipping an undecodable surge record (%s)", exc.reason)
                continue
            if schema != "surge_update":
                self.rejected += 1
                continue
            self._multipliers[record["zone_id"]] = max(1.0, float(record["surge_multiplier"]))
            applied += 1
        self.applied += applied
        return applied

    def snapshot(self) -> dict[str, float]:
        return dict(self._multipliers)

    def close(self) -> None:
        self._consumer.close()
