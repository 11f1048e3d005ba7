"""The promotion gate: a new model takes the ``champion`` alias only when it is measurably better.

"Measurably" means three things, all on the same holdout users, which neither model trained on:

1. its primary metric is higher than the champion's by more than ``min_improvement``;
2. a paired bootstrap over users (seeded) gives a confidence interval for the difference that lies
   entirely above zero, so the win is not noise;
3. guardrails hold: catalogue coverage, and NDCG on cold customers and on cold products, are not
   worse than the champion's by more than a margin.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from reco_pipeline.settings import CHALLENGER_ALIAS, CHAMPION_ALIAS

if TYPE_CHECKING:
    from reco_pipeline.evaluate.protocol import EvaluationReport


@dataclass(frozen=True)
class BootstrapInterval:
    mean_difference: float
    low: float
    high: float
    confidence: float
    resamples: int
    users: int

    @property
    def excludes_zero_above(self) -> bool:
        return self.low > 0


def paired_bootstrap(candidate: np.ndarray, champion: np.ndarray, resamples: int = 1000, confidence: float = 0.95,
                     seed: int = 0) -> BootstrapInterval:
    """Percentile interval of the mean per-user difference ``candidate - champion``.

    Users are resampled with replacement, pairs kept together (both models answered the same user).
    """
    candidate, champion = np.asarray(candidate, float), np.asarray(champion, float)
    if candidate.shape != champion.shape or candidate.ndim != 1 or len(candidate) == 0:
        raise ValueError("paired_bootstrap needs two equally long, non-empty per-user arrays")
    diff = candidate - champion
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    for start in range(0, resamples, 200):  # bounded memory for large user sets
        n = min(200, resamples - start)
        means[start:start + n] = diff[rng.integers(0, len(diff), size=(n, len(diff)))].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return BootstrapInterval(float(diff.mean()), float(low), float(high), confidence, resamples, len(diff))


@dataclass(frozen=True)
class Guardrail:
    name: str
    candidate: float
    champion: float
    margin: float

    @property
    def passed(self) -> bool:
        return self.candidate >= self.champion - self.margin


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
    interval: BootstrapInterval | None = None
    guardrails: tuple[Guardrail, ...] = field(default_factory=tuple)

    def as_tags(self) -> dict[str, str]:
        tags = {f"reco.decision.{k}": "" if v is None else str(v) for k, v in asdict(self).items()
                if k not in ("interval", "guardrails")}
        if self.interval is not None:
            i = self.interval
            tags["reco.decision.ci_low"] = f"{i.low:.6f}"
            tags["reco.decision.ci_high"] = f"{i.high:.6f}"
            tags["reco.decision.ci_confidence"] = str(i.confidence)
            tags["reco.decision.ci_resamples"] = str(i.resamples)
        for g in self.guardrails:
            tags[f"reco.decision.guardrail.{g.name}"] = (f"{'pass' if g.passed else 'FAIL'}: candidate {g.candidate:.5f} "
                                                         f"vs champion {g.champion:.5f} (margin {g.margin})")
        return tags


def decide_promotion(metric: str, candidate_value: float, champion_value: float | None,
                     champion_version: str | None = None, min_improvement: float = 0.0,
                     interval: BootstrapInterval | None = None,
                     guardrails: Sequence[Guardrail] = ()) -> PromotionDecision:
    """First model -> champion. Otherwise champion only if better by more than ``min_improvement``,
    with a bootstrap interval above zero (when given) and every guardrail holding; else challenger."""
    guardrails = tuple(guardrails)

    def decision(promote: bool, reason: str) -> PromotionDecision:
        return PromotionDecision(promote, CHAMPION_ALIAS if promote else CHALLENGER_ALIAS, metric, candidate_value,
                                 champion_value, champion_version, min_improvement, reason, interval, guardrails)

    if champion_value is None:
        return decision(True, "no champion yet: the first model becomes champion")
    delta = candidate_value - champion_value
    head = f"{metric} {candidate_value:.5f} vs champion v{champion_version} {champion_value:.5f} (delta {delta:+.5f})"
    if delta <= min_improvement:
        return decision(False, f"{head}: not better by more than {min_improvement}")
    if interval is not None and not interval.excludes_zero_above:
        return decision(False, f"{head}: not significant, {interval.confidence:.0%} bootstrap interval "
                               f"[{interval.low:+.5f}, {interval.high:+.5f}] includes zero")
    failed = [g for g in guardrails if not g.passed]
    if failed:
        return decision(False, f"{head}: guardrail failed: " + ", ".join(
            f"{g.name} {g.candidate:.4f} < champion {g.champion:.4f} - {g.margin}" for g in failed))
    ci = (f", {interval.confidence:.0%} interval [{interval.low:+.5f}, {interval.high:+.5f}]" if interval else "")
    return decision(True, f"{head}: better{ci}" + (", guardrails hold" if guardrails else ""))


@dataclass(frozen=True)
class GateSettings:
    primary_metric: str = "ndcg"
    min_improvement: float = 0.0
    bootstrap_resamples: int = 1000
    confidence: float = 0.95
    bootstrap_seed: int = 0
    coverage_margin: float = 0.05
    cold_users_margin: float = 0.02
    cold_items_margin: float = 0.02


def gate_from_evaluation(evaluation: "EvaluationReport", settings: GateSettings) -> PromotionDecision:
    """The gate applied to an evaluation: candidate vs the champion scored on the same holdout."""
    key = f"{settings.primary_metric}@{evaluation.k}"
    if key not in evaluation.candidate.metrics:
        raise ValueError(f"publish.primary_metric '{settings.primary_metric}' is not a metric; "
                         "choose precision, recall, ndcg or map")
    champion = evaluation.champion
    if champion is None:
        return decide_promotion(key, evaluation.candidate.metrics[key], None)
    interval = None
    if settings.bootstrap_resamples > 0:
        interval = paired_bootstrap(evaluation.candidate.per_user[settings.primary_metric].to_numpy(),
                                    champion.per_user[settings.primary_metric].to_numpy(),
                                    settings.bootstrap_resamples, settings.confidence, settings.bootstrap_seed)
    cov = f"coverage@{evaluation.k}"
    guardrails = [Guardrail(cov.replace("@", "_at_"), evaluation.candidate.metrics[cov], champion.metrics[cov],
                            settings.coverage_margin)]
    ndcg = f"ndcg@{evaluation.k}"
    # Cold slices: the champion is scored on the same new customers / new products (evaluation asset).
    for name, margin in (("cold_users", settings.cold_users_margin), ("cold_items", settings.cold_items_margin)):
        cold, cold_champ = evaluation.slices.get(name), evaluation.slices.get(f"{name}_champion")
        if cold is not None and cold_champ is not None and len(cold_champ):
            guardrails.append(Guardrail(f"{name}_ndcg_at_{evaluation.k}",
                                        float(cold.loc[cold["model"] == "lightfm_hybrid", ndcg].iloc[0]),
                                        float(cold_champ[ndcg].iloc[0]), margin))
    decision = decide_promotion(key, evaluation.candidate.metrics[key], champion.metrics[key],
                                champion.name.removeprefix("champion_v"), settings.min_improvement, interval,
                                guardrails)
    if champion.note:
        decision = dataclasses.replace(decision, reason=f"{decision.reason}; note: {champion.note}")
    return decision
