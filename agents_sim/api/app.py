"""`create_app(settings, runtime)`: the control API, the live WebSocket and the UI, in the simulation's process.

The app is built by a function (never at import) so tests and the CLI each build their own; the
lifespan starts the live hub and its feeds and stops them on shutdown. The simulation runtime is owned
by the caller (the CLI starts and stops it), the app only drives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import redis.asyncio as aioredis
from fastapi import FastAPI, Request, status
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from agents_sim.api.deps import API_KEY_HEADER
from agents_sim.api.docs import add_offline_docs
from agents_sim.api.guard import ApiGuard
from agents_sim.api.live.feeds import RedisFeed, SimulationPositionFeed
from agents_sim.api.live.hub import LiveHub
from agents_sim.api.models import Health, LiveDelta, LiveSnapshot
from agents_sim.api.observability import ApiMetrics
from agents_sim.api.routes import agents, control, live, metrics, topology
from agents_sim.api.runtime_port import SimulationControl
from agents_sim.exceptions import RuntimeBusyError, RuntimeStateError
from core.settings import PROJECT_ROOT, Settings
from schemas.live_state import LiveStateKeys

__all__ = ["DEFAULT_FRONTEND_DIR", "PositionsSource", "create_app"]

log = logging.getLogger(__name__)

DEFAULT_FRONTEND_DIR = PROJECT_ROOT / "frontend" / "dist"
PositionsSource = Literal["redis", "simulation"]

DESCRIPTION = f"""Control and observe the São Paulo ride-hailing simulation.

**Keys.** Send `{API_KEY_HEADER}: <key>`. Admin keys (`RIDESHARE_API_ADMIN_KEYS`) may read and change the
simulation; viewer keys (`RIDESHARE_API_VIEWER_KEYS`) may only read. No key: 401; a viewer key on a
mutating endpoint: 403 (both answered before the request body is read).

**Limits.** A request body over `RIDESHARE_API_MAX_BODY_BYTES` is 413; changes are rate-limited per key
(`RIDESHARE_API_MUTATIONS_PER_S`, bursts of `RIDESHARE_API_MUTATIONS_BURST`): 429 with `Retry-After`.

**Live.** `ws://<host>/ws?key=<key>` sends a full snapshot (`LiveSnapshot`), then deltas (`LiveDelta`:
positions, removals, trip state changes, surge, stats) at most 10 frames per second; a slow client gets the
latest state, never a backlog. At most `RIDESHARE_API_MAX_WS_CLIENTS` clients: more are closed with 1013.

**Pause** is two-phase: `POST /api/sim/pause` answers at once with state `DRAINING`; trips in flight
finish (or are cancelled after `drain_timeout_s` simulated seconds) and the state becomes `PAUSED`.
"""

NO_UI_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Rideshare Streams</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>Rideshare Streams API</h1>
<p>The map UI is not built yet: run <code>make setup-frontend</code> (or <code>cd frontend &amp;&amp; npm ci &amp;&amp;
npm run build</code>) and restart. Meanwhile: <a href="/docs">API docs</a>, <a href="/metrics">Prometheus metrics</a>.</p>
</body></html>"""


def create_app(
    settings: Settings,
    runtime: SimulationControl,
    *,
    positions_source: PositionsSource = "redis",
    worker_urls: list[str] | None = None,
    frontend_dir: Path | None = DEFAULT_FRONTEND_DIR,
    frame_interval_s: float = 0.1,
) -> FastAPI:
    """Build the app.

    positions_source: "redis" reads positions from the GPS topology's live state (needs a Faust worker);
    "simulation" polls the simulation directly (no worker needed). Surge always comes from Redis.
    worker_urls: Faust web endpoints whose `/topology/` the UI shows (default: the settings' worker port).
    frontend_dir: the built UI served at `/`; a hint page when it does not exist.
    """
    hub = LiveHub(runtime, frame_interval_s=frame_interval_s, max_clients=settings.api_max_ws_clients)
    api_metrics = ApiMetrics(hub, runtime)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis = aioredis.from_url(settings.redis_url, socket_connect_timeout=2)
        redis_feed = RedisFeed(redis, LiveStateKeys(settings.topic_namespace), hub, positions=positions_source == "redis")
        jobs: list[Coroutine[Any, Any, None]] = [hub.run(), redis_feed.run()]
        if positions_source == "simulation":
            sim_feed = SimulationPositionFeed(runtime, hub)
            hub.set_snapshot_sources(positions=sim_feed.positions_snapshot, surge=redis_feed.surge_snapshot)
            jobs.append(sim_feed.run())
        else:
            hub.set_snapshot_sources(positions=redis_feed.positions_snapshot, surge=redis_feed.surge_snapshot)
        tasks = [asyncio.create_task(job) for job in jobs]
        app.state.redis_feed = redis_feed
        log.info("API ready: positions from %s, %d Faust worker URL(s)", positions_source, len(app.state.worker_urls))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await redis.aclose()

    app = FastAPI(
        title="Rideshare Streams control API", version="0.1.0", description=DESCRIPTION, lifespan=lifespan,
        docs_url=None, redoc_url=None,  # replaced by add_offline_docs: no CDN
        openapi_tags=[
            {"name": "control", "description": "Change the simulation (admin keys)."},
            {"name": "status", "description": "Lifecycle status and metrics."},
            {"name": "agents", "description": "Drivers, riders, trips and zones."},
            {"name": "live", "description": "The WebSocket and its clients."},
            {"name": "topology", "description": "The Faust topologies (proxied from the workers)."},
            {"name": "ops", "description": "Health and Prometheus metrics (no key)."},
        ],
    )
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.hub = hub
    app.state.worker_urls = worker_urls if worker_urls is not None else [f"http://127.0.0.1:{settings.worker_web_port}"]
    app.add_middleware(ApiGuard, settings=settings)
    app.middleware("http")(api_metrics.middleware)  # outermost: the guard's refusals are counted too
    _add_error_handlers(app)
    for module in (control, metrics, agents, live, topology):
        app.include_router(module.router)

    @app.get("/healthz", tags=["ops"], summary="Liveness: the process answers", response_model=Health)
    def healthz() -> Health:
        return Health(status="ok")

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics", response_class=Response)
    def prometheus_metrics() -> Response:
        return Response(generate_latest(api_metrics.registry), media_type=CONTENT_TYPE_LATEST)

    add_offline_docs(app)
    _document_live_messages(app)
    _serve_frontend(app, frontend_dir)  # last: its mount at / catches every path the routes above do not
    return app


def _document_live_messages(app: FastAPI) -> None:
    """The WebSocket's messages are no route's response: add their models to the spec's components, so the
    generated TypeScript types cover them too."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in (LiveSnapshot, LiveDelta):
                definition = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
                for name, nested in definition.pop("$defs", {}).items():
                    components.setdefault(name, nested)  # the routes' own definitions of shared models win
                components[model.__name__] = definition
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the spec


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RuntimeStateError)
    async def state_conflict(_: Request, exc: RuntimeStateError) -> JSONResponse:
        if isinstance(exc, RuntimeBusyError):
            return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_429_TOO_MANY_REQUESTS, headers={"Retry-After": "1"})
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_409_CONFLICT)

    @app.exception_handler(ValueError)
    async def invalid_value(_: Request, exc: ValueError) -> JSONResponse:
        # The runtime validates what only it can (e.g. total agent bounds) and says what is allowed.
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def _serve_frontend(app: FastAPI, frontend_dir: Path | None) -> None:
    if frontend_dir is not None and (frontend_dir / "index.html").is_file():
        app.mount("/", StaticFiles(directory=frontend_dir, html=True), name="ui")
        return
    log.warning("no built UI at %s: `/` shows a hint page (build it with `make setup-frontend`)", frontend_dir)

    @app.get("/", include_in_schema=False)
    def no_ui() -> HTMLResponse:
        return HTMLResponse(NO_UI_PAGE)
