"""The WebSocket `/ws?key=...` (snapshot, then bounded-rate deltas; see live/hub.py for the messages)
and the per-client backpressure view."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from fastapi import APIRouter, Query, Request, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from agents_sim.api.deps import API_KEY_HEADER, Hub, ViewerRole, resolve_role
from agents_sim.api.live.coalesce import to_json
from agents_sim.api.live.hub import Client, LiveHub, TooManyClients
from agents_sim.api.models import LiveClients

log = logging.getLogger(__name__)

router = APIRouter(tags=["live"])

# Close codes in the application range (4000-4999): 4401 mirrors HTTP 401.
CLOSE_UNAUTHORIZED = 4401
CLOSE_TRY_AGAIN_LATER = 1013  # RFC 6455: the server is at its client cap
CLOSE_INTERNAL_ERROR = 1011


@router.get("/api/live/clients", summary="Connected WebSocket clients, what each has queued (backpressure), and the Redis feed",
            response_model=LiveClients)
def live_clients(_: ViewerRole, hub: Hub, request: Request) -> dict[str, Any]:
    feed = getattr(request.app.state, "redis_feed", None)  # set by the lifespan
    redis = {"connected": feed.connected, "messages": feed.messages} if feed is not None else None
    return {"tick": hub.tick, "max_clients": hub.max_clients, "overflows": hub.overflows, "clients": hub.client_stats(),
            "redis_feed": redis}


@router.websocket("/ws")
async def live(websocket: WebSocket, key: str | None = Query(None, description="A viewer or admin API key.")) -> None:
    # Browsers cannot set headers on a WebSocket, hence ?key=; other clients may send the usual header instead.
    key = key or websocket.headers.get(API_KEY_HEADER)
    if resolve_role(websocket.app.state.settings, key) is None:
        await websocket.accept()
        await websocket.close(code=CLOSE_UNAUTHORIZED, reason="missing or unknown API key: connect to /ws?key=<viewer or admin key>")
        return
    hub: LiveHub = websocket.app.state.hub
    try:
        client = hub.register()  # before the first await: concurrent connections cannot pass the cap together
    except TooManyClients as exc:
        await websocket.accept()
        await websocket.close(code=CLOSE_TRY_AGAIN_LATER, reason=str(exc))
        return
    try:
        await websocket.accept()
    except BaseException:
        hub.unregister(client)
        raise
    sender = asyncio.create_task(_send_forever(websocket, hub, client))
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            if message.get("text") == '{"type":"resync"}':
                client.mailbox.request_snapshot()
                client.ready.set()
    except WebSocketDisconnect:
        pass
    finally:
        hub.unregister(client)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender


async def _send_forever(websocket: WebSocket, hub: LiveHub, client: Client) -> None:
    try:
        await _send_frames(websocket, hub, client)
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client went away mid-send: the receive loop ends the connection
    except Exception:
        log.exception("live frames to a client failed; closing it (it reconnects and gets a snapshot)")
        with contextlib.suppress(Exception):
            await websocket.close(code=CLOSE_INTERNAL_ERROR)


async def _send_frames(websocket: WebSocket, hub: LiveHub, client: Client) -> None:
    """One frame at a time: while a send blocks (slow client), new frames coalesce in the mailbox."""
    while websocket.client_state is WebSocketState.CONNECTED:
        await client.ready.wait()
        client.ready.clear()
        if client.mailbox.needs_snapshot:
            client.mailbox.snapshot_started()
            text = to_json(await hub.snapshot())
            client.snapshots_sent += 1
        else:
            text = client.mailbox.take()
            if text is None:
                continue
        await websocket.send_text(text)
        client.frames_sent += 1
        client.bytes_sent += len(text)
