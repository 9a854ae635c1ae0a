"""`rideshare demo` end to end as a user runs it: services, topics, a real Faust worker, the simulation
with the API; the map's positions arrive over the WebSocket through the whole pipeline (simulation ->
Kafka -> Faust GPS windows -> Redis -> API); then Ctrl-C: exit 0 and nothing it started left running."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import httpx
import psutil
import pytest
from websockets.sync.client import connect

from core.settings import Settings
from rideshare.infra.process import port_open

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pipeline_positions(url: str, *, timeout_s: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    with connect(url, max_size=None) as ws:
        while time.monotonic() < deadline:
            try:
                frame = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            except TimeoutError:
                break
            positions = [p for p in frame.get("positions", []) if p["window_end"] is not None and p["entity_type"] == "driver"]
            if positions:
                return positions
    return []


def test_demo_runs_the_platform_and_stops_everything_it_started(topics: Settings, redis_service: object, tmp_path: object) -> None:
    api_port, worker_port = _free_port(), _free_port()
    env = {**os.environ, "RIDESHARE_TOPIC_NAMESPACE": f"{topics.topic_namespace}demo.", "RIDESHARE_LAKE_URI": str(tmp_path),
           "RIDESHARE_API_ADMIN_KEYS": "demo-admin", "RIDESHARE_API_VIEWER_KEYS": "demo-viewer", "COLUMNS": "200"}
    command = [sys.executable, "-m", "rideshare.cli", "demo", "--duration", "150", "--drivers", "30", "--riders", "300",
               "--speed", "60", "--api-port", str(api_port), "--worker-port", str(worker_port), "--lakehouse-every", "600"]
    demo = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        headers = {"X-API-Key": "demo-viewer"}
        with httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=5) as client:
            # The demo starts its workers first (each may take up to 90 s to listen on a loaded machine), then the API.
            deadline = time.monotonic() + 180
            state = None
            while time.monotonic() < deadline and state != "RUNNING":
                time.sleep(0.5)
                try:
                    state = str(client.get("/api/sim/status", headers=headers).json()["state"]).upper()
                except httpx.HTTPError:
                    continue
            assert state == "RUNNING", "the demo's simulation never reported RUNNING"
            assert client.get("/").status_code == 200
            # The demo's Faust worker answers through the API's proxy (once its app finished starting).
            deadline = time.monotonic() + 30
            while (topology := client.get("/api/topology", headers=headers)).status_code != 200 and time.monotonic() < deadline:
                time.sleep(1)
            assert topology.status_code == 200 and topology.json()["workers"][0]["ok"], topology.text
        # Positions with a window_end come from the GPS topology's Redis output (the simulation's own have none).
        assert _pipeline_positions(f"ws://127.0.0.1:{api_port}/ws?key=demo-viewer", timeout_s=45)
        demo.send_signal(signal.SIGINT)  # Ctrl-C (--duration is only the safety net here)
        output, _ = demo.communicate(timeout=120)
    finally:
        if demo.poll() is None:  # a failed step: its children (API, workers) must not outlive the test either
            for child in psutil.Process(demo.pid).children(recursive=True):
                child.kill()
            demo.kill()
    assert demo.returncode == 0, output
    assert f"http://127.0.0.1:{api_port}/docs" in output and "demo stopped" in output
    # The simulation process stopped gracefully on SIGTERM (exit 0: events flushed); the worker stopped too (Faust
    # may need the SIGKILL fallback when its shutdown waits on in-flight messages: not asserted).
    assert "simulation + API: stopped (exit code 0)" in output and "worker-1: stopped" in output
    assert "demo-admin" not in output and "demo-viewer" not in output  # keys are never printed
    assert not port_open("127.0.0.1", api_port) and not port_open("127.0.0.1", worker_port)
