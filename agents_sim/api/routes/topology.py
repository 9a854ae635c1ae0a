"""The Faust workers' topology graphs (per-node counts and lag), proxied for the UI's topology panel."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import APIRouter, HTTPException, Request, status

from agents_sim.api.deps import ViewerRole
from agents_sim.api.models import TopologyView, WorkerTopology

router = APIRouter(prefix="/api", tags=["topology"])


WORKER_TIMEOUT_S = 2.0  # the whole exchange with one worker: httpx's timeout bounds each phase (connect, read...) alone


async def _fetch(client: httpx.AsyncClient, url: str) -> WorkerTopology:
    try:
        response = await asyncio.wait_for(client.get(f"{url.rstrip('/')}/topology/"), WORKER_TIMEOUT_S)
        response.raise_for_status()
        return WorkerTopology(url=url, ok=True, topology=response.json())
    except TimeoutError:
        return WorkerTopology(url=url, ok=False, error=f"no answer within {WORKER_TIMEOUT_S:g} s (is the worker starting or overloaded?)")
    except (httpx.HTTPError, ValueError) as exc:
        return WorkerTopology(url=url, ok=False, error=f"{type(exc).__name__}: {exc}")


@router.get("/topology", summary="Each Faust worker's /topology/ view", response_model=TopologyView,
            responses={503: {"description": "no worker answered"}})
async def topology(_: ViewerRole, request: Request) -> TopologyView:
    urls: list[str] = request.app.state.worker_urls
    if not urls:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="no Faust worker is configured: start the API with --worker-url")
    async with httpx.AsyncClient(timeout=WORKER_TIMEOUT_S) as client:
        workers = list(await asyncio.gather(*(_fetch(client, url) for url in urls)))
    if not any(worker.ok for worker in workers):
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"no Faust worker answered at {', '.join(urls)}: start one with `rideshare worker --web-port N`",
        )
    return TopologyView(workers=workers)
