"""A small deterministic event world written straight into bronze, for tests and benchmarks.

It emits schema-valid records of every stream (trips with every lifecycle branch, payments,
ratings, driver status, GPS, surge, profiles with later changes, control events), encodes them with
the project's Avro codec (so `raw_value` is real) and appends them to the bronze Delta tables with
Kafka-like coordinates, exactly as the bronze contract in `lakehouse.bronze.specs` lays them out.
It also returns its own summary (completed trips, captured payments, revenue) so tests can
reconcile gold against it. The real simulation replaces it wherever it is available.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from deltalake import write_deltalake

from core.settings import Settings
from lakehouse.bronze.specs import arrow_schema, avro_field_names, bronze_table_uri
from lakehouse.bronze.validation import KafkaRecord
from lakehouse.bronze.writer import BronzeWriter
from schemas.catalog import topic_for_schema
from schemas.codec import decode, encode

__all__ = ["SampleSummary", "SampleWorld", "inject_into_bronze", "write_events_to_bronze"]

log = logging.getLogger(__name__)

HOUR_MS = 3_600_000
ZONES = ("63", "95", "1", "2", "10", "42", "77", "88")
SHIFTS = ("morning", "afternoon", "evening", "night", "flexible")
METHODS = ("credit_card", "debit_card", "pix", "cash", "wallet")
PLATFORM_FEE_SHARE = 0.25


@dataclass
class SampleSummary:
    """What the world emitted, counted the way the simulation summarises a run."""

    events: int = 0
    requested_trips: int = 0
    completed_trips: int = 0
    cancelled_trips: int = 0
    captured_payments: int = 0
    revenue_brl: float = 0.0
    driver_profile_updates: int = 0

    def add(self, other: SampleSummary) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class SampleWorld:
    """Seeded drivers, riders and zones; `hour(start_ms)` emits one simulated hour of events."""

    seed: int = 7
    drivers: int = 20
    riders: int = 40
    trips_per_hour: int = 60
    gps_pings_per_trip: int = 4
    session_id: str = "sample-session"
    _rng: random.Random = field(init=False, repr=False)
    _counter: int = field(default=0, init=False, repr=False)
    _driver_state: dict[str, dict[str, Any]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    # -- ids and envelopes ------------------------------------------------------------------
    def _event(self, schema: str, time_ms: int, correlation_id: str, causation_id: str | None, **fields: Any) -> tuple[str, dict]:
        self._counter += 1
        record = {"event_id": f"{self.seed}-{self._counter:012d}", "event_time": int(time_ms), "session_id": self.session_id,
                  "correlation_id": correlation_id, "causation_id": causation_id, **fields}
        return schema, record

    def driver_ids(self) -> list[str]:
        return [f"D{i:05d}" for i in range(self.drivers)]

    def rider_ids(self) -> list[str]:
        return [f"R{i:05d}" for i in range(self.riders)]

    # -- profiles ------------------------------------------------------------------------------
    def profiles(self, start_ms: int) -> list[tuple[str, dict]]:
        """`created` profiles of every driver and rider plus a `started` control event."""
        events = [self._event("simulation_control", start_ms, self.session_id, None, action="started", speed=1.0,
                              drivers=self.drivers, riders=self.riders, seed=self.seed, detail=None)]
        for driver_id in self.driver_ids():
            state = {"driver_id": driver_id, "full_name": f"Driver {driver_id}", "email": f"{driver_id.lower()}@example.com",
                     "phone": f"+55119{self._rng.randrange(10**7, 10**8)}", "vehicle_make": "Fiat", "vehicle_model": "Argo",
                     "vehicle_year": self._rng.randrange(2015, 2025), "vehicle_color": self._rng.choice(("white", "black", "silver")),
                     "license_plate": f"ABC{self._rng.randrange(1000, 9999)}", "home_zone_id": self._rng.choice(ZONES),
                     "shift_preference": self._rng.choice(SHIFTS)}
            self._driver_state[driver_id] = state
            events.append(self._event("driver_profile", start_ms, driver_id, None, change_type="created", changed_fields=[], **state))
        for rider_id in self.rider_ids():
            events.append(self._event("rider_profile", start_ms, rider_id, None, change_type="created", rider_id=rider_id,
                                      full_name=f"Rider {rider_id}", email=f"{rider_id.lower()}@example.com",
                                      phone=f"+55118{self._rng.randrange(10**7, 10**8)}", home_zone_id=self._rng.choice(ZONES),
                                      payment_method=self._rng.choice(METHODS), changed_fields=[], loyalty_tier="bronze"))
        return events

    def driver_profile_change(self, driver_id: str, time_ms: int, **changes: Any) -> tuple[str, dict]:
        """An `updated` profile event carrying the driver's full new state."""
        state = {**self._driver_state[driver_id], **changes}
        self._driver_state[driver_id] = state
        return self._event("driver_profile", time_ms, driver_id, None, change_type="updated", changed_fields=sorted(changes), **state)

    # -- one hour ------------------------------------------------------------------------------
    def hour(self, start_ms: int) -> tuple[list[tuple[str, dict]], SampleSummary]:
        """Every event of one simulated hour starting at `start_ms`, and its summary."""
        events: list[tuple[str, dict]] = []
        summary = SampleSummary()
        for zone in ZONES:
            multiplier = round(1.0 + self._rng.random() * 1.5, 2)
            events.append(self._event("surge_update", start_ms, zone, None, zone_id=zone, surge_multiplier=multiplier,
                                      previous_multiplier=1.0, demand_count=self._rng.randrange(0, 30),
                                      supply_count=self._rng.randrange(0, 20), window_start=start_ms - 300_000, window_end=start_ms))
        drivers, riders = self.driver_ids(), self.rider_ids()
        step = HOUR_MS // max(self.trips_per_hour, 1)
        for index in range(self.trips_per_hour):
            trip_events, trip_summary = self._trip(start_ms + index * step, self._rng.choice(drivers), self._rng.choice(riders))
            events.extend(trip_events)
            summary.add(trip_summary)
        summary.events = len(events)
        return events, summary

    def _trip(self, t0: int, driver_id: str, rider_id: str) -> tuple[list[tuple[str, dict]], SampleSummary]:
        rng = self._rng
        self._counter += 1
        trip_id = f"T{self.seed}-{self._counter:010d}"
        pickup, dropoff = rng.choice(ZONES), rng.choice(ZONES)
        surge = round(1.0 + rng.random(), 2)
        distance_km = round(1.0 + rng.random() * 14, 3)
        base = {"trip_id": trip_id, "rider_id": rider_id, "pickup_zone_id": pickup, "dropoff_zone_id": dropoff,
                "pickup_lat": -23.55 + rng.random() / 10, "pickup_lon": -46.63 + rng.random() / 10,
                "dropoff_lat": -23.55 + rng.random() / 10, "dropoff_lon": -46.63 + rng.random() / 10,
                "surge_multiplier": surge, "fare_estimate_brl": round((5 + 2.1 * distance_km) * surge, 2),
                "fare_brl": None, "route_distance_km": distance_km, "route_duration_s": distance_km * 150.0,
                "route_polyline": None, "offer_sequence": None, "eta_seconds": None, "cancelled_by": None, "cancel_reason": None}
        summary = SampleSummary(requested_trips=1)
        out: list[tuple[str, dict]] = []
        previous: str | None = None

        def trip(event_type: str, at: int, **extra: Any) -> None:
            nonlocal previous
            schema, record = self._event("trip_event", at, trip_id, previous, event_type=event_type,
                                         **{**base, "driver_id": extra.pop("driver_id", None), **extra})
            previous = record["event_id"]
            out.append((schema, record))

        trip("requested", t0)
        outcome = rng.random()
        if outcome < 0.05:
            trip("no_drivers_available", t0 + 30_000)
            summary.cancelled_trips = 1
            return out, summary
        if outcome < 0.15:
            trip("offer_sent", t0 + 2_000, driver_id=f"D{(int(driver_id[1:]) + 1) % self.drivers:05d}", offer_sequence=1, eta_seconds=240.0)
            trip("offer_rejected", t0 + 8_000, driver_id=f"D{(int(driver_id[1:]) + 1) % self.drivers:05d}", offer_sequence=1)
            sequence = 2
        else:
            sequence = 1
        eta = 120.0 + rng.random() * 400
        trip("offer_sent", t0 + 10_000, driver_id=driver_id, offer_sequence=sequence, eta_seconds=eta)
        trip("driver_assigned", t0 + 15_000, driver_id=driver_id, offer_sequence=sequence, eta_seconds=eta)
        out.append(self._status(driver_id, t0 + 15_000, "available", "en_route_pickup", pickup, trip_id))
        trip("en_route_pickup", t0 + 16_000, driver_id=driver_id)
        if outcome < 0.25:
            by = rng.choice(("rider", "driver"))
            trip("cancelled", t0 + 60_000, driver_id=driver_id, cancelled_by=by, cancel_reason=f"{by}_cancelled")
            out.append(self._status(driver_id, t0 + 60_000, "en_route_pickup", "available", pickup, None))
            summary.cancelled_trips = 1
            return out, summary
        pickup_at = t0 + 16_000 + int(eta * 1000)
        trip("at_pickup", pickup_at, driver_id=driver_id)
        trip("in_transit", pickup_at + 60_000, driver_id=driver_id)
        out.append(self._status(driver_id, pickup_at + 60_000, "en_route_pickup", "on_trip", pickup, trip_id))
        ride_ms = int(distance_km * 150_000)
        for ping in range(self.gps_pings_per_trip):
            at = pickup_at + 60_000 + ride_ms * ping // max(self.gps_pings_per_trip, 1)
            out.append(self._event("gps_ping", at, driver_id, None, entity_type="driver", entity_id=driver_id,
                                   lat=-23.55 + rng.random() / 10, lon=-46.63 + rng.random() / 10, heading_deg=rng.random() * 360,
                                   speed_kmh=20 + rng.random() * 30, accuracy_m=5.0, trip_id=trip_id, driver_status="on_trip"))
        done_at = pickup_at + 60_000 + ride_ms
        fare = round((5 + 2.1 * distance_km) * surge, 2)
        trip("completed", done_at, driver_id=driver_id, fare_brl=fare)
        completed_id = previous
        out.append(self._status(driver_id, done_at, "on_trip", "available", dropoff, None))
        captured = rng.random() >= 0.03
        fee = round(fare * PLATFORM_FEE_SHARE, 2)
        out.append(self._event("payment", done_at + 1_000, trip_id, completed_id, payment_id=f"P-{trip_id}", trip_id=trip_id,
                               rider_id=rider_id, driver_id=driver_id, payment_method=rng.choice(METHODS), fare_brl=fare,
                               platform_fee_brl=fee, driver_payout_brl=round(fare - fee, 2), surge_multiplier=surge,
                               status="captured" if captured else "failed"))
        for rater_type, rater, ratee in (("rider", rider_id, driver_id), ("driver", driver_id, rider_id)):
            out.append(self._event("rating", done_at + 5_000, trip_id, completed_id, rating_id=f"{rater_type[0]}-{trip_id}",
                                   trip_id=trip_id, rater_type=rater_type, rater_id=rater, ratee_id=ratee, stars=rng.choice((3, 4, 5, 5))))
        summary.completed_trips = 1
        summary.captured_payments = int(captured)
        summary.revenue_brl = fare if captured else 0.0
        return out, summary

    def _status(self, driver_id: str, at: int, old: str, new: str, zone: str, trip_id: str | None) -> tuple[str, dict]:
        return self._event("driver_status", at, driver_id, None, driver_id=driver_id, previous_status=old, new_status=new,
                           reason="trip" if trip_id else "trip_finished", zone_id=zone, driver_lat=-23.55, driver_lon=-46.63,
                           trip_id=trip_id)


def _to_timestamp(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _kafka_records(settings: Settings, events: list[tuple[str, dict]], offsets: dict[str, int],
                   partition: int) -> dict[str, list[KafkaRecord]]:
    by_topic: dict[str, list[KafkaRecord]] = defaultdict(list)
    for schema_name, record in events:
        spec = topic_for_schema(schema_name)
        offset = offsets.get(spec.key, 0)
        offsets[spec.key] = offset + 1
        key = record[spec.key_field] if spec.key_field else None
        # Like the JSONL loader: the broker timestamp is the event's own (simulated) time.
        by_topic[spec.key].append(KafkaRecord(topic=spec.qualified(settings.topic_namespace), partition=partition, offset=offset,
                                              timestamp_ms=int(record["event_time"]), key=None if key is None else str(key).encode(),
                                              value=encode(schema_name, record)))
    return by_topic


def write_events_to_bronze(settings: Settings, events: list[tuple[str, dict]], *, offsets: dict[str, int] | None = None) -> dict[str, int]:
    """Write `events` through the exactly-once bronze writer, as Kafka records on partition 0.

    `offsets` carries the next offset per topic across calls (so later batches continue the log);
    it is updated in place and returned.
    """
    offsets = offsets if offsets is not None else {}
    for topic_key, records in _kafka_records(settings, events, offsets, partition=0).items():
        result = BronzeWriter(settings, topic_key).write(records)
        if result.dead_lettered:
            log.warning("bronze writer dead-lettered %d sample %s record(s): %s", result.dead_lettered, topic_key, result.error_types)
    return offsets


def inject_into_bronze(settings: Settings, events: list[tuple[str, dict]], *, ingestion_ms: int, partition: int = 99) -> int:
    """Append `events` straight to the bronze Delta tables, bypassing the writer's validation.

    This is how a broken batch (e.g. negative fares from a buggy producer) reaches bronze in tests
    of silver's quarantine and the quality checks; it uses its own Kafka partition number so it
    never collides with the writer's exactly-once offsets. Returns the rows written.
    """
    by_topic = _kafka_records(settings, events, {}, partition)
    written = 0
    for topic_key, records in by_topic.items():
        rows = []
        for record in records:
            _, value = decode(record.value)
            row = {"kafka_topic": record.topic, "kafka_partition": record.partition, "kafka_offset": record.offset,
                   "kafka_timestamp": _to_timestamp(record.timestamp_ms), "kafka_key": record.key.decode() if record.key else None,
                   "raw_value": record.value, "ingestion_time": _to_timestamp(ingestion_ms)}
            for name in avro_field_names(topic_key):
                row[name] = _to_timestamp(value[name]) if name in ("event_time", "window_start", "window_end") else value[name]
            row["event_date"] = _to_timestamp(value["event_time"]).date()
            rows.append(row)
        write_deltalake(bronze_table_uri(settings, topic_key), pa.Table.from_pylist(rows, schema=arrow_schema(topic_key)),
                        mode="append", partition_by=["event_date"], storage_options=settings.lake_storage_options or None)
        written += len(rows)
    return written
