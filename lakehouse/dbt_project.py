"""Running the project's dbt project in-process on either engine, configured from Settings.

The profile is generated at run time into the warehouse folder (never committed): it points the lake
at this process's Settings, so parallel test sessions with their own `local_dir`/`lake_uri` never
share anything. Two targets, one project:

- `duckdb` (default): an in-memory DuckDB whose every silver/gold model is written to the lake as
  Delta by the project's dbt-duckdb plugin (`lakehouse.dbt_plugin`); the DuckDB database is only a
  catalog of views over Delta and lives as long as one dbt command.
- `spark`: dbt-spark's `session` method on a local Spark with Delta (`lakehouse.spark_session`).

The dbt vars that carry contracts are generated here, in one place: the value bounds of
`schemas.contracts` (the same the shared classification applies in bronze and in real time) and
the zone table from the zone model. dbt runs in-process through `dbtRunner`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import yaml

from core.settings import PROJECT_ROOT, Settings
from lakehouse.exceptions import DbtRunError
from lakehouse.warehouse import WarehousePaths, warehouse_paths
from schemas import contracts

__all__ = [
    "DBT_PROJECT_DIR",
    "VALUE_BOUNDS",
    "DbtNodeResult",
    "Engine",
    "ValueBounds",
    "contract_vars",
    "dbt_vars",
    "run_dbt",
    "write_profile",
]

log = logging.getLogger(__name__)

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt"


class Engine(StrEnum):
    """Which engine dbt runs on; both write the same Delta tables."""

    DUCKDB = "duckdb"
    SPARK = "spark"


def _range(schema: str, field: str) -> tuple[float, float]:
    """(low, high) of a bounded field of the contract."""
    bound = next(bound for bound in contracts.VALUE_RANGES[schema] if bound.field == field)
    if bound.high is None:
        raise ValueError(f"{schema}.{field} has no upper bound in schemas.contracts")
    return bound.low, bound.high


@dataclass(frozen=True)
class ValueBounds:
    """Every value bound silver and the quality checks apply, taken from the platform's one definition
    (`schemas.contracts`), which the shared record classification (bronze, real time) applies too."""

    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float
    min_speed_kmh: float
    max_speed_kmh: float
    min_heading_deg: float
    max_heading_deg: float
    min_stars: int
    max_stars: int
    min_surge_multiplier: float
    surge_cap: float
    max_fare_brl: float


def _value_bounds() -> ValueBounds:
    box = contracts.SAO_PAULO_BBOX
    speed, heading, stars = _range("gps_ping", "speed_kmh"), _range("gps_ping", "heading_deg"), _range("rating", "stars")
    return ValueBounds(
        min_lat=box.min_lat, max_lat=box.max_lat, min_lon=box.min_lon, max_lon=box.max_lon,
        min_speed_kmh=speed[0], max_speed_kmh=speed[1], min_heading_deg=heading[0], max_heading_deg=heading[1],
        min_stars=int(stars[0]), max_stars=int(stars[1]), min_surge_multiplier=_range("trip_event", "surge_multiplier")[0],
        surge_cap=contracts.SURGE_CAP, max_fare_brl=contracts.MAX_FARE_BRL,
    )


VALUE_BOUNDS: ValueBounds = _value_bounds()


def _zone_rows() -> list[dict[str, Any]]:
    from schemas.zones import load_zones

    return [{"zone_id": zone.zone_id, "zone_name": zone.name, "zone_code": zone.sigla, "subprefecture": zone.subprefecture,
             "centroid_lat": round(zone.centroid_lat, 6), "centroid_lon": round(zone.centroid_lon, 6)} for zone in load_zones()]


def contract_vars() -> dict[str, Any]:
    """The dbt vars generated from Python contracts: value bounds and the zone table."""
    return {**asdict(VALUE_BOUNDS), "zones": _zone_rows()}


def dbt_vars(settings: Settings, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"lake_uri": settings.lake_uri.rstrip("/"), **contract_vars(), **(extra or {})}


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
    """Write the dbt profile (both targets) for `settings` and return the warehouse paths."""
    paths = warehouse_paths(settings)
    paths.profiles_dir.mkdir(parents=True, exist_ok=True)
    paths.duckdb_temp_dir.mkdir(parents=True, exist_ok=True)
    profile = {
        "rideshare": {
            "target": Engine.DUCKDB.value,
            "outputs": {
                Engine.DUCKDB.value: {
                    "type": "duckdb",
                    "path": ":memory:",  # a catalog of views over Delta, rebuilt by every dbt command
                    "schema": "main",
                    "threads": 1,  # one writer per Delta table; DuckDB parallelises each query itself
                    "plugins": [{"module": "lakehouse.dbt_plugin", "alias": "lake",
                                 "config": {"lake_uri": settings.lake_uri.rstrip("/"),
                                            "storage_options": dict(settings.lake_storage_options)}}],
                    # Offline machine: DuckDB must never try to download an extension.
                    "settings": {"autoinstall_known_extensions": False, "TimeZone": "UTC",
                                 "temp_directory": str(paths.duckdb_temp_dir)},
                },
                Engine.SPARK.value: {
                    "type": "spark",
                    "method": "session",
                    "host": "localhost",  # unused by the session method; required by the profile schema
                    "schema": "default",
                    "threads": 1,
                },
            },
        }
    }
    (paths.profiles_dir / "profiles.yml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return paths


def run_dbt(settings: Settings, command: list[str], *, engine: Engine = Engine.DUCKDB, extra_vars: dict[str, Any] | None = None,
            callbacks: list[Any] | None = None, raise_on_failure: bool = True) -> list[DbtNodeResult]:
    """Run one dbt command (e.g. `["build"]`, `["docs", "generate"]`) against this deployment's lake.

    Raises DbtRunError naming every failing model/test when `raise_on_failure`.
    """
    from dbt.cli.main import dbtRunner  # dbt import costs ~2 s: only when dbt is actually run

    engine = Engine(engine)
    paths = write_profile(settings)
    if engine is Engine.SPARK:
        from lakehouse.spark_session import prepare_session

        prepare_session(settings)  # dbt-spark's session method picks up this session
    args = [*command, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(paths.profiles_dir),
            "--target", engine.value, "--target-path", str(paths.target_dir / engine.value),
            "--log-path", str(paths.log_dir), "--vars", json.dumps(dbt_vars(settings, extra_vars)), "--no-use-colors", "--quiet"]
    log.info("dbt %s (%s)", " ".join(command), engine.value)
    try:
        result = dbtRunner(callbacks=callbacks or []).invoke(args)
    finally:
        if engine is Engine.DUCKDB:
            _release_duckdb()
    nodes = _node_results(result.result)
    failures = [f"{node.name}: {node.message}" for node in nodes if node.failed]
    if raise_on_failure and (failures or not result.success):
        if not failures and result.exception is not None:
            failures = [str(result.exception)]
        detail = "\n  ".join(failures) or "see the dbt log in " + str(paths.log_dir)
        raise DbtRunError(f"dbt {' '.join(command)} ({engine.value}) failed:\n  {detail}", failures)
    return nodes


def _release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after a run.

    The next dbt command then opens a fresh catalog over the lake's current Delta versions; dbt-duckdb
    has no public call that closes its shared environment.
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
