"""The typed records (schemas/records.py) are generated from the Avro schemas, and what the simulation emits
has exactly their fields, with values of their types."""

from __future__ import annotations

import json
import types
import typing
from typing import Any

import pytest

from agents_sim.params import SimConfig
from agents_sim.runtime import SimulationRuntime
from agents_sim.sinks import ListSink
from schemas.record_types import AVRO_DIR, RECORDS_MODULE, render
from schemas.records import RECORD_TYPES


def test_the_records_module_is_generated_from_the_schemas() -> None:
    assert RECORDS_MODULE.read_text() == render(), "schemas/records.py is out of date: run `python -m schemas.record_types`"


@pytest.mark.parametrize("schema", sorted(RECORD_TYPES))
def test_each_record_type_has_the_fields_of_its_schema(schema: str) -> None:
    fields = [field["name"] for field in json.loads((AVRO_DIR / f"{schema}.avsc").read_text())["fields"]]
    assert list(typing.get_type_hints(RECORD_TYPES[schema])) == fields


def _conforms(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if hint is type(None):
        return value is None
    if origin in (types.UnionType, typing.Union):
        return any(_conforms(value, branch) for branch in typing.get_args(hint))
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if origin is list:
        return isinstance(value, list) and all(_conforms(item, typing.get_args(hint)[0]) for item in value)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, hint)


def test_the_simulation_emits_records_of_exactly_these_types() -> None:
    config = SimConfig(seed=5, drivers=30, riders=300)
    sink = ListSink()
    runtime = SimulationRuntime(config, sink, speed="max", end_ms=config.start_ms + 2 * 3600 * 1000)
    runtime.start()
    try:
        while not runtime.wait(0.5):
            pass
    finally:
        runtime.stop()
    assert runtime.error is None
    seen = {schema for schema, _ in sink.events}
    assert {"gps_ping", "trip_event", "driver_status", "payment", "rating", "driver_profile", "rider_profile"} <= seen
    for schema, record in sink.events:
        hints = typing.get_type_hints(RECORD_TYPES[schema])
        assert list(record) == list(hints), (schema, record)
        wrong = {name: value for name, value in record.items() if not _conforms(value, hints[name])}
        assert not wrong, (schema, wrong, record)
