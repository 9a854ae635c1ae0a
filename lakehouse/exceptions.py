"""Errors of the lakehouse (silver/gold build, quality checks, maintenance). Each says what to do."""

from __future__ import annotations

from core.exceptions import RideshareError

__all__ = ["BronzeMissingError", "DbtRunError", "LakehouseError", "QualityCheckFailed", "WarehouseMissingError"]


class LakehouseError(RideshareError):
    """Base of every lakehouse error."""


class BronzeMissingError(LakehouseError):
    """A bronze Delta table the models read does not exist yet."""


class WarehouseMissingError(LakehouseError):
    """The DuckDB warehouse has not been built yet."""


class DbtRunError(LakehouseError):
    """dbt reported failing models or tests."""

    def __init__(self, message: str, failures: list[str]) -> None:
        super().__init__(message)
        self.failures = failures


class QualityCheckFailed(LakehouseError):
    """At least one Great Expectations expectation failed (the run is failed, never soft)."""

    def __init__(self, message: str, report: str) -> None:
        super().__init__(message)
        self.report = report
