"""Faust topic objects built from the catalog (schemas/catalog.py), always namespace-qualified."""

from __future__ import annotations

import faust

from core.settings import Settings
from schemas.catalog import topic_spec
from streams.codecs import codec_name

__all__ = ["catalog_topic", "internal_topic"]


def catalog_topic(app: faust.App, settings: Settings, key: str, *, decoded: bool = False) -> faust.TopicT:
    """The Faust topic of catalog entry `key`; values are raw bytes unless `decoded` (Avro codec).

    Keys stay raw bytes (UTF-8 of the catalog key field). Topics are created by `rideshare topics create`,
    so the app never declares (and never re-configures) them.
    """
    spec = topic_spec(key)
    value_serializer = codec_name(spec.value_schema) if decoded and spec.value_schema else "raw"
    return app.topic(
        spec.qualified(settings.topic_namespace),
        key_serializer="raw",
        value_serializer=value_serializer,
        partitions=spec.partitions,
        acks=True,
        internal=False,
    )


def internal_topic(app: faust.App, settings: Settings, name: str, *, partitions: int) -> faust.TopicT:
    """A topic private to the streams app (repartitioning), created by Faust, JSON values."""
    return app.topic(
        f"{settings.topic_namespace}rideshare.internal.{name}",
        key_serializer="raw",
        value_serializer="json",
        partitions=partitions,
        internal=True,
    )
