"""Honest baselines: what a retailer gets with a few lines of code. A model that cannot beat
these on the same holdout is not worth deploying."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.neighbors import NearestNeighbors

from reco_pipeline.featurize.dataset import InteractionDataset
from reco_pipeline.recommender import top_k


def popularity_scores(dataset: InteractionDataset, n_users: int) -> np.ndarray:
    """Every user gets the same ranking: items by the number of distinct buyers before the cutoff."""
    return np.broadcast_to(dataset.item_popularity.astype(float), (n_users, dataset.shape[1]))


def recent_popularity_scores(dataset: InteractionDataset, n_users: int) -> np.ndarray:
    """Popularity over the last weeks before the cutoff only: what is selling now, not all year."""
    pop = dataset.recent_popularity if dataset.recent_popularity is not None else dataset.item_popularity
    # Ties (items nobody bought recently) fall back to all-time popularity, scaled below one buyer.
    tiebreak = dataset.item_popularity / (dataset.item_popularity.max() + 1.0)
    return np.broadcast_to(pop + tiebreak, (n_users, dataset.shape[1]))


def repeat_buy_scores(dataset: InteractionDataset, rows: np.ndarray) -> np.ndarray:
    """The user's own purchase counts (ties broken by popularity): the buy-again reference."""
    counts = dataset.purchase_counts if dataset.purchase_counts is not None else dataset.purchased
    tiebreak = dataset.item_popularity / (dataset.item_popularity.max() + 1.0)
    return counts[rows].toarray().astype(np.float64) + tiebreak[None, :]


class EASE:
    """Embarrassingly Shallow Autoencoder (Steck, 2019): a closed-form item-item model.

    ``B = I - P / diag(P)`` with ``P = (X^T X + lambda I)^-1`` and a zero diagonal; a user's scores
    are their binary interaction row times ``B``. Strong on retail baskets, cheap up to ~20k items.
    """

    def __init__(self, dataset: InteractionDataset, l2: float = 300.0):
        self.x = (dataset.interactions.tocsr() > 0).astype(np.float64)
        gram = np.asarray((self.x.T @ self.x).todense())
        gram[np.diag_indices_from(gram)] += l2
        p = np.linalg.inv(gram)
        self.b = -p / np.diag(p)[None, :]
        self.b[np.diag_indices_from(self.b)] = 0.0

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.x[rows] @ self.b)


class UserKNN:
    """User-based cosine nearest neighbours (scikit-learn ``NearestNeighbors``, brute force).

    A user's score for an item is the similarity-weighted sum over their ``n_neighbors`` most
    similar users (excluding themselves) of those users' interaction strengths.
    """

    def __init__(self, dataset: InteractionDataset, n_neighbors: int = 50):
        self.matrix = dataset.weights.tocsr().astype(np.float64)
        self.n_neighbors = min(n_neighbors, self.matrix.shape[0] - 1)
        self.nn = NearestNeighbors(metric="cosine", algorithm="brute").fit(self.matrix)

    def scores(self, rows: np.ndarray) -> np.ndarray:
        if self.n_neighbors < 1:
            return np.zeros((len(rows), self.matrix.shape[1]))
        dist, nbrs = self.nn.kneighbors(self.matrix[rows], n_neighbors=self.n_neighbors + 1)
        sims = 1.0 - dist
        own = nbrs == rows[:, None]
        sims[own] = 0.0  # a user is not their own neighbour
        n, m = nbrs.shape
        weights = sp.csr_matrix((sims.ravel(), (np.repeat(np.arange(n), m), nbrs.ravel())),
                                shape=(n, self.matrix.shape[0]))
        return np.asarray((weights @ self.matrix).todense())


def rank_rows(scores: np.ndarray, exclude: sp.csr_matrix | None, k: int) -> np.ndarray:
    """Top-k item indices per row after removing excluded items (ties: lower index first)."""
    s = np.array(scores, dtype=np.float64, copy=True)
    if exclude is not None:
        s[exclude.toarray() > 0] = -np.inf
    idx, vals = top_k(s, k)
    return np.where(np.isfinite(vals), idx, -1)
