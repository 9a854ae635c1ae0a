"""Running the project's dbt-duckdb project in-process, configured from Settings.

The profile is generated at run time into the warehouse folder (never committed): it points the
DuckDB file and the bronze Delta paths at this process's Settings, so parallel test sessions with
their own `local_dir`/`lake_uri` never share a warehouse. dbt runs in-process through `dbtRunner`
(one start-up per command instead of a subprocess each time).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from core.settings import PROJECT_ROOT, Settings
from lakehouse.exceptions import DbtRunError

__all__ = ["DBT_PROJECT_DIR", "DbtNodeResult", "WarehousePaths", "run_dbt", "warehouse_paths"]

log = logging.getLogger(__name__)

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt"
ZONES_GEOJSON = PROJECT_ROOT / "schemas" / "data" / "sao-paulo-districts.geojson"  # the one copy, shipped with the zone model


@dataclass(frozen=True)
class WarehousePaths:
    """Where one deployment's warehouse lives: all under `settings.local_dir/warehouse`."""

    root: Path

    @property
    def duckdb_file(self) -> Path:
        return self.root / "rideshare.duckdb"

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


def warehouse_paths(settings: Settings) -> WarehousePaths:
    return WarehousePaths(Path(settings.local_dir) / "warehouse")


@dataclass(frozen=True)
class DbtNodeResult:
    """One model, test or seed of a dbt invocation."""

    unique_id: str
    resource_type: str
    status: str
    message: str
    rows_affected: int | None
    execution_time_s: float

    @property
    def name(self) -> str:
        return self.unique_id.split(".")[-1] if self.resource_type != "test" else self.unique_id.split(".")[2]

    @property
    def failed(self) -> bool:
        return self.status in {"error", "fail", "runtime error"}


def write_profile(settings: Settings) -> WarehousePaths:
    """Write the dbt profile for `settings` and return the warehouse paths."""
    paths = warehouse_paths(settings)
    paths.profiles_dir.mkdir(parents=True, exist_ok=True)
    profile = {
        "rideshare": {
            "target": "local",
            "outputs": {
                "local": {
                    "type": "duckdb",
                    "path": str(paths.duckdb_file),
                    "schema": "main",
                    "threads": 1,  # the delta plugin (re)creates source views per model: concurrent threads conflict in the catalog
                    "plugins": [{"module": "delta"}],
                    # Offline machine: DuckDB must never try to download an extension.
                    "settings": {"autoinstall_known_extensions": False, "TimeZone": "UTC"},
                }
            },
        }
    }
    (paths.profiles_dir / "profiles.yml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return paths


def dbt_vars(settings: Settings, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"lake_uri": settings.lake_uri.rstrip("/"), "zones_geojson": str(ZONES_GEOJSON), **(extra or {})}


def run_dbt(settings: Settings, command: list[str], *, extra_vars: dict[str, Any] | None = None,
            callbacks: list[Any] | None = None, raise_on_failure: bool = True) -> list[DbtNodeResult]:
    """Run one dbt command (e.g. `["build"]`, `["docs", "generate"]`) against this deployment.

    Raises DbtRunError naming every failing model/test when `raise_on_failure`.
    """
    from dbt.cli.main import dbtRunner  # dbt import costs ~2 s: only when dbt is actually run

    paths = write_profile(settings)
    args = [*command, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(paths.profiles_dir),
            "--target-path", str(paths.target_dir), "--log-path", str(paths.log_dir),
            "--vars", json.dumps(dbt_vars(settings, extra_vars)), "--no-use-colors", "--quiet"]
    log.info("dbt %s", " ".join(command))
    try:
        result = dbtRunner(callbacks=callbacks or []).invoke(args)
    finally:
        _release_duckdb()
    nodes = _node_results(result.result)
    failures = [f"{node.name}: {node.message}" for node in nodes if node.failed]
    if raise_on_failure and (failures or not result.success):
        if not failures and result.exception is not None:
            failures = [str(result.exception)]
        detail = "\n  ".join(failures) or "see the dbt log in " + str(paths.log_dir)
        raise DbtRunError(f"dbt {' '.join(command)} failed:\n  {detail}", failures)
    return nodes


def _release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after a run.

    DuckDB refuses a second in-process connection to the same file with another configuration
    (e.g. our read-only reads right after a build), and the open handle would also block other
    processes; dbt-duckdb has no public call that closes its shared environment.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    environment = DuckDBConnectionManager._ENV
    if environment is not None:
        environment.close()
    DuckDBConnectionManager.close_all_connections()


def _node_results(run_result: Any) -> list[DbtNodeResult]:
    results = getattr(run_result, "results", None) or []
    nodes = []
    for item in results:
        node = item.node
        rows = (item.adapter_response or {}).get("rows_affected") if isinstance(item.adapter_response, dict) else None
        nodes.append(DbtNodeResult(node.unique_id, str(node.resource_type), str(item.status), str(item.message or ""),
                                   rows, float(item.execution_time or 0.0)))
    return nodes
