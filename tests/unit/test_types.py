"""The ground floor (core/, schemas/) passes `mypy --strict` (configured in pyproject.toml)."""

from __future__ import annotations

from mypy import api

from core.settings import PROJECT_ROOT


def test_the_ground_floor_is_strictly_typed() -> None:
    stdout, stderr, status = api.run(["--config-file", str(PROJECT_ROOT / "pyproject.toml")])
    assert status == 0, stdout + stderr
    assert "Success" in stdout
