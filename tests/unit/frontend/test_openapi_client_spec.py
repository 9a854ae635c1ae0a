"""The frontend's typed API client is generated from the API's OpenAPI spec (frontend/openapi.json ->
frontend/src/api/schema.d.ts). This fails when the API's routes, parameters or bodies changed and the
committed spec did not follow; prose (descriptions, summaries) may change freely."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

FRONTEND = Path(__file__).resolve().parents[3] / "frontend"


def _dump_module():
    spec = importlib.util.spec_from_file_location("dump_openapi", FRONTEND / "scripts" / "dump_openapi.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_PROSE = {"description", "summary", "info", "tags", "example", "examples"}


def _shape(value: Any, *, names: bool = False) -> Any:
    """The spec without its prose: what the generated types depend on. Under `properties` the keys are
    field names (a field may well be called `description`), so nothing is dropped there."""
    if isinstance(value, dict):
        return {key: _shape(item, names=key == "properties") for key, item in value.items() if names or key not in _PROSE}
    if isinstance(value, list):
        return [_shape(item) for item in value]
    return value


def test_committed_openapi_spec_matches_the_api() -> None:
    current = json.loads(_dump_module().openapi_json())
    committed = json.loads((FRONTEND / "openapi.json").read_text(encoding="utf-8"))
    assert _shape(committed) == _shape(current), (
        "the API's routes or bodies changed: run `cd frontend && npm run gen:api` and commit openapi.json + src/api/schema.d.ts"
    )


def test_generated_types_cover_every_api_path() -> None:
    spec = json.loads((FRONTEND / "openapi.json").read_text(encoding="utf-8"))
    types = (FRONTEND / "src" / "api" / "schema.d.ts").read_text(encoding="utf-8")
    missing = [path for path in spec["paths"] if f'"{path}": {{' not in types]
    assert not missing, f"schema.d.ts is older than openapi.json (missing {missing}): run `npm run gen:api`"


def test_committed_ui_limits_match_the_limits_contract() -> None:
    spec = importlib.util.spec_from_file_location("dump_limits", FRONTEND / "scripts" / "dump_limits.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = (FRONTEND / "src" / "api" / "limits.ts").read_text(encoding="utf-8")
    assert committed == module.limits_ts(), "schemas/limits.py changed: run `cd frontend && npm run gen:api` and commit src/api/limits.ts"
