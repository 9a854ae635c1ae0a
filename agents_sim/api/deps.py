"""Shared dependencies as `Annotated` aliases: API-key roles and the objects the app holds.

Two roles from Settings: admin keys may read and mutate, viewer keys may only read. Keys come in the
`X-API-Key` header (REST) or the `key` query parameter (WebSocket, where browsers cannot set headers).
Keys are compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader
from pydantic import SecretStr

from agents_sim.api.live.hub import LiveHub
from agents_sim.api.runtime_port import SimulationControl
from core.settings import Settings

__all__ = ["FORBIDDEN_DETAIL", "UNAUTHORIZED_DETAIL", "AdminRole", "Hub", "Role", "Runtime", "ViewerRole", "resolve_role"]

API_KEY_HEADER = "X-API-Key"
UNAUTHORIZED_DETAIL = f"missing or unknown API key: send a viewer or admin key in the {API_KEY_HEADER} header"
FORBIDDEN_DETAIL = "this key is a viewer key: changing the simulation needs an admin key"
_api_key = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="An admin key (read + mutate) or a viewer key (read).")


class Role(StrEnum):
    VIEWER = "viewer"
    ADMIN = "admin"


def _matches(candidate: str, keys: tuple[SecretStr, ...]) -> bool:
    # Check every key (no early exit) so timing does not tell which one nearly matched.
    found = False
    for key in keys:
        found |= hmac.compare_digest(candidate.encode(), key.get_secret_value().encode())
    return found


def resolve_role(settings: Settings, key: str | None) -> Role | None:
    """The role a key grants, or None for a missing or unknown key."""
    if not key:
        return None
    if _matches(key, settings.api_admin_keys):
        return Role.ADMIN
    if _matches(key, settings.api_viewer_keys):
        return Role.VIEWER
    return None


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def require_viewer(request: Request, key: Annotated[str | None, Security(_api_key)]) -> Role:
    role = resolve_role(_settings(request), key)
    if role is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=UNAUTHORIZED_DETAIL, headers={"WWW-Authenticate": "APIKey"})
    return role


def require_admin(role: Annotated[Role, Depends(require_viewer)]) -> Role:
    if role is not Role.ADMIN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=FORBIDDEN_DETAIL)
    return role


def _runtime(request: Request) -> SimulationControl:
    return request.app.state.runtime


def _hub(request: Request) -> LiveHub:
    return request.app.state.hub


ViewerRole = Annotated[Role, Depends(require_viewer)]
AdminRole = Annotated[Role, Depends(require_admin)]
Runtime = Annotated[SimulationControl, Depends(_runtime)]
Hub = Annotated[LiveHub, Depends(_hub)]
