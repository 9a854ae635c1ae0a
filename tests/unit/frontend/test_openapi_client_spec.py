"""The frontend's typed API client is generated from the API's OpenAPI spec (frontend/openapi.json ->
frontend/src/api/schema.d.ts). This fails when the API changed and the committed spec did not follow."""

from __future__ import annotations

import importlib.util
from pathlib import Path

FRONTEND = Path(__file__).resolve().parents[3] / "frontend"


def _dump_module():
    spec = importlib.util.spec_from_file_location("dump_openapi", FRONTEND / "scripts" / "dump_openapi.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_openapi_spec_matches_the_api() -> None:
    current = _dump_module().openapi_json()
    committed = (FRONTEND / "openapi.json").read_text(encoding="utf-8")
    assert committed == current, "the API changed: run `cd frontend && npm run gen:api` and commit openapi.json + src/api/schema.d.ts"


def test_generated_types_cover_every_api_path() -> None:
    import json

    spec = json.loads((FRONTEND / "openapi.json").read_text(encoding="utf-8"))
    types = (FRONTEND / "src" / "api" / "schema.d.ts").read_text(encoding="utf-8")
    missing = [path for path in spec["paths"] if f'"{path}": {{' not in types]
    assert not missing, f"schema.d.ts is older than openapi.json (missing {missing}): run `npm run gen:api`"
