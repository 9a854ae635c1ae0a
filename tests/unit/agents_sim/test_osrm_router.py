"""The OSRM client against a local stand-in HTTP server that answers in OSRM's response format (the
real OSRM is optional and never needed): its geometry and distance are used, its free-flow duration
is scaled by the hour's congestion, and any failure falls back to the grid router."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from agents_sim.params import TrafficParams
from agents_sim.world.router import OsrmRouter, TrafficModel

MONDAY_1800_UTC = 1772485200000  # 18:00 in São Paulo
GEOMETRY = [[-46.65, -23.55], [-46.66, -23.56], [-46.67, -23.56]]


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # http.server naming
        if "/route/v1/driving/" not in self.path:
            self.send_response(500)
            self.end_headers()
            return
        body = json.dumps({"code": "Ok", "routes": [{"distance": 2500.0, "duration": 300.0,
                                                     "geometry": {"type": "LineString", "coordinates": GEOMETRY}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def osrm_url() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_osrm_routes_are_used_and_scaled_by_congestion(osrm_url: str) -> None:
    traffic = TrafficModel(TrafficParams(), -3 * 3_600_000)
    router = OsrmRouter(osrm_url, traffic)
    route = router.route(-23.55, -46.65, -23.56, -46.67, depart_ms=MONDAY_1800_UTC)
    assert route.points == tuple((lat, lon) for lon, lat in GEOMETRY)
    assert route.distance_m == 2500.0
    congestion = TrafficParams().free_flow_kmh / traffic.speed_kmh(MONDAY_1800_UTC)
    assert route.duration_s == pytest.approx(300.0 * congestion)
    assert router.failures == 0


def test_osrm_failures_fall_back_to_the_grid_router() -> None:
    router = OsrmRouter("http://127.0.0.1:9", TrafficModel(TrafficParams(), -3 * 3_600_000), timeout_s=0.5)
    route = router.route(-23.55, -46.65, -23.56, -46.67, depart_ms=MONDAY_1800_UTC)
    assert router.failures == 1
    assert route.points[0] == (-23.55, -46.65) and route.points[-1] == (-23.56, -46.67) and len(route.points) > 2
