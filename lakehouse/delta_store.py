"""Writing one dbt model's result to its Delta table through delta-rs: overwrite, append or MERGE.

The strategies mirror dbt's (and dbt-spark's on Delta), so a model's config means the same on both
engines: a table (or a full refresh) overwrites; an incremental model appends, or merges on its
`unique_key` with its `incremental_predicates` (SQL over the aliases `DBT_INTERNAL_DEST` and
`DBT_INTERNAL_SOURCE`, as in dbt-spark). `merge_on_match="ignore"` keeps a matched target row as it is
(de-duplication: the first copy of an event wins), `"update"` replaces it (SCD2: a version's end).
An increment with no rows commits nothing, so building again with no new data leaves every table at
its version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError

from lakehouse.exceptions import LakehouseError

__all__ = ["SOURCE_ALIAS", "TARGET_ALIAS", "StoreOutcome", "WriteSpec", "store"]

Strategy = Literal["overwrite", "append", "merge"]
SOURCE_ALIAS = "DBT_INTERNAL_SOURCE"
TARGET_ALIAS = "DBT_INTERNAL_DEST"


@dataclass(frozen=True)
class WriteSpec:
    """How a model is written: the strategy and, for merges, the key, extra predicates and on-match rule."""

    strategy: Strategy
    partition_by: tuple[str, ...] = ()
    unique_key: tuple[str, ...] = ()
    incremental_predicates: tuple[str, ...] = ()
    merge_on_match: Literal["update", "ignore"] = "update"

    def __post_init__(self) -> None:
        if self.strategy == "merge" and not self.unique_key:
            raise LakehouseError("incremental_strategy 'merge' needs a unique_key")

    def merge_predicate(self) -> str:
        keys = [f"{TARGET_ALIAS}.{key} = {SOURCE_ALIAS}.{key}" for key in self.unique_key]
        return " AND ".join([*keys, *(f"({predicate})" for predicate in self.incremental_predicates)])


@dataclass(frozen=True)
class StoreOutcome:
    rows_in: int
    version_before: int | None
    version_after: int | None
    merge_metrics: Mapping[str, int] | None = None

    @property
    def committed(self) -> bool:
        return self.version_after != self.version_before


def _open(uri: str, storage_options: dict[str, str] | None) -> DeltaTable | None:
    try:
        return DeltaTable(uri, storage_options=storage_options)
    except TableNotFoundError:
        return None


def store(uri: str, data: pa.RecordBatchReader, spec: WriteSpec, *,
          storage_options: Mapping[str, str] | None = None) -> StoreOutcome:
    """Write `data` (a model's rows) to the Delta table at `uri` as `spec` says."""
    options = dict(storage_options or {}) or None
    target = _open(uri, options)
    before = None if target is None else target.version()
    partition_by = list(spec.partition_by) or None
    if spec.strategy == "overwrite" or target is None:
        # Streamed: a full build never holds the whole model in memory.
        counting = _CountingReader(data)
        write_deltalake(uri, counting.reader(), mode="overwrite", schema_mode="overwrite",
                        partition_by=partition_by, storage_options=options)
        return StoreOutcome(counting.rows, before, _open(uri, options).version())  # type: ignore[union-attr]  # just written
    increment = data.read_all()  # an increment is small; its size decides whether to commit at all
    if increment.num_rows == 0:
        return StoreOutcome(0, before, before)
    if spec.strategy == "append":
        write_deltalake(target, increment, mode="append", schema_mode="merge", storage_options=options)
        target.update_incremental()
        return StoreOutcome(increment.num_rows, before, target.version())
    merger = target.merge(increment, spec.merge_predicate(), source_alias=SOURCE_ALIAS, target_alias=TARGET_ALIAS)
    if spec.merge_on_match == "update":
        merger = merger.when_matched_update_all()
    metrics = merger.when_not_matched_insert_all().execute()  # delta-rs commits nothing when nothing changed
    target.update_incremental()
    return StoreOutcome(increment.num_rows, before, target.version(),
                        {key: int(value) for key, value in metrics.items() if isinstance(value, int)})


class _CountingReader:
    """Passes record batches through while counting their rows."""

    def __init__(self, data: pa.RecordBatchReader) -> None:
        self._data = data
        self.rows = 0

    def reader(self) -> pa.RecordBatchReader:
        def batches():  # type: ignore[no-untyped-def]  # a plain generator of RecordBatch
            for batch in self._data:
                self.rows += batch.num_rows
                yield batch

        return pa.RecordBatchReader.from_batches(self._data.schema, batches())
