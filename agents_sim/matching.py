"""Candidate scoring for dispatch (pure): lower ETA, higher rating and higher acceptance rate win."""

from __future__ import annotations

from dataclasses import dataclass

from agents_sim.params import MatchingParams

__all__ = ["Candidate", "rank_candidates", "score"]

_MIN_STARS, _MAX_STARS = 1.0, 5.0


@dataclass(frozen=True, slots=True)
class Candidate:
    driver_id: str
    eta_s: float
    rating: float          # 1..5
    acceptance_rate: float  # 0..1


def score(params: MatchingParams, candidate: Candidate) -> float:
    """Higher is better; each term is in [0, 1] before weighting."""
    eta_term = 1.0 - min(candidate.eta_s, params.eta_scale_s) / params.eta_scale_s
    rating_term = (min(max(candidate.rating, _MIN_STARS), _MAX_STARS) - _MIN_STARS) / (_MAX_STARS - _MIN_STARS)
    return params.eta_weight * eta_term + params.rating_weight * rating_term + params.acceptance_weight * candidate.acceptance_rate


def rank_candidates(params: MatchingParams, candidates: list[Candidate]) -> list[Candidate]:
    """Best first, at most `max_candidates`; ties broken by driver id (deterministic)."""
    ranked = sorted(candidates, key=lambda c: (-score(params, c), c.driver_id))
    return ranked[: params.max_candidates]
