"""Cold-start slices: the customers and products the collaborative part of the model cannot know.

- *Cold users*: first seen in the holdout window. Each is known only by their attributes and the
  items of their first day; the truth is what they bought after that first day.
- *Cold items*: first sold in the holdout window, known only by their catalogue attributes. For the
  customers (known before the cutoff) who bought any of them, every model ranks the cold items.

Baselines: recent popularity for cold users; for cold items (which have no sales history) the
popularity of their category before the cutoff, with ties broken by item id.
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from reco_pipeline.evaluate.baselines import EASE
from reco_pipeline.evaluate.metrics import METRICS, coverage, novelty, per_user_metrics, self_information
from reco_pipeline.featurize.dataset import InteractionDataset
from reco_pipeline.recommender import Recommender, top_k
from reco_pipeline.schema import Columns


def _summary(name: str, ranked: list[list[str]], truth: list[set[str]], k: int, catalogue: int,
             information: dict[str, float] | None = None) -> dict[str, float]:
    pu = per_user_metrics(ranked, truth, k)
    out = {"model": name, **{f"{m}@{k}": float(pu[m].mean()) for m in METRICS},
           f"coverage@{k}": coverage(ranked, catalogue, k)}
    if information is not None:
        out[f"novelty@{k}"] = novelty(ranked, information, k)
    return out


def cold_user_slice(rec: Recommender, dataset: InteractionDataset, holdout_events: pd.DataFrame,
                    users: pd.DataFrame, k: int = 10, ease_l2: float | None = 300.0) -> pd.DataFrame | None:
    ev = holdout_events[~holdout_events[Columns.User].isin(dataset.user_map.external_ids)]
    if ev.empty:
        return None
    first_day = ev.groupby(Columns.User)[Columns.Datetime].transform("min").dt.normalize() + pd.Timedelta(days=1)
    early, later = ev[ev[Columns.Datetime] < first_day], ev[ev[Columns.Datetime] >= first_day]
    later = later[later[Columns.EventType].isin(list(dataset.positive_event_types))
                  & later[Columns.Item].isin(dataset.item_map.external_ids)]
    seen = early.groupby(Columns.User)[Columns.Item].apply(set).to_dict()
    truth_all = later.groupby(Columns.User)[Columns.Item].apply(set)
    ids, truth = [], []
    for u, items in truth_all.items():
        t = items - seen.get(u, set())
        if t:
            ids.append(u)
            truth.append(t)
    if not ids:
        return None
    attrs = users.set_index(Columns.User) if Columns.User in users.columns else pd.DataFrame()
    n_items = dataset.shape[1]
    rows = {"lightfm_hybrid": [], "recent_popularity": [], "ease_fold_in": []}
    pop = dataset.recent_popularity if dataset.recent_popularity is not None else dataset.item_popularity
    pop = pop + dataset.item_popularity / (dataset.item_popularity.max() + 1.0)
    ease = EASE(dataset, ease_l2) if ease_l2 else None
    for u, t in zip(ids, truth):
        a = attrs.loc[u].to_dict() if u in attrs.index else {}
        first = list(seen.get(u, set()))
        vec, _ = rec.user_vector_from(a, first)
        idx, _, _ = rec.recommend_one(None, k, vector=vec, exclude_items=first)
        rows["lightfm_hybrid"].append(list(rec.item_map.to_external(idx)))
        excl = dataset.item_map.to_internal(first, strict=False)
        excl = excl[excl >= 0]
        p = pop.astype(float).copy()
        p[excl] = -np.inf
        rows["recent_popularity"].append(list(dataset.item_map.to_external(top_k(p[None, :], k)[0][0])))
        if ease is not None:
            x = np.zeros(n_items)
            x[excl] = 1.0
            s = x @ ease.b if len(excl) else p.copy()
            s[excl] = -np.inf
            rows["ease_fold_in"].append(list(dataset.item_map.to_external(top_k(s[None, :], k)[0][0])))
    information = self_information(dataset.item_map.external_ids, dataset.item_popularity, dataset.shape[0])
    out = [_summary(name, ranked, truth, k, n_items, information) for name, ranked in rows.items() if ranked]
    frame = pd.DataFrame(out)
    frame.insert(1, "users", len(ids))
    return frame


def cold_item_slice(rec: Recommender, dataset: InteractionDataset, holdout_events: pd.DataFrame,
                    items: pd.DataFrame, k: int = 10) -> pd.DataFrame | None:
    ev = holdout_events[holdout_events[Columns.EventType].isin(list(dataset.positive_event_types))]
    cold = sorted(set(ev[Columns.Item]) - set(dataset.item_map.external_ids))
    catalogue = items[items[Columns.Item].isin(cold)].drop_duplicates(Columns.Item).sort_values(Columns.Item)
    if Columns.IsProduct in catalogue.columns:
        catalogue = catalogue[catalogue[Columns.IsProduct].astype("boolean").fillna(True)]
    if len(catalogue) < 2:
        return None
    cold_ids = catalogue[Columns.Item].to_numpy(dtype=object)
    buys = ev[ev[Columns.Item].isin(cold_ids) & ev[Columns.User].isin(dataset.user_map.external_ids)]
    truth_by_user = buys.groupby(Columns.User)[Columns.Item].apply(set)
    if truth_by_user.empty:
        return None
    users = list(truth_by_user.index)
    truth = list(truth_by_user)
    kk = min(k, len(cold_ids))
    item_vecs = rec.item_vectors_from_table(catalogue)
    rows = rec.user_map.to_internal(users, strict=False)
    known = rows >= 0
    user_vecs = np.zeros((len(users), item_vecs.shape[1]), dtype=np.float32)
    user_vecs[known] = rec.user_vectors[rows[known]]
    hybrid = [list(cold_ids[i]) for i in top_k(user_vecs @ item_vecs.T, kk)[0]]

    cat_pop = pd.Series(0.0, index=range(len(cold_ids)))
    if Columns.Category in catalogue.columns and dataset.item_categories is not None:
        by_cat = pd.Series(dataset.item_popularity).groupby(pd.Series(dataset.item_categories)).sum()
        cat_pop = catalogue[Columns.Category].map(by_cat).fillna(0.0).reset_index(drop=True)
    base = np.broadcast_to(cat_pop.to_numpy(float), (len(users), len(cold_ids)))
    popular = [list(cold_ids[i]) for i in top_k(base, kk)[0]]
    frame = pd.DataFrame([_summary("lightfm_hybrid", hybrid, truth, k, len(cold_ids)),
                          _summary("category_popularity", popular, truth, k, len(cold_ids))])
    frame.insert(1, "users", len(users))
    frame.insert(2, "cold_items", len(cold_ids))
    return frame
