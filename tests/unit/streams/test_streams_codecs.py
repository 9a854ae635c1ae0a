from __future__ import annotations

import pytest
from faust.serializers.codecs import dumps, loads

from core.settings import load_settings
from rideshare.worker_process import settings_env
from schemas.codec import DecodeError, decode, encode
from streams.codecs import codec_name, register_codecs
from streams.metrics import StreamMetrics

SURGE = {"event_id": "s1", "event_time": 1, "session_id": "s", "correlation_id": "12", "causation_id": None, "zone_id": "12",
         "surge_multiplier": 1.5, "previous_multiplier": 1.0, "demand_count": 9, "supply_count": 3,
         "window_start": 0, "window_end": 60_000}


def test_registered_codec_writes_the_platform_single_object_encoding() -> None:
    register_codecs()
    payload = dumps(codec_name("surge_update"), SURGE)
    assert payload == encode("surge_update", SURGE)
    assert decode(payload) == ("surge_update", SURGE)
    assert loads(codec_name("surge_update"), payload) == SURGE


def test_codec_rejects_a_record_of_another_schema() -> None:
    register_codecs()
    with pytest.raises(DecodeError, match="wrong_schema"):
        loads(codec_name("gps_ping"), encode("surge_update", SURGE))


def test_metrics_of_two_apps_do_not_collide_and_expose_prometheus_text() -> None:
    first, second = StreamMetrics(), StreamMetrics()
    first.dedup_drops.labels("gps").inc(3)
    assert 'rideshare_dedup_drops_total{topic="gps"} 3.0' in first.exposition().decode()
    assert 'rideshare_dedup_drops_total{topic="gps"}' not in second.exposition().decode()


def test_settings_travel_to_a_child_process_as_environment() -> None:
    settings = load_settings(topic_namespace="ns.", gps_window_ms=500)
    env = settings_env(settings)
    assert env["RIDESHARE_TOPIC_NAMESPACE"] == "ns." and env["RIDESHARE_GPS_WINDOW_MS"] == "500"
    rebuilt = load_settings(**{k.removeprefix("RIDESHARE_").lower(): v for k, v in env.items()})
    assert rebuilt.gps_window_ms == 500 and rebuilt.local_dir == settings.local_dir
