"""Ranking metrics at k, per user, from ranked lists and sets of relevant items.

Definitions (binary relevance, ``hits`` = relevant items among the top ``k``):

- precision@k = hits / k
- recall@k = hits / |relevant|
- NDCG@k = DCG / IDCG with gain 1 and discount ``1 / log2(rank + 1)``; IDCG uses ``min(k, |relevant|)`` hits
- AP@k = mean over the relevant positions ``r <= k`` of precision@r, divided by ``min(k, |relevant|)``
- coverage@k = distinct items in all top-k lists / catalogue size
- novelty@k = mean over users of the mean self-information ``-log2(p_i)`` of their top-k items, with
  ``p_i`` the share of training customers who bought item ``i`` (add-one smoothed, so a product
  nobody bought yet is the most novel, not infinite). Higher = less obvious recommendations.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

METRICS = ("precision", "recall", "ndcg", "map")


def hit_matrix(recommended: Sequence[Sequence[str]], relevant: Sequence[set[str]], k: int) -> np.ndarray:
    """``hits[u, r]`` is True when user ``u``'s item at rank ``r+1`` is relevant (padded with False)."""
    hits = np.zeros((len(recommended), k), dtype=bool)
    for u, (recs, rel) in enumerate(zip(recommended, relevant)):
        for r, item in enumerate(list(recs)[:k]):
            hits[u, r] = item in rel
    return hits


def per_user_metrics(recommended: Sequence[Sequence[str]], relevant: Sequence[set[str]], k: int) -> pd.DataFrame:
    """One row per user with precision, recall, ndcg and map at ``k``."""
    if len(recommended) != len(relevant):
        raise ValueError(f"{len(recommended)} ranked lists for {len(relevant)} users")
    hits = hit_matrix(recommended, relevant, k)
    n_rel = np.array([len(r) for r in relevant], dtype=float)
    if (n_rel == 0).any():
        raise ValueError("every evaluated user needs at least one relevant item")
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hits * discounts).sum(axis=1)
    ideal_hits = np.minimum(n_rel, k).astype(int)
    idcg = np.cumsum(discounts)[ideal_hits - 1]
    n_hits = hits.sum(axis=1)
    prec_at_r = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    ap = (prec_at_r * hits).sum(axis=1) / ideal_hits
    return pd.DataFrame({"precision": n_hits / k, "recall": n_hits / n_rel, "ndcg": dcg / idcg, "map": ap})


def coverage(recommended: Sequence[Sequence[str]], catalogue_size: int, k: int) -> float:
    if catalogue_size <= 0:
        return 0.0
    distinct = {item for recs in recommended for item in list(recs)[:k]}
    return len(distinct) / catalogue_size


def self_information(item_ids: Sequence[str], buyers: np.ndarray, n_users: int) -> dict[str, float]:
    """``-log2((buyers + 1) / (n_users + 1))`` per item: the novelty of recommending it."""
    bits = -np.log2((np.asarray(buyers, dtype=float) + 1.0) / (n_users + 1.0))
    return dict(zip(item_ids, bits.tolist()))


def novelty(recommended: Sequence[Sequence[str]], information: dict[str, float], k: int,
            unknown: float | None = None) -> float:
    """Mean over users (with at least one recommendation) of the mean self-information of their top-k.

    Items missing from ``information`` (new products) count as ``unknown``, by default the largest
    value in it (as novel as a product no customer bought)."""
    if unknown is None:
        unknown = max(information.values(), default=0.0)
    per_user = [np.mean([information.get(i, unknown) for i in list(recs)[:k]]) for recs in recommended if len(recs)]
    return float(np.mean(per_user)) if per_user else 0.0


def summarize(recommended: Sequence[Sequence[str]], relevant: Sequence[set[str]], k: int,
              catalogue_size: int) -> dict[str, float]:
    """Mean metrics at ``k`` plus coverage, keyed like ``ndcg@10``."""
    per_user = per_user_metrics(recommended, relevant, k)
    out = {f"{m}@{k}": float(per_user[m].mean()) for m in METRICS}
    out[f"coverage@{k}"] = coverage(recommended, catalogue_size, k)
    return out
