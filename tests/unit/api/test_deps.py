"""API-key roles resolved from Settings."""

from __future__ import annotations

from agents_sim.api.deps import Role, resolve_role
from core.settings import load_settings


def test_keys_map_to_their_roles_and_unknown_keys_to_none() -> None:
    settings = load_settings(api_admin_keys="a-1, a-2", api_viewer_keys="v-1")
    assert resolve_role(settings, "a-2") is Role.ADMIN
    assert resolve_role(settings, "v-1") is Role.VIEWER
    assert resolve_role(settings, "v-2") is None
    assert resolve_role(settings, "") is None and resolve_role(settings, None) is None


def test_keys_never_appear_in_the_settings_repr() -> None:
    settings = load_settings(api_admin_keys="super-secret-admin", api_viewer_keys="super-secret-viewer")
    assert "super-secret" not in repr(settings) and "super-secret" not in str(settings.model_dump())


def test_log_records_lose_the_key_of_a_websocket_url() -> None:
    import logging

    from agents_sim.api.observability import RedactApiKeys

    record = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, '%s - "WebSocket %s" [accepted]',
                               ("127.0.0.1:5000", "/ws?key=dev-admin-key&x=1"), None)
    assert RedactApiKeys().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "WebSocket /ws?key=***&x=1" [accepted]'
