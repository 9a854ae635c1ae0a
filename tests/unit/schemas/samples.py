"""One valid record per event schema, shared by codec, producer and round-trip tests."""

from __future__ import annotations

from typing import Any

T0 = 1_767_607_200_000  # 2026-01-05 10:00 UTC (07:00 in São Paulo), a Monday


def _envelope(n: int, correlation: str, cause: str | None = None) -> dict[str, Any]:
    return {"event_id": f"evt-{n:06d}", "event_time": T0 + n * 1000, "session_id": "sess-test",
            "correlation_id": correlation, "causation_id": cause}


SAMPLES: dict[str, dict[str, Any]] = {
    "trip_event": _envelope(1, "trip-1") | {
        "event_type": "driver_assigned", "trip_id": "trip-1", "rider_id": "R00001", "driver_id": "D00001",
        "pickup_zone_id": "63", "dropoff_zone_id": "12", "pickup_lat": -23.55, "pickup_lon": -46.63,
        "dropoff_lat": -23.58, "dropoff_lon": -46.66, "surge_multiplier": 1.3, "fare_estimate_brl": 31.5,
        "fare_brl": None, "route_distance_km": 7.2, "route_duration_s": 1260.0, "route_polyline": "nnoiCnk~zG",
        "offer_sequence": 2, "eta_seconds": 240.0, "cancelled_by": None, "cancel_reason": None,
    },
    "gps_ping": _envelope(2, "D00001") | {
        "entity_type": "driver", "entity_id": "D00001", "lat": -23.5612, "lon": -46.6558, "heading_deg": 87.5,
        "speed_kmh": 31.2, "accuracy_m": 6.0, "trip_id": "trip-1", "driver_status": "en_route_pickup",
    },
    "driver_status": _envelope(3, "D00001") | {
        "driver_id": "D00001", "previous_status": "available", "new_status": "en_route_pickup",
        "reason": "trip_assigned", "zone_id": "63", "driver_lat": -23.56, "driver_lon": -46.65, "trip_id": "trip-1",
    },
    "surge_update": _envelope(4, "63") | {
        "zone_id": "63", "surge_multiplier": 1.4, "previous_multiplier": 1.0, "demand_count": 42,
        "supply_count": 17, "window_start": T0, "window_end": T0 + 300_000,
    },
    "rating": _envelope(5, "trip-1", "evt-000001") | {
        "rating_id": "rat-1", "trip_id": "trip-1", "rater_type": "rider", "rater_id": "R00001",
        "ratee_id": "D00001", "stars": 5,
    },
    "payment": _envelope(6, "trip-1", "evt-000001") | {
        "payment_id": "pay-1", "trip_id": "trip-1", "rider_id": "R00001", "driver_id": "D00001",
        "payment_method": "pix", "fare_brl": 31.5, "platform_fee_brl": 7.88, "driver_payout_brl": 23.62,
        "surge_multiplier": 1.3, "status": "captured",
    },
    "driver_profile": _envelope(7, "D00001") | {
        "change_type": "updated", "driver_id": "D00001", "full_name": "Ana Souza", "email": "ana.souza@example.com.br",
        "phone": "+55 11 91234-5678", "vehicle_make": "Chevrolet", "vehicle_model": "Onix", "vehicle_year": 2022,
        "vehicle_color": "prata", "license_plate": "BRA2E19", "home_zone_id": "63", "shift_preference": "morning",
        "changed_fields": ["vehicle_color"],
    },
    "rider_profile": _envelope(8, "R00001") | {
        "change_type": "created", "rider_id": "R00001", "full_name": "João Lima", "email": "joao.lima@example.com.br",
        "phone": "+55 11 99876-5432", "home_zone_id": "12", "payment_method": "credit_card", "changed_fields": [],
        "loyalty_tier": "gold",
    },
    "simulation_control": _envelope(9, "sess-test") | {
        "action": "started", "speed": 30.0, "drivers": 50, "riders": 300, "seed": 42, "detail": None,
    },
}
