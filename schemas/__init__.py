"""Event contracts: Avro schemas, the single-object codec and the topic catalog."""

from schemas.catalog import CATALOG, TopicSpec, topic_for_schema, topic_spec
from schemas.codec import DecodeError, EncodeError, decode, encode, event_type_of, registry

__all__ = [
    "CATALOG",
    "DecodeError",
    "EncodeError",
    "TopicSpec",
    "decode",
    "encode",
    "event_type_of",
    "registry",
    "topic_for_schema",
    "topic_spec",
]
