"""The platform's Avro single-object codec registered with Faust.

One codec per event schema, named `avro-<schema>` (e.g. `avro-surge_update`): dumping a dict encodes it
with that schema, loading decodes any known writer version and checks the record is of that schema.
Real-time agents read their inputs as `raw` bytes and decode themselves, because a Faust value
decode error is re-raised inside the agent's stream (it would crash the agent on one poison record).
"""

from __future__ import annotations

from typing import Any

from faust.serializers import codecs
from faust.serializers.codecs import Codec

from schemas.codec import DecodeError, registry

__all__ = ["AvroEventCodec", "codec_name", "register_codecs"]


def codec_name(schema_name: str) -> str:
    return f"avro-{schema_name}"


class AvroEventCodec(Codec):
    """Faust codec for one event schema (Avro single-object encoding, see schemas.codec)."""

    def __init__(self, schema_name: str, **kwargs: Any) -> None:
        super().__init__(schema_name=schema_name, **kwargs)
        self.schema_name = schema_name

    def _dumps(self, obj: Any) -> bytes:
        return registry().encode(self.schema_name, obj)

    def _loads(self, s: bytes) -> Any:
        name, record = registry().decode(s)
        if name != self.schema_name:
            raise DecodeError("wrong_schema", f"expected a {self.schema_name} record, got {name}")
        return record


def register_codecs() -> None:
    """Register `avro-<schema>` for every current schema (idempotent)."""
    for schema_name in registry().current:
        name = codec_name(schema_name)
        if name not in codecs.codecs:
            codecs.register(name, AvroEventCodec(schema_name))
