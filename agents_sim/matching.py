"""Candidate scoring for dispatch (pure): lower ETA, higher rating and higher acceptance rate win."""

from __future__ import annotations

from dataclasses import dataclass

from agents_sim.params import MatchingParams

__all__ = ["Candidate", "rank_candidates", "score"]

_ETA_SCALE_S = 900.0  # ETAs are compared on a 15-minute scale


@dataclass(frozen=True, slots=True)
class Candidate:
    driver_id: str
    eta_s: float
    rating: float          # 1..5
    acceptance_rate: float  # 0..1


def score(params: MatchingParams, candidate: Candidate) -> float:
    """Higher is better; each term is in [0, 1] before weighting."""
    eta_term = 1.0 - min(candidate.eta_s, _ETA_SCALE_S) / _ETA_SCALE_S
    rating_term = (min(max(candidate.rating, 1.0), 5.0) - 1.0) / 4.0
    return params.eta_weight * eta_term + params.rating_weight * rating_term + params.acceptance_weight * candidate.acceptance_rate


def rank_candidates(params: MatchingParams, candidates: list[Candidate]) -> list[Candidate]:
    """Best first, at most `max_candidates`; ties broken by driver id (deterministic)."""
    ranked = sorted(candidates, key=lambda c: (-score(params, c), c.driver_id))
    return ranked[: params.max_candidates]
