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
