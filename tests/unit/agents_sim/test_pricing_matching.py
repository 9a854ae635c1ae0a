from __future__ import annotations

import pytest

from agents_sim.matching import Candidate, rank_candidates, score
from agents_sim.params import MatchingParams, PricingParams
from agents_sim.pricing import fare_brl, split_payment

PRICING = PricingParams(base_brl=4.0, per_km_brl=2.0, per_min_brl=0.5, minimum_brl=9.0, surge_cap=3.0)


def test_fare_is_base_plus_distance_plus_time() -> None:
    assert fare_brl(PRICING, 10.0, 20.0) == pytest.approx(4.0 + 20.0 + 10.0)


def test_minimum_fare_applies_to_short_trips_before_surge() -> None:
    assert fare_brl(PRICING, 0.5, 2.0) == 9.0
    assert fare_brl(PRICING, 0.5, 2.0, 1.5) == 13.5


def test_surge_multiplies_and_is_capped() -> None:
    assert fare_brl(PRICING, 10.0, 20.0, 2.0) == pytest.approx(68.0)
    assert fare_brl(PRICING, 10.0, 20.0, 5.0) == pytest.approx(102.0)
    with pytest.raises(ValueError):
        fare_brl(PRICING, 1.0, 1.0, 0.9)


def test_payment_split_adds_up_to_the_fare() -> None:
    payout = split_payment(27.35, 0.25)
    assert payout.platform_fee_brl == 6.84
    assert round(payout.platform_fee_brl + payout.driver_payout_brl, 2) == 27.35


def test_closer_driver_scores_higher_all_else_equal() -> None:
    params = MatchingParams()
    near = Candidate("a", 120.0, 4.8, 0.9)
    far = Candidate("b", 600.0, 4.8, 0.9)
    assert score(params, near) > score(params, far)


def test_rating_and_acceptance_break_eta_ties_and_ranking_is_bounded() -> None:
    params = MatchingParams(max_candidates=2)
    cands = [Candidate("c", 300.0, 4.5, 0.7), Candidate("a", 300.0, 4.95, 0.95),
             Candidate("b", 300.0, 4.95, 0.8), Candidate("d", 900, 5, 1)]
    ranked = rank_candidates(params, cands)
    assert [c.driver_id for c in ranked] == ["a", "b"]


def test_ranking_is_deterministic_on_exact_ties() -> None:
    params = MatchingParams()
    cands = [Candidate("z", 100.0, 4.8, 0.9), Candidate("m", 100.0, 4.8, 0.9)]
    assert [c.driver_id for c in rank_candidates(params, cands)] == ["m", "z"]
