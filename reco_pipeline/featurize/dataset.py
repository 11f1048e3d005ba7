"""The typed container that carries training data from featurize to train, evaluate and publish."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from reco_pipeline.featurize.features import AttributeEncoder, feature_matrix, fit_encoder, item_text_column
from reco_pipeline.featurize.idmap import IdMap
from reco_pipeline.featurize.split import TemporalSplit
from reco_pipeline.featurize.weights import aggregate_strength
from reco_pipeline.schema import Columns


@dataclass(frozen=True)
class FeaturizeSettings:
    """Plain settings for :func:`build_dataset` (the Dagster ``Config`` maps onto this)."""

    event_weights: Mapping[str, float]
    recency_half_life_days: float | None = 120.0
    positive_event_types: Sequence[str] = ("purchase",)
    user_features: bool = True
    item_features: bool = True
    identity_features: bool = True
    min_df: int = 2
    max_text_features: int = 3000
    recent_days: float = 28.0
    identity_weight: float | None = None  # None: every feature of a row weighs the same (LightFM's default)


@dataclass(frozen=True)
class InteractionDataset:
    """An interaction matrix travelling with everything needed to interpret it.

    Row ``u`` of every user-side matrix is ``user_map.external_ids[u]``; column ``i`` of every
    item-side matrix is ``item_map.external_ids[i]``.
    """

    user_map: IdMap
    item_map: IdMap
    interactions: sp.coo_matrix  # binary: which (user, item) pairs are positives
    weights: sp.coo_matrix  # same sparsity, the strength of each positive
    user_features: sp.csr_matrix
    item_features: sp.csr_matrix
    user_encoder: AttributeEncoder | None
    item_encoder: AttributeEncoder | None
    user_identity: bool  # whether user_features starts with one identity column per user
    item_identity: bool
    purchased: sp.csr_matrix  # positive events (default: purchases) before the cutoff
    item_popularity: np.ndarray  # distinct users with a positive event per item, before the cutoff
    cutoff: pd.Timestamp
    item_categories: np.ndarray  # category per item (None where unknown), for filters
    positive_event_types: tuple[str, ...] = ("purchase",)
    item_titles: np.ndarray | None = None  # for people reading recommendations
    purchase_counts: sp.csr_matrix | None = None  # how many times each user bought each item (buy-again)
    recent_popularity: np.ndarray | None = None  # distinct buyers in the last `recent_days` before the cutoff
    settings: FeaturizeSettings | None = None  # how it was built (the search rebuilds variants from it)
    # For the learned ranking stage (train/ranker.py): when, and on how many separate days, things were bought.
    purchase_days: sp.csr_matrix | None = None  # distinct days each user bought each item
    days_since_purchase: sp.csr_matrix | None = None  # days from the user's last purchase of the item to the cutoff
    item_age_days: np.ndarray | None = None  # days from the item's first event to the cutoff

    @property
    def shape(self) -> tuple[int, int]:
        return self.interactions.shape

    @property
    def density(self) -> float:
        n = self.shape[0] * self.shape[1]
        return self.interactions.nnz / n if n else 0.0

    def summary(self) -> dict[str, object]:
        return {
            "users": self.shape[0],
            "items": self.shape[1],
            "positive_pairs": int(self.interactions.nnz),
            "density": round(self.density, 6),
            "user_features": int(self.user_features.shape[1]),
            "item_features": int(self.item_features.shape[1]),
            "user_attribute_features": self.user_encoder.size if self.user_encoder else 0,
            "item_attribute_features": self.item_encoder.size if self.item_encoder else 0,
            "cutoff": str(self.cutoff),
        }


def build_dataset(split: TemporalSplit, users: pd.DataFrame, items: pd.DataFrame,
                  settings: FeaturizeSettings) -> InteractionDataset:
    """Matrices from the training window only: nothing from the holdout may shape the model."""
    strength = aggregate_strength(split.train, settings.event_weights, split.cutoff, settings.recency_half_life_days)
    if strength.empty:
        raise ValueError("build_dataset: no positive interactions in the training window "
                         "(check event_weights: every event type present weighs 0?)")
    user_map = IdMap.from_values(strength[Columns.User])
    item_map = IdMap.from_values(strength[Columns.Item])
    rows = user_map.to_internal(strength[Columns.User])
    cols = item_map.to_internal(strength[Columns.Item])
    shape = (user_map.size, item_map.size)
    weights = sp.coo_matrix((strength[Columns.Weight].to_numpy(np.float32), (rows, cols)), shape=shape)
    interactions = sp.coo_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape)

    # Encoders learn only from entities that appear in training, so a feature always has a trained embedding.
    users_known = users[users[Columns.User].isin(user_map.external_ids)] if not users.empty else users
    items_known = items[items[Columns.Item].isin(item_map.external_ids)] if not items.empty else items
    user_encoder = fit_encoder(users_known, Columns.User, min_df=settings.min_df) \
        if settings.user_features and len(users_known.columns) > 1 else None
    item_encoder = fit_encoder(items_known, Columns.Item, text_column=item_text_column(items_known),
                               min_df=settings.min_df, max_text_features=settings.max_text_features) \
        if settings.item_features and len(items_known.columns) > 1 else None
    # Without attribute features, identity features are the only representation left: keep them on.
    user_identity = settings.identity_features or user_encoder is None or not user_encoder.size
    item_identity = settings.identity_features or item_encoder is None or not item_encoder.size
    user_features = feature_matrix(user_map.external_ids, users if not users.empty else None, Columns.User,
                                   user_encoder, user_identity, settings.identity_weight)
    item_features = feature_matrix(item_map.external_ids, items if not items.empty else None, Columns.Item,
                                   item_encoder, item_identity, settings.identity_weight)

    positives = split.train[split.train[Columns.EventType].isin(list(settings.positive_event_types))]
    pu = user_map.to_internal(positives[Columns.User], strict=False)
    pi = item_map.to_internal(positives[Columns.Item], strict=False)
    ok = (pu >= 0) & (pi >= 0)
    counts = sp.csr_matrix((np.ones(ok.sum(), np.float32), (pu[ok], pi[ok])), shape=shape)  # duplicates summed
    purchased = counts.copy()
    purchased.data[:] = 1.0
    recent = positives[Columns.Datetime].to_numpy() >= np.datetime64(split.cutoff - pd.Timedelta(days=settings.recent_days))
    rok = ok & recent
    recent_pop = np.asarray((sp.csr_matrix((np.ones(rok.sum(), np.float32), (pu[rok], pi[rok])), shape=shape) > 0)
                            .sum(axis=0)).ravel().astype(np.float64)
    popularity = np.asarray((purchased > 0).sum(axis=0)).ravel().astype(np.float64)
    if popularity.sum() == 0:  # no purchases at all (e.g. a view-only feed): fall back to strength
        popularity = np.asarray(weights.tocsr().sum(axis=0)).ravel().astype(np.float64)

    purchase_days, days_since = _purchase_timing(positives[ok], pu[ok], pi[ok], split.cutoff, shape)
    first_seen = split.train.groupby(Columns.Item, observed=True)[Columns.Datetime].min()
    item_age = ((split.cutoff - pd.Series(item_map.external_ids).map(first_seen)).dt.total_seconds() / 86400.0)
    item_age = item_age.fillna(0.0).clip(lower=0.0).to_numpy(np.float64)

    categories = _item_attribute(items, item_map, Columns.Category)
    titles = _item_attribute(items, item_map, Columns.Title)

    return InteractionDataset(
        user_map=user_map, item_map=item_map, interactions=interactions, weights=weights,
        user_features=user_features, item_features=item_features, user_encoder=user_encoder,
        item_encoder=item_encoder, user_identity=user_identity, item_identity=item_identity, purchased=purchased,
        item_popularity=popularity, cutoff=split.cutoff, item_categories=categories,
        positive_event_types=tuple(settings.positive_event_types), item_titles=titles,
        purchase_counts=counts, recent_popularity=recent_pop, settings=settings,
        purchase_days=purchase_days, days_since_purchase=days_since, item_age_days=item_age,
    )


def _purchase_timing(positives: pd.DataFrame, rows: np.ndarray, cols: np.ndarray, cutoff: pd.Timestamp,
                     shape: tuple[int, int]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Distinct purchase days and days since the last purchase, per (user, item) pair.

    Days, not rows: one order often holds several lines of the same product, and a customer who
    orders on five separate days is a stronger re-buyer than one who bought five at once. A purchase
    at the cutoff itself is stored as 1 minute old so the sparse matrix keeps it.
    """
    ts = positives[Columns.Datetime]
    frame = pd.DataFrame({"u": rows, "i": cols, "day": ts.dt.floor("D").to_numpy(),
                          "age": np.maximum((cutoff - ts).dt.total_seconds().to_numpy() / 86400.0, 1.0 / 1440)})
    g = frame.groupby(["u", "i"], sort=True).agg(days=("day", "nunique"), last=("age", "min"))
    u = g.index.get_level_values(0).to_numpy()
    i = g.index.get_level_values(1).to_numpy()
    days = sp.csr_matrix((g["days"].to_numpy(np.float32), (u, i)), shape=shape)
    since = sp.csr_matrix((g["last"].to_numpy(np.float32), (u, i)), shape=shape)
    return days, since


def _item_attribute(items: pd.DataFrame, item_map: IdMap, column: str) -> np.ndarray:
    """One attribute per item in ``item_map`` order; None where the catalogue does not say."""
    if column not in items.columns:
        return np.full(item_map.size, None, dtype=object)
    values = pd.Series(item_map.external_ids).map(items.drop_duplicates(Columns.Item).set_index(Columns.Item)[column])
    return np.array([None if pd.isna(v) else str(v) for v in values], dtype=object)
