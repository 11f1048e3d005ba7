"""A learned ranking stage on top of the collaborative score.

LightFM ranks by a customer's long-run taste. What a retail customer buys next also depends on
*when*: products trending in the last weeks, products new to the catalogue, and for re-orders how
often and how recently this customer bought the item and how often anyone re-buys it. A small
logistic model weighs the (per-customer standardised) model score against these signals.

It is fitted honestly: a copy of the model is trained on the history before a validation window
(the same window the hyper-parameter search uses), and the ranker learns from what customers
bought in that window. The holdout that decides promotion is never seen. Two weight vectors are
learned, one per protocol: ``discovery`` (products the customer has not bought) and ``buy_again``
(repeats count), so a service request can ask for either.

The ranker is linear in its features, so scoring stays one matrix product plus a few vector
operations, and its weights are readable (they are logged with the model).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from reco_pipeline.featurize.dataset import InteractionDataset

DISCOVERY, BUY_AGAIN = "discovery", "buy_again"
MODES = (DISCOVERY, BUY_AGAIN)
ITEM_FEATURES = ("log_recent_buyers", "log_buyers", "log_item_age_days")
PAIR_FEATURES = ("bought", "log_purchase_days", "log_days_since_purchase", "log_item_rebuy_rate",
                 "log_user_rebuy_rate", "purchase_day_share")
FEATURES = {DISCOVERY: ("model_score_z", *ITEM_FEATURES), BUY_AGAIN: ("model_score_z", *ITEM_FEATURES, *PAIR_FEATURES)}


def standardise_rows(scores: np.ndarray, weight: float | None = None) -> np.ndarray:
    """Per-customer z-scores (in ``scores``' dtype): LightFM's scale differs from customer to
    customer and model to model. ``weight`` multiplies them in the same pass (the serving path)."""
    mean = scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    std[~(std > 0)] = 1.0
    out = scores - mean
    if weight is None:
        out /= std
    else:
        out *= (weight / std).astype(out.dtype)
    return out


@dataclass(frozen=True)
class RankingStats:
    """What the ranker knows about items and (customer, item) pairs at a cutoff."""

    item_features: np.ndarray  # items x len(ITEM_FEATURES)
    purchase_days: sp.csr_matrix
    days_since_purchase: sp.csr_matrix
    log_item_rebuy_rate: np.ndarray
    log_user_rebuy_rate: np.ndarray
    log_user_purchase_days: np.ndarray

    @classmethod
    def from_dataset(cls, ds: InteractionDataset) -> "RankingStats":
        if ds.purchase_days is None or ds.days_since_purchase is None or ds.item_age_days is None:
            raise ValueError("RankingStats: the dataset lacks purchase timing (built by an older version?); rebuild it")
        n_users, n_items = ds.shape
        recent = ds.recent_popularity if ds.recent_popularity is not None else np.zeros(n_items)
        items = np.column_stack([np.log1p(recent), np.log1p(ds.item_popularity), np.log1p(ds.item_age_days)])
        days = ds.purchase_days.tocsr()
        coo = days.tocoo()
        repeat = coo.data >= 2
        # Smoothed rates: an item two people bought once each is not a "never re-bought" item yet.
        buyers = np.bincount(coo.col, minlength=n_items)
        rebuyers = np.bincount(coo.col[repeat], minlength=n_items)
        item_rate = np.log((rebuyers + 1.0) / (buyers + 10.0))
        user_items = np.bincount(coo.row, minlength=n_users)
        user_repeat = np.bincount(coo.row[repeat], minlength=n_users)
        user_rate = np.log((user_repeat + 1.0) / (user_items + 5.0))
        user_days = np.asarray(days.max(axis=1).toarray()).ravel()  # lower bound on the user's purchase days
        return cls(items.astype(np.float64), days, ds.days_since_purchase.tocsr(), item_rate, user_rate,
                   np.log1p(np.maximum(user_days, 1.0)))

    def pair_features(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(row positions, item indices, features)`` for every item each known row bought."""
        known = np.flatnonzero(rows >= 0)
        if not len(known):
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty((0, len(PAIR_FEATURES)))
        if len(known) == 1:  # the real-time path: slice the row directly (scipy row indexing costs ~50 us)
            r = rows[known[0]]
            a, b = self.purchase_days.indptr[r], self.purchase_days.indptr[r + 1]
            items = self.purchase_days.indices[a:b].astype(np.int64)
            d = self.purchase_days.data[a:b].astype(np.float64)
            s = self.days_since_purchase.data[a:b].astype(np.float64)
            pos = np.full(len(items), known[0])
        else:
            days = self.purchase_days[rows[known]]
            since = self.days_since_purchase[rows[known]]
            pos = np.repeat(known, np.diff(days.indptr))
            items = days.indices.astype(np.int64)
            d = days.data.astype(np.float64)
            # Same sparsity pattern by construction (both come from the same purchase pairs).
            s = since.data.astype(np.float64)
        users = rows[pos]
        feats = np.column_stack([np.ones_like(d), np.log1p(d), np.log1p(s), self.log_item_rebuy_rate[items],
                                 self.log_user_rebuy_rate[users], np.log1p(d) / self.log_user_purchase_days[users]])
        return pos, items, feats


@dataclass(frozen=True)
class LinearRanker:
    """Per-protocol weights over :data:`FEATURES`; a higher score ranks first."""

    weights: Mapping[str, np.ndarray]
    info: dict = field(default_factory=dict)

    def describe(self) -> dict[str, dict[str, float]]:
        return {mode: {f: round(float(w), 4) for f, w in zip(FEATURES[mode], ws)} for mode, ws in self.weights.items()}

    def score(self, model_scores: np.ndarray, rows: np.ndarray, stats: RankingStats, mode: str = DISCOVERY) -> np.ndarray:
        """Re-score ``model_scores`` (customers x items, rows in ``stats``' user order, -1 for unknown)."""
        if mode not in self.weights:
            raise ValueError(f"ranker: unknown mode '{mode}'; use one of {sorted(self.weights)}")
        w = self.weights[mode]
        # float32: this runs on every request and on every batch of the published table
        # (a float64 copy of a users x items block made batch scoring 7x slower).
        out = standardise_rows(np.asarray(model_scores, dtype=np.float32), w[0])
        out += (stats.item_features @ w[1:1 + len(ITEM_FEATURES)]).astype(np.float32)[None, :]
        if mode == BUY_AGAIN:
            pos, items, feats = stats.pair_features(rows)
            out[pos, items] += (feats @ w[1 + len(ITEM_FEATURES):]).astype(np.float32)
        return out


def candidate_features(model_scores: np.ndarray, rows: np.ndarray, stats: RankingStats, mode: str,
                       exclude: sp.csr_matrix | None, n_candidates: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training examples: per customer the model's top ``n_candidates`` (plus, for buy-again, everything
    they bought before). Returns ``(row positions, item indices, features)``.

    Learning from the model's own shortlist (not from random items) teaches the ranker to reorder the
    part of the catalogue that reaches the top of a list.
    """
    z = standardise_rows(np.asarray(model_scores, dtype=np.float64))
    masked = z.copy()
    if exclude is not None:
        e = exclude.tocsr()
        masked[np.repeat(np.arange(e.shape[0]), np.diff(e.indptr)), e.indices] = -np.inf
    n = min(n_candidates, z.shape[1])
    top = np.argpartition(-masked, n - 1, axis=1)[:, :n]
    keep = np.isfinite(np.take_along_axis(masked, top, axis=1))
    pos = np.repeat(np.arange(len(rows)), n).reshape(len(rows), n)[keep]
    items = top[keep]
    pair = np.zeros((len(pos), len(PAIR_FEATURES)))
    if mode == BUY_AGAIN:
        ppos, pitems, pfeats = stats.pair_features(rows)
        key = pos * z.shape[1] + items
        pkey = ppos * z.shape[1] + pitems
        extra = ~np.isin(pkey, key)
        pos, items = np.concatenate([pos, ppos[extra]]), np.concatenate([items, pitems[extra]])
        pair = np.vstack([pair, np.zeros((int(extra.sum()), len(PAIR_FEATURES)))])
        keys = pos * z.shape[1] + items  # unique: every bought pair is now among the examples
        order = np.argsort(keys, kind="stable")
        pair[order[np.searchsorted(keys[order], pkey)]] = pfeats
    feats = np.column_stack([z[pos, items], stats.item_features[items]])
    if mode == BUY_AGAIN:
        feats = np.column_stack([feats, pair])
    return pos, items, feats


def fit_ranker(score_rows: Callable[[np.ndarray], np.ndarray], dataset: InteractionDataset,
               holdouts: Mapping[str, object], *, n_candidates: int = 200, l2: float = 1.0,
               min_positives: int = 20, max_users: int = 20_000, seed: int = 0) -> LinearRanker | None:
    """Learn the weights for each protocol in ``holdouts`` (``mode -> Holdout`` on ``dataset``'s window).

    ``score_rows(rows)`` gives the model's scores for those dataset rows. Features are standardised
    before an L2-regularised logistic regression (lbfgs: deterministic) and the weights mapped back
    to raw units. Returns None when no protocol had ``min_positives`` positive examples. At most
    ``max_users`` customers per protocol are used (a seeded sample): ten weights do not need more,
    and the examples of a large shop would not fit in memory (customers x ``n_candidates`` rows).
    """
    from sklearn.linear_model import LogisticRegression

    stats = RankingStats.from_dataset(dataset)
    weights, info = {}, {}
    for mode, holdout in holdouts.items():
        if holdout is None or holdout.n_users == 0:
            continue
        if holdout.n_users > max_users:
            keep = np.sort(np.random.default_rng(seed).choice(holdout.n_users, max_users, replace=False))
            holdout = dataclasses.replace(holdout, users=holdout.users[keep], rows=holdout.rows[keep],
                                          relevant=[holdout.relevant[i] for i in keep])
        scores = score_rows(holdout.rows)
        exclude = dataset.purchased[holdout.rows] if mode == DISCOVERY else None
        pos, items, x = candidate_features(scores, holdout.rows, stats, mode, exclude, n_candidates)
        truth = [set(dataset.item_map.to_internal(list(r), strict=False).tolist()) for r in holdout.relevant]
        y = np.fromiter((it in truth[p] for p, it in zip(pos, items)), dtype=bool, count=len(pos))
        if y.sum() < min_positives or y.all():
            info[mode] = {"skipped": f"{int(y.sum())} positive examples (< {min_positives})"}
            continue
        mean, std = x.mean(axis=0), x.std(axis=0)
        std[std == 0] = 1.0
        lr = LogisticRegression(C=1.0 / l2, max_iter=2000).fit((x - mean) / std, y)
        weights[mode] = (lr.coef_[0] / std).astype(np.float64)
        info[mode] = {"examples": int(len(y)), "positives": int(y.sum()), "users": int(holdout.n_users)}
    if not weights:
        return None
    return LinearRanker(weights, info)


def fit_on_validation(scorer_for: Callable[[InteractionDataset], Callable[[np.ndarray], np.ndarray]],
                      split, users, items, settings, validation_days: float, *,
                      n_candidates: int = 200) -> LinearRanker | None:
    """Fit a ranker for a model family on the validation window at the end of ``split``'s training data.

    ``scorer_for(dataset)`` trains the model on the history before the window (``dataset``) and
    returns its ``score_rows``. The same window as the hyper-parameter search: the holdout stays unseen.
    """
    from reco_pipeline.evaluate.protocol import build_holdout
    from reco_pipeline.featurize.dataset import build_dataset
    from reco_pipeline.featurize.split import temporal_split

    val_split = temporal_split(split.train, validation_days)
    ds = build_dataset(val_split, users, items, settings)
    holdouts = {mode: build_holdout(ds, val_split.holdout, ds.positive_event_types, mode) for mode in MODES}
    if all(h.n_users == 0 for h in holdouts.values()):
        return None
    ranker = fit_ranker(scorer_for(ds), ds, holdouts, n_candidates=n_candidates)
    if ranker is not None:
        ranker.info.update(validation_cutoff=str(val_split.cutoff), validation_days=validation_days)
    return ranker
