"""Fares: base + per-km + per-minute, a minimum, times the pickup zone's surge multiplier (capped).
The multiplier comes from the surge topic; this module never computes one."""

from __future__ import annotations

from dataclasses import dataclass

from agents_sim.params import PricingParams

__all__ = ["Payout", "fare_brl", "split_payment"]


def fare_brl(params: PricingParams, distance_km: float, duration_min: float, surge_multiplier: float = 1.0) -> float:
    """Fare in BRL rounded to centavos. The minimum applies before surge (as on UberX's card)."""
    if distance_km < 0 or duration_min < 0:
        raise ValueError("distance and duration must be >= 0")
    if surge_multiplier < 1.0:
        raise ValueError(f"surge multiplier {surge_multiplier} is below 1.0")
    base = max(params.minimum_brl, params.base_brl + params.per_km_brl * distance_km + params.per_min_brl * duration_min)
    return round(base * min(surge_multiplier, params.surge_cap), 2)


@dataclass(frozen=True)
class Payout:
    platform_fee_brl: float
    driver_payout_brl: float


def split_payment(fare: float, take_rate: float) -> Payout:
    """Platform fee and driver payout; they always add up to the fare exactly (in centavos)."""
    if not 0 <= take_rate < 1:
        raise ValueError(f"take rate {take_rate} must be in [0, 1)")
    fee = round(fare * take_rate, 2)
    return Payout(fee, round(fare - fee, 2))
