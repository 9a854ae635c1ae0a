"""Where one deployment's disposable lakehouse state lives (dbt profiles, targets and logs, data docs, engine
scratch space): below `settings.local_dir/warehouse`, never inside the lake."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.settings import Settings


@dataclass(frozen=True)
class WarehousePaths:
    """Where one deployment's dbt state lives: all under `settings.local_dir/warehouse` (disposable)."""

    root: Path

    @property
    def profiles_dir(self) -> Path:
        return self.root / "dbt-profiles"

    @property
    def target_dir(self) -> Path:
        return self.root / "dbt-target"

    @property
    def log_dir(self) -> Path:
        return self.root / "dbt-logs"

    @property
    def data_docs_dir(self) -> Path:
        return self.root / "data-docs"

    @property
    def dbt_docs_index(self) -> Path:
        return self.target_dir / "index.html"

    @property
    def duckdb_temp_dir(self) -> Path:
        return self.root / "duckdb-tmp"

    @property
    def spark_dir(self) -> Path:
        return self.root / "spark"


def warehouse_paths(settings: Settings) -> WarehousePaths:
    return WarehousePaths(Path(settings.local_dir) / "warehouse")
