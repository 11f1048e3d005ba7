"""Data valuation: what each data source and feature group is worth, and how much history helps.

Every variant is trained with the same settings and scored on the *same* discovery holdout users
and truth as the full model (a variant that lost a user answers that user with popularity), so the
differences are the value of what was left out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

from reco_pipeline.evaluate.metrics import per_user_metrics
from reco_pipeline.evaluate.protocol import Holdout, rank_with_recommender
from reco_pipeline.featurize.dataset import FeaturizeSettings, InteractionDataset, build_dataset
from reco_pipeline.featurize.split import TemporalSplit
from reco_pipeline.schema import Columns, EventType
from reco_pipeline.train.model import TrainSettings, fit_lightfm


def _score(rec, holdout: Holdout, full: InteractionDataset, k: int) -> float:
    ranked = rank_with_recommender(rec, holdout, full, k)
    return float(np.mean(per_user_metrics(ranked, holdout.relevant, k)["ndcg"]))


def value_data(split: TemporalSplit, users: pd.DataFrame, items: pd.DataFrame, full: InteractionDataset,
               holdout: Holdout, featurize: FeaturizeSettings, train: TrainSettings, k: int = 10,
               shares: Sequence[float] = (0.25, 0.5, 0.75)) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Returns ``(ablations, learning_curve)``, each with an ``ndcg@k`` column and the change vs the full model."""
    key = f"ndcg@{k}"
    # "Everything" is built with the same featurization as the variants (the search may have tuned it).
    base_ds = full if featurize == full.settings else build_dataset(split, users, items, featurize)
    base = _score(fit_lightfm(base_ds, train).recommender, holdout, full, k)

    def variant(train_events: pd.DataFrame, fs: FeaturizeSettings, u=users, i=items) -> float | None:
        s = TemporalSplit(train_events, split.holdout, split.cutoff, split.end)
        try:
            ds = build_dataset(s, u, i, fs)
        except ValueError:
            return None  # nothing left to learn from
        return _score(fit_lightfm(ds, train).recommender, holdout, full, k)

    present = set(split.train[Columns.EventType].unique())
    rows = [{"variant": "everything", key: base}]
    for event in (EventType.VIEW, EventType.ADD_TO_CART, EventType.REVIEW):
        if event.value in present:
            rows.append({"variant": f"without {event.value} events",
                         key: variant(split.train[split.train[Columns.EventType] != event.value], featurize)})
    if featurize.user_features:
        rows.append({"variant": "without customer features",
                     key: variant(split.train, dataclasses.replace(featurize, user_features=False))})
    if featurize.item_features:
        rows.append({"variant": "without product features",
                     key: variant(split.train, dataclasses.replace(featurize, item_features=False))})
    ablations = pd.DataFrame(rows)
    ablations["change_vs_everything"] = ablations[key] - base

    start, end = split.train[Columns.Datetime].min(), split.cutoff
    curve = []
    for share in (*shares, 1.0):
        since = end - (end - start) * share
        value = base if share == 1.0 else variant(split.train[split.train[Columns.Datetime] >= since], featurize)
        curve.append({"history_share": share, "history_from": str(since.date()), key: value})
    learning = pd.DataFrame(curve)
    learning["change_vs_everything"] = learning[key] - base
    return ablations, learning


def plot_valuation(ablations: pd.DataFrame, learning: pd.DataFrame, path, k: int = 10):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    key = f"ndcg@{k}"
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    ab = ablations.dropna(subset=[key])
    a.barh(ab["variant"], ab[key], color=["#4c72b0"] + ["#dd8452"] * (len(ab) - 1))
    a.invert_yaxis()
    a.set_xlabel(f"NDCG@{k} (same holdout)")
    a.set_title("What each data source / feature group is worth")
    lc = learning.dropna(subset=[key])
    b.plot(lc["history_share"], lc[key], marker="o")
    b.set_xlabel("share of training history used (most recent)")
    b.set_ylabel(f"NDCG@{k}")
    b.set_title("Learning curve")
    b.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
