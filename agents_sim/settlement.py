"""After a completed trip: the payment (platform fee and driver payout) and the ratings both sides give."""

from __future__ import annotations

import random

from agents_sim.agents.state import Trip
from agents_sim.events import EventFactory
from agents_sim.params import PricingParams, RatingParams
from agents_sim.pricing import split_payment

__all__ = ["Settlement"]


class Settlement:
    def __init__(self, events: EventFactory, pricing: PricingParams, rating: RatingParams, rng: random.Random) -> None:
        self._events = events
        self._pricing = pricing
        self._rating = rating
        self._rng = rng

    def pay(self, trip: Trip, fare: float, now: int) -> None:
        assert trip.driver is not None
        rng = self._rng
        payout = split_payment(fare, rng.uniform(*self._pricing.take_rate_range))
        record = self._events.header(now, trip.trip_id, trip.last_event_id)
        record.update({
            "payment_id": f"{trip.trip_id}-P", "trip_id": trip.trip_id, "rider_id": trip.rider.rider_id,
            "driver_id": trip.driver.driver_id, "payment_method": trip.rider.profile["payment_method"], "fare_brl": fare,
            "platform_fee_brl": payout.platform_fee_brl, "driver_payout_brl": payout.driver_payout_brl,
            "surge_multiplier": trip.surge_multiplier,
            "status": "captured" if rng.random() > self._pricing.payment_failure_p else "failed",
        })
        self._events.emit("payment", record)

    def rate(self, trip: Trip, now: int) -> None:
        driver, rider = trip.driver, trip.rider
        assert driver is not None
        params = self._rating
        for rater_type, rater_id, ratee, quality, p_rate in (
            ("rider", rider.rider_id, driver, driver.dna.service_quality + rider.dna.rating_generosity * params.generosity_weight,
             params.rider_rates_p),
            ("driver", driver.driver_id, rider, rider.dna.behaviour_factor, params.driver_rates_p),
        ):
            if self._rng.random() >= p_rate:
                continue
            stars = self._stars(quality)
            ratee.rating_sum += stars
            ratee.rating_count += 1
            record = self._events.header(now, trip.trip_id, trip.last_event_id)
            record.update({"rating_id": f"{trip.trip_id}-{rater_type[0]}", "trip_id": trip.trip_id, "rater_type": rater_type,
                           "rater_id": rater_id, "ratee_id": ratee.dna.driver_id if rater_type == "rider" else rider.rider_id,
                           "stars": stars})
            self._events.emit("rating", record)

    def _stars(self, quality: float) -> int:
        """Stars from a 0..1 quality: ~90 % five stars at the average quality, rare ones and twos."""
        params = self._rating
        rng = self._rng
        if rng.random() < min(params.five_star_cap, params.five_star_base + params.five_star_per_quality * quality):
            return 5
        x = rng.random()
        four, three, two = params.lower_stars_cumulative
        return 4 if x < four else 3 if x < three else 2 if x < two else 1
