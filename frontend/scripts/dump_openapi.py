"""Write the control API's OpenAPI spec (from the FastAPI app itself) for the frontend's typed client.

Run by `npm run gen:api` (frontend/package.json): this, then openapi-typescript -> src/api/schema.d.ts.
Building the spec needs no simulation and no services: the app is created but never started.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from agents_sim.api import create_app
from core.settings import load_settings


def openapi_json() -> str:
    # The spec only describes the routes; the runtime is never called while building it.
    app = create_app(load_settings(), runtime=None, frontend_dir=None)  # type: ignore[arg-type]  # no simulation needed for the spec
    return json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "openapi.json"
    target.write_text(openapi_json(), encoding="utf-8")
    print(f"wrote {target}")
