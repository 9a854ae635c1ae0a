"""RocksDB-backed Faust tables sized for a small machine, with string keys and JSON values."""

from __future__ import annotations

import faust

__all__ = ["ROCKSDB_OPTIONS", "state_table"]

# RocksDB per table partition: Faust's defaults (2 GiB block cache, 3 x 64 MiB write buffers) times
# partitions times tables would not fit a 2-core / 24 GiB laptop running 8 services.
ROCKSDB_OPTIONS: dict[str, int] = {
    "block_cache_size": 8 * 1024 * 1024,
    "write_buffer_size": 4 * 1024 * 1024,
    "max_write_buffer_number": 2,
    "target_file_size_base": 8 * 1024 * 1024,
    "max_open_files": 256,
}


def state_table(app: faust.App, name: str, *, partitions: int, help: str) -> faust.Table:
    """A changelog-backed table keyed by raw UTF-8 strings (the source topic's key bytes, so
    `@app.table_route` finds the owner of a key) with JSON values. Read keys back as bytes."""
    return app.Table(
        name,
        default=None,
        schema=faust.Schema(key_serializer="raw", value_serializer="json"),
        partitions=partitions,
        options=dict(ROCKSDB_OPTIONS),  # Faust pops keys out of this dict: give each table its own
        help=help,
    )
