"""Helpers of the bronze integration tests: isolated settings, a real worker subprocess, lake reads."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from confluent_kafka import Consumer, TopicPartition
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError

from core.settings import Settings, load_settings
from lakehouse.bronze.specs import bronze_table_uri
from rideshare.topics import create_topics
from rideshare.worker_process import WorkerProcess
from schemas.catalog import topic_spec


def isolated_settings(base: Settings, name: str, tmp_path: Path, **overrides: Any) -> Settings:
    """This test's own topics (namespace), consumer group, lake and worker folders; topics created."""
    settings = load_settings(**{"topic_namespace": f"{base.topic_namespace}{name}.", "lake_uri": str(tmp_path / "lake"),
                                "local_dir": tmp_path / "local", "kafka_bootstrap": base.bootstrap_servers, **overrides})
    create_topics(settings)
    return settings


class BronzeWorkerProcess(WorkerProcess):
    """`rideshare worker --role bronze` as a real subprocess, configured through the environment."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        super().__init__(settings, log_path=log_path, role="bronze", loglevel="info")

    @property
    def port(self) -> int:
        return self.web_port

    def kill9(self) -> None:
        self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def assert_alive(self) -> None:
        assert self.running(), f"worker exited:\n{self.log()[-4000:]}"


def bronze_rows(settings: Settings, topic_key: str, columns: list[str] | None = None) -> pd.DataFrame:
    """Rows of a bronze table (empty when it does not exist yet). to_pandas avoids the exit-134 pitfall."""
    try:
        return DeltaTable(bronze_table_uri(settings, topic_key)).to_pandas(columns=columns)
    except TableNotFoundError:
        return pd.DataFrame(columns=columns or [])


def table_version(settings: Settings, topic_key: str) -> int:
    try:
        return DeltaTable(bronze_table_uri(settings, topic_key)).version()
    except TableNotFoundError:
        return -1


def wait_for(condition: Callable[[], bool], *, timeout_s: float, what: str, worker: BronzeWorkerProcess | None = None,
             poll_s: float = 0.5) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if worker is not None:
            worker.assert_alive()
        if condition():
            return
        time.sleep(poll_s)
    detail = f"\nworker log tail:\n{worker.log()[-4000:]}" if worker is not None else ""
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}{detail}")


def high_watermarks(settings: Settings, topic_key: str) -> dict[int, int]:
    """Per partition: the offset after the last record (low watermark is 0 in a fresh namespace)."""
    spec = topic_spec(topic_key)
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": f"{settings.topic_namespace}probe"})
    try:
        topic = spec.qualified(settings.topic_namespace)
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(spec.partitions)}
    finally:
        consumer.close()


def assert_every_offset_exactly_once(settings: Settings, topic_key: str) -> int:
    """Every (partition, offset) of the topic is one bronze row; returns the row count."""
    rows = bronze_rows(settings, topic_key, ["kafka_topic", "kafka_partition", "kafka_offset"])
    expected = {(p, o) for p, high in high_watermarks(settings, topic_key).items() for o in range(high)}
    coordinates = list(zip(rows["kafka_partition"], rows["kafka_offset"], strict=True))
    duplicates = len(coordinates) - len(set(coordinates))
    assert duplicates == 0, f"{duplicates} (partition, offset) pairs of {topic_key} written more than once"
    assert set(coordinates) == expected, (
        f"{topic_key}: {len(expected - set(coordinates))} offsets missing, {len(set(coordinates) - expected)} unexpected")
    assert set(rows["kafka_topic"]) <= {topic_spec(topic_key).qualified(settings.topic_namespace)}
    return len(coordinates)
