"""The `--speed auto` lag probe after a failed reading: a new admin client, not the one that failed."""

from __future__ import annotations

from agents_sim.lag import KafkaLagProbe
from core.settings import load_settings
from rideshare.worker_process import free_port


def test_a_failed_lag_reading_is_none_and_renews_the_admin_client() -> None:
    # No broker on this port: the reading fails, as every reading of a client that lived through a broker
    # restart can (the pipeline's broker-restart fault test covers that case on a real broker).
    settings = load_settings().model_copy(update={"kafka_bootstrap": f"127.0.0.1:{free_port()}"})
    probe = KafkaLagProbe(settings, "rideshare-streams", timeout_s=0.5)
    failed_client = probe._admin.client
    assert probe.read() is None
    assert probe._admin.client is not failed_client
