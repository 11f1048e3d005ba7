"""The evaluation protocol: who is evaluated, on what truth, and how every model is ranked.

"Discovery" (the default, and what the promotion gate compares): for users known before the
cutoff, the truth is what they bought in the holdout window minus what they had already bought
before it; those earlier purchases are also removed from every model's ranking.

"Buy-again": the truth is everything they bought in the window, repeats included, and nothing is
removed from the rankings. Retail customers re-order; this protocol measures how well that is served.

In both, only items seen before the cutoff count, so every model competes for the same truth.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from reco_pipeline.evaluate.baselines import (
    EASE,
    UserKNN,
    popularity_scores,
    rank_rows,
    recent_popularity_scores,
    repeat_buy_scores,
)
from reco_pipeline.evaluate.metrics import METRICS, coverage, novelty, per_user_metrics, self_information
from reco_pipeline.featurize.dataset import InteractionDataset
from reco_pipeline.recommender import Recommender
from reco_pipeline.train.ranker import BUY_AGAIN, DISCOVERY, RankingStats
from reco_pipeline.schema import Columns

CANDIDATE, BASELINE, CHAMPION = "candidate", "baseline", "champion"


@dataclass(frozen=True)
class Holdout:
    protocol: str
    users: np.ndarray  # external ids of evaluated users
    rows: np.ndarray  # their rows in the dataset
    relevant: list[set[str]]

    @property
    def exclude_purchased(self) -> bool:
        return self.protocol == DISCOVERY

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_relevant(self) -> int:
        return int(sum(len(r) for r in self.relevant))


@dataclass
class ModelEvaluation:
    name: str
    role: str
    metrics: dict[str, float]
    curve: dict[int, dict[str, float]]
    per_user: pd.DataFrame = field(repr=False)
    note: str = ""
    recommended_items: list[str] = field(default_factory=list, repr=False)  # distinct items in the top-k lists


@dataclass
class EvaluationReport:
    protocol: str
    k: int
    n_users: int
    n_relevant: int
    catalogue_size: int
    models: list[ModelEvaluation]
    others: dict[str, "EvaluationReport"] = field(default_factory=dict)  # secondary protocols
    slices: dict[str, pd.DataFrame] = field(default_factory=dict)  # cold users, cold items

    def get(self, name: str) -> ModelEvaluation | None:
        return next((m for m in self.models if m.name == name), None)

    @property
    def candidate(self) -> ModelEvaluation:
        return next(m for m in self.models if m.role == CANDIDATE)

    @property
    def champion(self) -> ModelEvaluation | None:
        return next((m for m in self.models if m.role == CHAMPION), None)

    def table(self) -> pd.DataFrame:
        rows = [{"model": m.name, "role": m.role, **m.metrics} for m in self.models]
        return pd.DataFrame(rows)

    def to_markdown(self) -> str:
        t = self.table()
        cols = [c for c in t.columns if c not in ("model", "role")]
        lines = ["| model | role | " + " | ".join(cols) + " |", "|---|---|" + "---|" * len(cols)]
        for _, r in t.iterrows():
            lines.append(f"| {r['model']} | {r['role']} | " + " | ".join(f"{r[c]:.4f}" for c in cols) + " |")
        return "\n".join(lines)


def build_holdout(dataset: InteractionDataset, holdout_events: pd.DataFrame, positive_event_types: Sequence[str],
                  protocol: str = DISCOVERY) -> Holdout:
    if protocol not in (DISCOVERY, BUY_AGAIN):
        raise ValueError(f"unknown protocol '{protocol}'; use '{DISCOVERY}' or '{BUY_AGAIN}'")
    pos = holdout_events[holdout_events[Columns.EventType].isin(list(positive_event_types))]
    pos = pos[pos[Columns.User].isin(dataset.user_map.external_ids) & pos[Columns.Item].isin(dataset.item_map.external_ids)]
    users, relevant, rows = [], [], []
    for user, items in pos.groupby(Columns.User, sort=True)[Columns.Item]:
        row = dataset.user_map.to_internal([user])[0]
        truth = set(items)
        if protocol == DISCOVERY:
            truth -= set(dataset.item_map.to_external(dataset.purchased[row].indices))
        if truth:
            users.append(user)
            rows.append(row)
            relevant.append(truth)
    return Holdout(protocol, np.array(users, dtype=object), np.array(rows, dtype=np.int64), relevant)


def discovery_holdout(dataset: InteractionDataset, holdout_events: pd.DataFrame,
                      positive_event_types: Sequence[str]) -> Holdout:
    return build_holdout(dataset, holdout_events, positive_event_types, DISCOVERY)


def _evaluate_lists(name: str, role: str, ranked: list[list[str]], holdout: Holdout, k: int,
                    curve_ks: Sequence[int], catalogue_size: int, note: str = "",
                    information: dict[str, float] | None = None) -> ModelEvaluation:
    per_user = per_user_metrics(ranked, holdout.relevant, k)
    metrics = {f"{m}@{k}": float(per_user[m].mean()) for m in METRICS}
    metrics[f"coverage@{k}"] = coverage(ranked, catalogue_size, k)
    if information is not None:
        metrics[f"novelty@{k}"] = novelty(ranked, information, k)
    curve = {}
    for kk in curve_ks:
        pu = per_user_metrics(ranked, holdout.relevant, kk)
        curve[kk] = {f"{m}": float(pu[m].mean()) for m in METRICS}
    per_user.insert(0, Columns.User, holdout.users)
    recommended = sorted({i for r in ranked for i in r[:k]})
    return ModelEvaluation(name, role, metrics, curve, per_user, note, recommended)


def _lists_from_indices(idx: np.ndarray, dataset: InteractionDataset) -> list[list[str]]:
    ext = dataset.item_map.external_ids
    return [[ext[i] for i in row if i >= 0] for row in idx]


def _lists_from_frame(recs: pd.DataFrame, users: np.ndarray) -> list[list[str]]:
    grouped = recs.sort_values([Columns.User, Columns.Rank]).groupby(Columns.User)[Columns.Item].apply(list)
    return [grouped.get(u, []) for u in users]


def rank_with_recommender(rec: Recommender, holdout: Holdout, dataset: InteractionDataset, depth: int,
                          repeat_weight: float | None = None, rerank: bool = True) -> list[list[str]]:
    """Rank with any Recommender (the candidate or a champion trained on other data) under this protocol
    (its ranker, when it has one, uses the weights learned for this protocol)."""
    exclude = ({u: set(dataset.item_map.to_external(dataset.purchased[r].indices))
                for u, r in zip(holdout.users, holdout.rows)} if holdout.exclude_purchased else None)
    # Restrict to items of this dataset so every model competes for the same catalogue.
    mask = np.isin(rec.item_map.external_ids, dataset.item_map.external_ids)
    recs = rec.recommend(list(holdout.users), depth, exclude_purchased=False, exclude=exclude, item_mask=mask,
                         mode=holdout.protocol, rerank=rerank, repeat_weight=repeat_weight)
    return _lists_from_frame(recs, holdout.users)


def evaluate_all(
    candidate: Recommender,
    dataset: InteractionDataset,
    holdout: Holdout,
    *,
    k: int = 10,
    curve_ks: Sequence[int] = (1, 3, 5, 10, 20, 50),
    knn_neighbors: int = 50,
    ease_l2: float | None = 300.0,
    repeat_weight: float = 1.0,
    champion: Recommender | None = None,
    champion_name: str = "champion",
    reference_rankers: Mapping[str, object] | None = None,
) -> EvaluationReport:
    """Every model on the same users and truth. Baselines: popularity, recent popularity, user-kNN,
    EASE (when ``ease_l2`` is set) and, for buy-again, repeat-buy. When the candidate has a learned
    ranking stage, its raw LightFM ranking is reported too, and ``reference_rankers`` (e.g.
    ``{"ease": ranker}``, fitted the same way on the validation window) put the same stage on top of
    a baseline, so the stage's gain is not credited to LightFM alone. For buy-again the candidate
    also runs in the hand-set blend (``repeat_weight``)."""
    if holdout.n_users == 0:
        raise ValueError(f"evaluation ({holdout.protocol}): no user known before the cutoff bought an item in the "
                         "holdout window; lengthen holdout_days or supply more data")
    depth = max(max(curve_ks), k)
    n_items = dataset.shape[1]
    exclude = dataset.purchased[holdout.rows] if holdout.exclude_purchased else None

    information = self_information(dataset.item_map.external_ids, dataset.item_popularity, dataset.shape[0])

    def add(name, role, ranked, note=""):
        models.append(_evaluate_lists(name, role, ranked, holdout, k, curve_ks, n_items, note=note,
                                      information=information))

    def add_scores(name, scores):
        add(name, BASELINE, _lists_from_indices(rank_rows(scores, exclude, depth), dataset))

    models: list[ModelEvaluation] = []
    reranked = candidate.reranks
    add("lightfm_hybrid", CANDIDATE, rank_with_recommender(candidate, holdout, dataset, depth),
        note="LightFM + learned ranking stage" if reranked else "")
    if reranked:
        add("lightfm_raw", BASELINE, rank_with_recommender(candidate, holdout, dataset, depth, rerank=False),
            note="the candidate's LightFM score alone, without the ranking stage")
    if holdout.protocol == BUY_AGAIN and repeat_weight:
        add("lightfm_buy_again_blend", BASELINE, rank_with_recommender(candidate, holdout, dataset, depth, repeat_weight),
            note=f"candidate blended with repeat-purchase propensity (weight {repeat_weight})")
    add_scores("popularity", popularity_scores(dataset, holdout.n_users))
    add_scores("recent_popularity", recent_popularity_scores(dataset, holdout.n_users))
    if holdout.protocol == BUY_AGAIN:
        add_scores("repeat_buy", repeat_buy_scores(dataset, holdout.rows))
    add_scores(f"user_knn_{knn_neighbors}", UserKNN(dataset, knn_neighbors).scores(holdout.rows))
    if ease_l2:
        ease_scores = EASE(dataset, ease_l2).scores(holdout.rows)
        add_scores("ease", ease_scores)
        ease_ranker = (reference_rankers or {}).get("ease")
        if ease_ranker is not None and holdout.protocol in ease_ranker.weights:
            add_scores("ease_reranked", ease_ranker.score(ease_scores, holdout.rows, RankingStats.from_dataset(dataset),
                                                          holdout.protocol))
    if champion is not None:
        # A champion trained on another catalogue (the user switched data sources) cannot be compared
        # meaningfully; say so next to its numbers rather than silently scoring it near zero.
        overlap = float(np.isin(dataset.item_map.external_ids, champion.item_map.external_ids).mean())
        note = "" if overlap >= 0.5 else (f"champion knows only {overlap:.0%} of this catalogue "
                                          "(trained on other data?); its metrics are not comparable")
        add(champion_name, CHAMPION, rank_with_recommender(champion, holdout, dataset, depth), note=note)
    return EvaluationReport(holdout.protocol, k, holdout.n_users, holdout.n_relevant, n_items, models)
