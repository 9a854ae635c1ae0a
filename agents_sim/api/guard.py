"""The API's front door, an ASGI middleware that answers before any route (and before a body is read):

1. `/api/...` needs a key (X-API-Key): none or unknown is 401; a viewer key on a mutating method
   (anything but GET/HEAD/OPTIONS) is 403 — the role check of agents_sim.api.deps, done first.
2. A body announced (Content-Length) larger than `api_max_body_bytes` is 413.
3. Mutating calls are rate-limited per key (token bucket: `api_mutations_per_s`, `api_mutations_burst`):
   429 with Retry-After beyond.
4. A streamed body (no Content-Length) is read up to that many bytes (413 beyond), then handed to the route.

The routes keep their own key dependencies (they document the scheme in OpenAPI and are a second check).
"""

from __future__ import annotations

import json
import math
import time
from collections import OrderedDict
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agents_sim.api.deps import API_KEY_HEADER, FORBIDDEN_DETAIL, UNAUTHORIZED_DETAIL, Role, resolve_role
from core.settings import Settings

__all__ = ["READ_METHODS", "ApiGuard", "MutationLimiter"]

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class _Bucket:
    tokens: float
    at_s: float


class MutationLimiter:
    """A token bucket per key, at most `max_keys` buckets (least recently used dropped first)."""

    def __init__(self, *, rate_per_s: float, burst: int, max_keys: int = 1_024) -> None:
        self.rate_per_s, self.burst, self.max_keys = rate_per_s, burst, max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def retry_after_s(self, key: str, *, now_s: float | None = None) -> float:
        """Take one token for `key`: 0 when allowed, else the seconds until the next token."""
        now = time.monotonic() if now_s is None else now_s
        bucket = self._buckets.pop(key, None) or _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at_s) * self.rate_per_s)
        bucket.at_s = now
        self._buckets[key] = bucket
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate_per_s

    def __len__(self) -> int:
        return len(self._buckets)


class _BodyTooLarge(Exception):
    pass


class ApiGuard:
    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.max_body_bytes = settings.api_max_body_bytes
        self.limiter = MutationLimiter(rate_per_s=settings.api_mutations_per_s, burst=settings.api_mutations_burst)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get(API_KEY_HEADER)
        guarded = scope["path"].startswith("/api/")
        mutating = scope["method"] not in READ_METHODS
        declared = headers.get("content-length")
        if guarded:
            role = resolve_role(self.settings, key)
            if role is None:
                await _answer(send, 401, UNAUTHORIZED_DETAIL, {"WWW-Authenticate": "APIKey"})
                return
            if mutating and role is not Role.ADMIN:
                await _answer(send, 403, FORBIDDEN_DETAIL)
                return
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await _answer(send, 413, f"request body over {self.max_body_bytes} bytes")
            return
        if guarded and mutating and key is not None:
            wait_s = self.limiter.retry_after_s(key)
            if wait_s > 0:
                await _answer(send, 429, f"too many changes: at most {self.settings.api_mutations_per_s:g} per second "
                              f"(bursts of {self.settings.api_mutations_burst}); retry in {wait_s:.1f} s",
                              {"Retry-After": str(max(1, math.ceil(wait_s)))})
                return
        if not mutating and declared is None:
            await self.app(scope, receive, send)  # no body to bound
            return
        try:
            body = await self._read_body(receive)
        except _BodyTooLarge:
            await _answer(send, 413, f"request body over {self.max_body_bytes} bytes")
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away: the route sees an empty body and the server notices the disconnect
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: disconnect notifications

    return replayed


async def _answer(send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
