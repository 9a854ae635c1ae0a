"""End to end: the control room in headless Debian Chromium against the running platform.

Real services, as `make demo` runs them: Kafka and Redis (session fixtures), the catalog topics in this
session's namespace, a Faust worker (dedup, GPS and surge topologies) and `rideshare api` (simulation
with the Kafka sink, API, WebSocket and the built UI) on free ports. `ui.e2e.mjs` drives the page with
playwright-core and /usr/bin/chromium: start, moving drivers, speed, topology panel, a surge colour
change, click-to-inspect, two-phase pause and resume, a viewer key refused control; it saves
test-artifacts/ui.png.

The surge is injected the way the surge topology publishes it (schemas/live_state.py: the current hash
plus the updates channel), so the check covers Redis -> API hub -> WebSocket -> reducer -> deck.gl.
Set RIDESHARE_E2E_UPDATE_DOCS=1 to also refresh docs/ui.png (the README screenshot).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from core.settings import PROJECT_ROOT, Settings
from rideshare.supervisor import ChildProcess, rideshare_command, wait_until
from schemas.live_state import LiveStateKeys

pytestmark = pytest.mark.e2e

FRONTEND = PROJECT_ROOT / "frontend"
SCRIPT = Path(__file__).with_name("ui.e2e.mjs")
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
ADMIN_KEY = "e2e-admin-key"
VIEWER_KEY = "e2e-viewer-key"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ensure_frontend_build() -> None:
    """The UI the API serves: build it when it is missing or older than its sources."""
    if not (FRONTEND / "node_modules" / "playwright-core").is_dir():
        pytest.fail("frontend dependencies are missing: run `make setup-frontend` (npm ci in frontend/)")
    index = FRONTEND / "dist" / "index.html"
    sources = [FRONTEND / "index.html", FRONTEND / "package-lock.json", *(FRONTEND / "src").rglob("*")]
    if index.is_file() and index.stat().st_mtime >= max(p.stat().st_mtime for p in sources):
        return
    subprocess.run(["npm", "run", "build", "--silent"], cwd=FRONTEND, check=True, timeout=180)


def _child_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "RIDESHARE_TOPIC_NAMESPACE": settings.topic_namespace,
        "RIDESHARE_LAKE_URI": settings.lake_uri,
        "RIDESHARE_API_ADMIN_KEYS": ADMIN_KEY,
        "RIDESHARE_API_VIEWER_KEYS": VIEWER_KEY,
    })
    return env


@pytest.fixture
def platform(topics: Settings) -> Iterator[dict[str, Any]]:
    """A Faust worker and the simulation + API + UI, on free ports, in this session's namespace."""
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium is missing at /usr/bin/chromium: run `make setup-browser`")
    _ensure_frontend_build()
    settings = topics
    env = _child_env(settings)
    worker_port, api_port = _free_port(), _free_port()
    worker = ChildProcess(
        "worker", rideshare_command("worker", "--web-port", str(worker_port), "--topologies", "dedup,gps,surge", "--loglevel", "warning"),
        ARTIFACTS / "e2e-worker.log", env=env, cwd=PROJECT_ROOT,
    )
    api = ChildProcess(
        "api",
        rideshare_command(
            "api", "--port", str(api_port), "--drivers", "300", "--riders", "2000", "--speed", "30", "--seed", "11",
            "--positions", "redis", "--worker-url", f"http://127.0.0.1:{worker_port}", "--log-level", "warning",
        ),
        ARTIFACTS / "e2e-api.log", env=env, cwd=PROJECT_ROOT,
    )
    for log_file in (worker.log_file, api.log_file):
        log_file.unlink(missing_ok=True)
    try:
        worker.start()
        api.start()
        worker.wait_for_port("127.0.0.1", worker_port, timeout_s=90)
        api.wait_for_port("127.0.0.1", api_port, timeout_s=90)
        base = f"http://127.0.0.1:{api_port}"
        assert wait_until(lambda: _answers(f"{base}/healthz"), timeout_s=30), f"the API did not answer; see {api.log_file}"
        yield {"url": base, "settings": settings}
    finally:
        api.stop(timeout_s=20)
        worker.stop(timeout_s=20)
        _remove_worker_state(settings, worker_port)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _remove_worker_state(settings: Settings, web_port: int) -> None:
    from streams.app import app_id_for, datadir_for

    shutil.rmtree(datadir_for(settings, app_id_for(settings), web_port), ignore_errors=True)


def _inject_surge(settings: Settings, request: dict[str, Any]) -> None:
    """Publish a zone's surge exactly as the surge topology does (schemas/live_state.py)."""
    keys = LiveStateKeys(settings.topic_namespace)
    zone = {
        "zone_id": request["zone_id"], "surge_multiplier": float(request["multiplier"]),
        "demand_count": 40, "supply_count": 2, "window_end": int(request["window_end"]),
    }
    payload = json.dumps(zone)
    client = redis.Redis.from_url(settings.redis_url)
    try:
        client.hset(keys.surge_current, zone["zone_id"], payload)
        client.publish(keys.surge_channel, payload)
    finally:
        client.close()


def _drive_browser(platform: dict[str, Any], screenshot: Path) -> dict[str, Any]:
    """Run the node script, serve its requests, return its result (or fail with its error)."""
    env = dict(
        os.environ, UI_URL=platform["url"], API_KEY=ADMIN_KEY, VIEWER_KEY=VIEWER_KEY, SCREENSHOT=str(screenshot), CHROMIUM=str(CHROMIUM),
    )
    node_log = ARTIFACTS / "e2e-node.log"
    with node_log.open("w") as stderr:
        node = subprocess.Popen(["node", str(SCRIPT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)
        assert node.stdin is not None and node.stdout is not None
        result: dict[str, Any] | None = None
        error: dict[str, Any] | None = None
        try:
            for line in node.stdout:
                message = json.loads(line)
                event = message.pop("event")
                if event == "log":
                    print(f"[ui] {message['message']}", file=sys.stderr)
                elif event == "need" and message.get("action") == "inject-surge":
                    _inject_surge(platform["settings"], message)
                    node.stdin.write(json.dumps({"ok": True}) + "\n")
                    node.stdin.flush()
                elif event == "result":
                    result = message
                elif event == "error":
                    error = message
            code = node.wait(timeout=30)
        finally:
            if node.poll() is None:
                node.kill()
    if error is not None or code != 0 or result is None:
        pytest.fail(f"browser check failed (exit {code}): {error}; see {node_log} and {ARTIFACTS}/ui-failure.png")
    return result


def test_control_room_shows_moving_drivers_controls_the_simulation_and_colours_surge(platform: dict[str, Any]) -> None:
    screenshot = ARTIFACTS / "ui.png"
    screenshot.unlink(missing_ok=True)
    started = time.monotonic()
    result = _drive_browser(platform, screenshot)

    assert result["zones"] == 96  # the district base layer came from GET /api/zones
    assert result["started"] and result["resumed"]
    assert result["drivers_on_map"] >= 3 and result["drivers_moved"] >= 1
    assert result["topology_nodes"] > 0
    assert result["surge"]["pixel_after"] != result["surge"]["pixel_before"]
    assert result["inspected"].lower().startswith("driver ")
    assert "paused" in result["pause_states"]
    assert "may only watch" in result["viewer_message"]
    assert screenshot.stat().st_size > 20_000, "the screenshot looks empty"
    print(f"[ui] browser checks took {time.monotonic() - started:.0f} s: {json.dumps(result)}", file=sys.stderr)
    if os.environ.get("RIDESHARE_E2E_UPDATE_DOCS") == "1":
        (PROJECT_ROOT / "docs").mkdir(exist_ok=True)
        shutil.copyfile(screenshot, PROJECT_ROOT / "docs" / "ui.png")
