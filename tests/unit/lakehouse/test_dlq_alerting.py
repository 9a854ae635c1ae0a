"""DLQ monitor: the alert decision (pure) and a check against real Delta tables (log, metric, alerts row, watermark)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from core.settings import Settings, load_settings
from lakehouse.bronze.validation import KafkaRecord
from lakehouse.bronze.writer import BronzeWriter
from lakehouse.dlq_monitor import check_dlq, evaluate_dead_letters, read_alerts


def test_no_alert_at_or_below_the_threshold() -> None:
    assert evaluate_dead_letters({}, 0) is None
    assert evaluate_dead_letters({"invalid_avro": 3}, 3) is None


def test_alert_above_the_threshold_names_the_worst_error_types_first() -> None:
    alert = evaluate_dead_letters({"truncated": 1, "negative_amount": 4}, 2)
    assert alert is not None
    assert alert.count == 5 and alert.threshold == 2
    assert alert.message.index("negative_amount x4") < alert.message.index("truncated x1")


@pytest.fixture
def lake(tmp_path: Path) -> Settings:
    return load_settings(lake_uri=str(tmp_path / "lake"), local_dir=tmp_path / "local")


def _dead_letters(settings: Settings, count: int, first_offset: int) -> None:
    records = [KafkaRecord(topic="rideshare.trips", partition=0, offset=first_offset + n, timestamp_ms=1_767_225_600_000,
                           key=b"T1", value=b"not avro at all") for n in range(count)]
    result = BronzeWriter(settings, "trips").write(records)
    assert result.dead_lettered == count


def _metric(name: str) -> float:
    value = REGISTRY.get_sample_value(name)
    return 0.0 if value is None else value


def test_check_alerts_once_per_new_batch_of_dead_letters(lake: Settings, caplog: pytest.LogCaptureFixture) -> None:
    _dead_letters(lake, 3, first_offset=0)
    alerts_before = _metric("rideshare_dlq_alerts_total")
    with caplog.at_level(logging.WARNING, logger="lakehouse.dlq_monitor"):
        first = check_dlq(lake, threshold=2)
    assert first.new_dead_letters == 3 and first.alert is not None
    assert "DLQ ALERT" in caplog.text and "not_single_object x3" in caplog.text
    assert _metric("rideshare_dlq_alerts_total") == alerts_before + 1
    assert _metric("rideshare_dlq_dead_letters_new") == 3

    second = check_dlq(lake, threshold=2)  # nothing new since the watermark
    assert second.new_dead_letters == 0 and second.alert is None

    _dead_letters(lake, 1, first_offset=3)
    third = check_dlq(lake, threshold=0)
    assert third.new_dead_letters == 1 and third.alert is not None

    alerts = read_alerts(lake)
    assert [row["count"] for row in alerts] == [3, 1]
    assert alerts[0]["alert_type"] == "dlq_threshold_exceeded" and alerts[0]["threshold"] == 2
