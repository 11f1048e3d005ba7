"""Turning events into interaction strengths: per-event-type weights and recency decay."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from reco_pipeline.schema import Columns, EventType

DEFAULT_EVENT_WEIGHTS: dict[str, float] = {
    EventType.VIEW.value: 1.0,
    EventType.ADD_TO_CART.value: 3.0,
    EventType.PURCHASE.value: 6.0,
    EventType.REVIEW.value: 4.0,
    # Returns are kept in the data but are never positive evidence.
    EventType.RETURN.value: 0.0,
}


def event_weights(df: pd.DataFrame, weights: Mapping[str, float], rating_neutral: float = 2.0,
                  rating_max: float = 5.0) -> pd.Series:
    """Weight of each event; unknown event types weigh 0.

    A review weighs ``weights['review']`` scaled by how positive it is: a rating at or below
    ``rating_neutral`` contributes nothing (a one-star review is not a reason to recommend more of the same).
    """
    w = df[Columns.EventType].map(lambda e: float(weights.get(e, 0.0))).astype("float64").fillna(0.0)
    is_review = df[Columns.EventType] == EventType.REVIEW.value
    if is_review.any():
        rating = df.loc[is_review, Columns.Rating]
        scale = ((rating - rating_neutral) / (rating_max - rating_neutral)).clip(0.0, 1.0).fillna(0.5)
        w.loc[is_review] = w.loc[is_review] * scale
    return w


def recency_decay(timestamps: pd.Series, reference: pd.Timestamp, half_life_days: float | None) -> np.ndarray:
    """``0.5 ** (age / half_life)``: an event one half-life old counts half. ``None`` disables decay."""
    if not half_life_days:
        return np.ones(len(timestamps))
    age_days = (reference - timestamps).dt.total_seconds().to_numpy() / 86400.0
    return np.power(0.5, np.clip(age_days, 0.0, None) / half_life_days)


def aggregate_strength(df: pd.DataFrame, weights: Mapping[str, float], reference: pd.Timestamp,
                       half_life_days: float | None) -> pd.DataFrame:
    """One row per (user, item) with the summed, decayed weight, squashed with ``log1p``.

    ``log1p`` keeps a customer who viewed one item 200 times from dominating the loss.
    Pairs whose total is 0 (only returns, only bad reviews) are dropped: they are not positives.
    """
    w = event_weights(df, weights) * recency_decay(df[Columns.Datetime], reference, half_life_days)
    agg = (
        pd.DataFrame({Columns.User: df[Columns.User].to_numpy(), Columns.Item: df[Columns.Item].to_numpy(),
                      Columns.Weight: w.to_numpy()})
        .groupby([Columns.User, Columns.Item], sort=True, observed=True)[Columns.Weight].sum()
        .reset_index()
    )
    agg = agg[agg[Columns.Weight] > 0].reset_index(drop=True)
    agg[Columns.Weight] = np.log1p(agg[Columns.Weight]).astype("float32")
    return agg
