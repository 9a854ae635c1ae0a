"""The KPI report read back from a real broker equals the report of the same events in memory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agents_sim.report import ReportError, compute_kpis
from agents_sim.report.kafka_source import KafkaEvents
from core.producer import EventProducer
from core.settings import Settings
from rideshare.cli import app
from schemas.catalog import topic_spec
from tests.unit.agents_sim.report_events import busy_day

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def produced(topics: Settings) -> Settings:
    producer = EventProducer(topics)
    for schema, record in busy_day().events:
        producer.send(schema, record)
    producer.send_raw(topic_spec("payments").qualified(topics.topic_namespace), b"poison", b"not avro", {})
    producer.flush()
    return topics


def test_report_from_kafka_topics_equals_the_report_of_the_events_in_memory(produced: Settings) -> None:
    source = KafkaEvents(produced)
    from_kafka = compute_kpis(source)
    in_memory = busy_day().report()
    assert source.read == len(busy_day().events)
    assert source.undecodable == 1
    assert from_kafka.in_band == in_memory.in_band
    for metric, value in in_memory.measurements.metrics.items():
        assert from_kafka.value(metric) == (pytest.approx(value) if value is not None else None), metric


def test_cli_reads_a_namespace_from_kafka(produced: Settings, tmp_path: Path) -> None:
    out = tmp_path / "kpis.json"
    result = CliRunner().invoke(app, ["sim", "report", "kafka:", "--namespace", produced.topic_namespace, "--json", str(out),
                                      "--html", str(tmp_path / "kpis.html")])
    assert result.exit_code == 0, result.output
    assert "skipped 1 undecodable" in result.output
    assert json.loads(out.read_text(encoding="utf-8"))["facts"]["events"] == len(busy_day().events)


def test_an_unknown_namespace_is_a_clear_error(produced: Settings) -> None:
    with pytest.raises(ReportError, match="no catalog topic with namespace"):
        compute_kpis(KafkaEvents(produced, namespace="nobody-here."))
