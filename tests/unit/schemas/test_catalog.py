"""The topic catalog is the single source of topic names, keys, partitions and schemas."""

from __future__ import annotations

import pytest

from schemas.catalog import CATALOG, topic_for_schema, topic_spec
from schemas.codec import registry


def test_every_event_schema_has_exactly_one_topic_whose_key_is_a_schema_field() -> None:
    for name, version in registry().current.items():
        spec = topic_for_schema(name)
        field_names = {field["name"] for field in version.source["fields"]}
        assert spec.key_field in field_names, (name, spec.key_field)
    schemas_with_topics = [spec.value_schema for spec in CATALOG if spec.value_schema]
    assert sorted(schemas_with_topics) == sorted(registry().current)


def test_topic_names_are_unique_and_namespaced_on_request() -> None:
    assert len({spec.name for spec in CATALOG}) == len(CATALOG)
    assert topic_spec("trips").qualified("ci1.") == "ci1.rideshare.trips"
    assert topic_spec("rideshare.gps").key == "gps"


def test_surge_topic_is_compacted_and_others_have_retention() -> None:
    assert topic_spec("surge").config == {"cleanup.policy": "compact"}
    assert topic_spec("gps").config["retention.ms"] == str(24 * 3_600_000)


def test_unknown_topic_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="trips"):
        topic_spec("nope")
