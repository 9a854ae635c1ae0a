"""The control API, live WebSocket and UI server of the simulation process (FastAPI).

Build it with `create_app(settings, runtime)`; `rideshare api` and `rideshare demo` serve it with uvicorn.
"""

from agents_sim.api.app import create_app

__all__ = ["create_app"]
