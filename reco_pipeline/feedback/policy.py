from __future__ import annotations

from dataclasses import dataclass

from reco_pipeline.collect.landing import LandingStatus


@dataclass(frozen=True)
class RetrainDecision:
    retrain: bool
    reason: str


def retrain_decision(status: LandingStatus, min_new_events: int, max_wait_minutes: float, now: float) -> RetrainDecision:
    """Retrain when enough new events landed, or when the oldest unprocessed one has waited long enough."""
    if status.new_events == 0:
        return RetrainDecision(False, "no new events since the last retrain")
    if status.new_events >= min_new_events:
        return RetrainDecision(True, f"{status.new_events} new events (>= {min_new_events})")
    waited = (now - status.oldest_new_received_at) / 60.0 if status.oldest_new_received_at else 0.0
    if waited >= max_wait_minutes:
        return RetrainDecision(True, f"{status.new_events} new events, oldest waited {waited:.0f} min "
                                     f"(>= {max_wait_minutes})")
    return RetrainDecision(False, f"{status.new_events} new events (< {min_new_events}), oldest waited "
                                  f"{waited:.1f} min (< {max_wait_minutes})")
