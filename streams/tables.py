"""RocksDB-backed Faust tables sized for a small machine, with string keys and JSON values."""

from __future__ import annotations

import logging

import faust
from faust.types.tables import CollectionT

__all__ = ["ROCKSDB_OPTIONS", "ChangelogTable", "learn_changelog_partitions", "state_table"]

log = logging.getLogger(__name__)

# RocksDB per table partition: Faust's defaults (2 GiB block cache, 3 x 64 MiB write buffers) times
# partitions times tables would not fit a 2-core / 24 GiB laptop running 8 services. A real-time worker
# owning every partition opens ~50 of these (4 tables x 12 partitions): a few MB each keeps it small.
# Write buffers are small too: a table written a few KB a second (dedup of a low-rate topic) fills a
# 2 MiB memtable over an hour, so the worker's memory grew for as long as a soak ran; at 256 KiB every
# memtable is full, and flushed, within minutes, and memtables stop adding to memory after warm-up.
ROCKSDB_OPTIONS: dict[str, int] = {
    "block_cache_size": 2 * 1024 * 1024,
    "write_buffer_size": 256 * 1024,
    "max_write_buffer_number": 2,
    "target_file_size_base": 8 * 1024 * 1024,
    "max_open_files": 256,
}


class ChangelogTable(faust.Table):  # type: ignore[misc]  # Faust's Table is generic at runtime only
    """Faust's table, with its source/changelog partition check deferred while the changelog's partitions are
    not known yet.

    Faust checks, at a table's first write, that its changelog has as many partitions as the source topic,
    from the consumer's metadata snapshot. For a changelog created a moment ago the snapshot can still say
    0 partitions (no topic has 0), and Faust then raised PartitionsMismatch and crashed the agent at its
    first checkpoint. A 0 is now "not known yet": the check runs again at the next write."""

    def _verify_source_topic_partitions(self, source_topic: str) -> None:
        if self.app.consumer.topic_partitions(self.changelog_topic_name) == 0:
            return  # not cached as verified: checked again once the snapshot knows the changelog
        super()._verify_source_topic_partitions(source_topic)


def state_table(app: faust.App, name: str, *, partitions: int, help: str) -> faust.Table:
    """A changelog-backed table keyed by strings stored as raw UTF-8 (the source topic's key bytes,
    so `@app.table_route` finds the owner of a key) with JSON values. Keys read back as bytes."""
    return app.Table(
        name,
        default=None,
        # key_type=bytes is what makes Faust use the raw serializer for the changelog topic too, which
        # `@app.table_route` hashes keys with (a schema's key_serializer alone leaves it on JSON).
        key_type=bytes,
        schema=faust.Schema(key_type=bytes, key_serializer="raw", value_serializer="json"),
        partitions=partitions,
        options=dict(ROCKSDB_OPTIONS),  # Faust pops keys out of this dict: give each table its own
        help=help,
    )


async def learn_changelog_partitions(app: faust.App, table: CollectionT) -> bool:
    """Make the producer's metadata know `table`'s changelog partitions; False if the broker does not say yet.

    Key-routed views (`table_route`, Faust's /table/ views) hash a key to its changelog partition with the
    producer's metadata, which knows a topic only once something was sent to it or it was asked for: before
    a table's first checkpoint such a view failed with a 500. Cheap once known."""
    producer = app.producer._ensure_producer()  # type: ignore[attr-defined]  # Faust's aiokafka driver
    topic = table.changelog_topic.get_topic_name()
    try:
        await producer.partitions_for(topic)
    except Exception as exc:  # the broker not answering, or the changelog not created yet
        log.warning("no metadata for changelog %s yet (%s): routed views answer 503 until it is known", topic, exc)
        return False
    return True
