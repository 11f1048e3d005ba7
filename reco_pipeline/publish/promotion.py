"""The promotion gate: a new model takes the ``champion`` alias only when it is measurably better."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from reco_pipeline.settings import CHALLENGER_ALIAS, CHAMPION_ALIAS


@dataclass(frozen=True)
class PromotionDecision:
    promote: bool
    alias: str
    metric: str
    candidate_value: float
    champion_value: float | None
    champion_version: str | None
    min_improvement: float
    reason: str

    def as_tags(self) -> dict[str, str]:
        return {f"reco.decision.{k}": "" if v is None else str(v) for k, v in asdict(self).items()}


def decide_promotion(metric: str, candidate_value: float, champion_value: float | None,
                     champion_version: str | None = None, min_improvement: float = 0.0) -> PromotionDecision:
    """First model -> champion; strictly better by more than ``min_improvement`` -> champion;
    equal or worse -> challenger (the champion keeps its alias).

    Both values must come from the same holdout, which neither model trained on.
    """
    if champion_value is None:
        return PromotionDecision(True, CHAMPION_ALIAS, metric, candidate_value, None, None, min_improvement,
                                 "no champion yet: the first model becomes champion")
    delta = candidate_value - champion_value
    if delta > min_improvement:
        return PromotionDecision(True, CHAMPION_ALIAS, metric, candidate_value, champion_value, champion_version,
                                 min_improvement,
                                 f"{metric} {candidate_value:.5f} beats champion v{champion_version} "
                                 f"{champion_value:.5f} by {delta:+.5f} (> {min_improvement})")
    return PromotionDecision(False, CHALLENGER_ALIAS, metric, candidate_value, champion_value, champion_version,
                             min_improvement,
                             f"{metric} {candidate_value:.5f} does not beat champion v{champion_version} "
                             f"{champion_value:.5f} (delta {delta:+.5f}, needs > {min_improvement})")
