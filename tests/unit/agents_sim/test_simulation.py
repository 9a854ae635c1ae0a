from __future__ import annotations

import hashlib
import itertools
from collections import defaultdict
from pathlib import Path

import pytest

from agents_sim.params import SimConfig
from agents_sim.simulation import Simulation
from agents_sim.sinks import JsonlSink, ListSink
from agents_sim.surge import StaticSurge
from schemas.codec import decode, encode

HOUR_MS = 3_600_000
# Monday 07:00 in São Paulo: drivers and riders active from the first minute.
START = "2026-03-02T07:00:00-03:00"


def _request_key(record: dict) -> tuple:
    """The same request in two runs (trip ids shift once the runs' outcomes differ)."""
    return record["rider_id"], record["event_time"], record["dropoff_lat"], record["dropoff_lon"]


def run(config: SimConfig, hours: float, sink=None, surge=None) -> tuple[Simulation, ListSink]:
    sink = sink or ListSink()
    sim = Simulation(config, sink, surge=surge)
    sim.populate()
    sim.run_until(sim.now + int(hours * HOUR_MS))
    sink.flush()
    return sim, sink


@pytest.fixture(scope="module")
def busy() -> tuple[Simulation, ListSink]:
    return run(SimConfig(seed=11, drivers=150, riders=2000, start=START), 2.0)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_gives_byte_identical_jsonl_and_another_seed_differs(tmp_path: Path) -> None:
    paths = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        sink = JsonlSink(tmp_path / f"{name}.jsonl")
        run(SimConfig(seed=seed, drivers=40, riders=600, start=START), 0.75, sink=sink)
        sink.close()
        paths.append(tmp_path / f"{name}.jsonl")
    assert paths[0].stat().st_size > 100_000
    assert _digest(paths[0]) == _digest(paths[1])
    assert _digest(paths[0]) != _digest(paths[2])


def test_every_event_matches_its_avro_schema(busy: tuple[Simulation, ListSink]) -> None:
    _, sink = busy
    seen = set()
    for schema, record in sink.events:
        name, back = decode(encode(schema, record))
        assert name == schema and back == record
        seen.add(schema)
    assert seen >= {"trip_event", "gps_ping", "driver_status", "payment", "rating", "driver_profile", "rider_profile"}


def test_event_ids_are_unique_and_event_times_never_go_back(busy: tuple[Simulation, ListSink]) -> None:
    _, sink = busy
    ids = [r["event_id"] for _, r in sink.events]
    assert len(ids) == len(set(ids))
    times = [r["event_time"] for _, r in sink.events]
    assert times == sorted(times)


def test_trips_follow_the_lifecycle_and_complete_with_payment(busy: tuple[Simulation, ListSink]) -> None:
    _sim, sink = busy
    steps: dict[str, list[str]] = defaultdict(list)
    for record in sink.of("trip_event"):
        steps[record["trip_id"]].append(record["event_type"])
    completed = [t for t, s in steps.items() if s[-1] == "completed"]
    assert len(completed) >= 30
    for trip_id in completed:
        s = steps[trip_id]
        assert s[0] == "requested"
        tail = s[s.index("driver_assigned"):]
        assert tail == ["driver_assigned", "en_route_pickup", "at_pickup", "in_transit", "completed"]
    paid = {p["trip_id"] for p in sink.of("payment")}
    assert paid == set(completed)
    for payment in sink.of("payment"):
        assert round(payment["platform_fee_brl"] + payment["driver_payout_brl"], 2) == payment["fare_brl"]
    outcomes = {s[-1] for s in steps.values()}
    assert "cancelled" in outcomes


def test_causation_chains_link_the_steps_of_a_trip(busy: tuple[Simulation, ListSink]) -> None:
    _, sink = busy
    last: dict[str, str] = {}
    for record in sink.of("trip_event"):
        assert record["correlation_id"] == record["trip_id"]
        assert record["causation_id"] == last.get(record["trip_id"])
        last[record["trip_id"]] = record["event_id"]


def test_gps_pings_every_two_seconds_while_moving_at_a_consistent_speed(busy: tuple[Simulation, ListSink]) -> None:
    _, sink = busy
    by_driver: dict[str, list[dict]] = defaultdict(list)
    for ping in sink.of("gps_ping"):
        if ping["entity_type"] == "driver" and ping["driver_status"] == "on_trip":
            by_driver[ping["entity_id"]].append(ping)
    assert by_driver
    gaps = []
    for pings in by_driver.values():
        for a, b in itertools.pairwise(pings):
            if a["trip_id"] == b["trip_id"]:
                gaps.append(b["event_time"] - a["event_time"])
                assert 0.0 <= b["heading_deg"] < 360.0
    assert gaps and sorted(gaps)[len(gaps) // 2] == 2000
    speeds = [p["speed_kmh"] for ps in by_driver.values() for p in ps]
    assert 8 < sum(speeds) / len(speeds) < 45


def test_driver_status_events_chain_previous_to_new(busy: tuple[Simulation, ListSink]) -> None:
    _, sink = busy
    current: dict[str, str] = {}
    for record in sink.of("driver_status"):
        assert record["previous_status"] == current.get(record["driver_id"], "offline")
        current[record["driver_id"]] = record["new_status"]


def test_surge_from_the_source_multiplies_the_fares_of_its_zone() -> None:
    config = SimConfig(seed=11, drivers=60, riders=1200, start=START)
    _, flat = run(config, 0.5)
    base = {_request_key(r): r for r in flat.of("trip_event") if r["event_type"] == "requested"}
    zone = max({r["pickup_zone_id"] for r in base.values()}, key=lambda z: sum(r["pickup_zone_id"] == z for r in base.values()))
    # riders whose max acceptable surge is below 1.2 never exist (range 1.3..3.0), so requests are unchanged
    _, surged = run(config, 0.5, surge=StaticSurge({zone: 1.2}))
    requested = {_request_key(r): r for r in surged.of("trip_event") if r["event_type"] == "requested"}
    in_zone = [k for k, r in requested.items() if r["pickup_zone_id"] == zone and k in base]
    assert in_zone
    for trip_id in in_zone:
        assert requested[trip_id]["surge_multiplier"] == 1.2
        assert requested[trip_id]["fare_estimate_brl"] == pytest.approx(base[trip_id]["fare_estimate_brl"] * 1.2, abs=0.011)
    assert all(r["surge_multiplier"] == 1.0 for r in requested.values() if r["pickup_zone_id"] != zone)


def test_riders_refuse_surge_above_their_limit() -> None:
    zones = {z: 3.0 for z in (str(i) for i in range(1, 100))}
    sim, sink = run(SimConfig(seed=11, drivers=20, riders=600, start=START), 0.5, surge=StaticSurge(zones))
    assert sim.stats.surge_refusals > 0
    assert all(r["surge_multiplier"] <= 3.0 for r in sink.of("trip_event"))


def test_profile_updates_change_something_and_never_revert() -> None:
    # a night (few drivers online, so cheap) of a large population: a handful of profile changes
    _sim, sink = run(SimConfig(seed=3, drivers=2000, riders=8000, start="2026-03-02T00:30:00-03:00"), 4.0)
    updates = [r for r in sink.of("driver_profile") + sink.of("rider_profile") if r["change_type"] == "updated"]
    assert updates
    state: dict[str, dict] = {}
    for schema, record in sink.events:
        if schema not in ("driver_profile", "rider_profile"):
            continue
        key = record.get("driver_id") or record["rider_id"]
        if record["change_type"] == "updated":
            before = state[key]
            assert record["changed_fields"]
            for name in record["changed_fields"]:
                assert record[name] != before[name]
            envelope = {"event_id", "event_time", "change_type", "changed_fields", "causation_id"}
            unchanged = set(before) - set(record["changed_fields"]) - envelope
            assert all(record[k] == before[k] for k in unchanged)
        state[key] = record
