"""A producer its owner drops is destroyed at once: nothing keeps it alive to reconnect to brokers that are gone."""

from __future__ import annotations

import gc
import time
import weakref
from collections.abc import Iterator

import pytest

from core.producer import EventProducer, UndeliveredError
from core.settings import load_settings

NOWHERE = "127.0.0.1:1"  # a closed port: the client keeps trying to connect while it lives


@pytest.fixture
def no_cycle_collection() -> Iterator[None]:
    gc.disable()  # only reference counting may free the producer
    try:
        yield
    finally:
        gc.enable()


def test_a_dropped_producer_is_freed_without_a_garbage_collection(no_cycle_collection: None) -> None:
    producer = EventProducer(load_settings(kafka_bootstrap=NOWHERE))
    alive = weakref.ref(producer)
    del producer
    assert alive() is None


def test_close_drops_what_cannot_be_delivered_and_returns() -> None:
    producer = EventProducer(load_settings(kafka_bootstrap=NOWHERE))
    producer.send_raw("nowhere.gps", b"k", b"v", [])
    began = time.monotonic()
    with pytest.raises(UndeliveredError, match="not delivered within 1 s"):
        producer.close(timeout_s=1)
    assert time.monotonic() - began < 10  # queued events never expire: the client's own close would wait for ever
