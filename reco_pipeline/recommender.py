"""Scoring: the one implementation of "top-k items for these users" used everywhere.

Evaluation, batch publishing, the MLflow pyfunc and the HTTP service all call
:class:`Recommender`, so the model that was measured is the model that answers.

LightFM's score is ``u . i + b_u + b_i``. Folding the biases into two extra columns
(``[u, b_u, 1]`` and ``[i, 1, b_i]``) turns scoring into one matrix product followed by a
partial sort (``argpartition``), instead of LightFM's ``predict`` over every (user, item) pair.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from reco_pipeline.featurize.features import AttributeEncoder, normalize_rows
from reco_pipeline.featurize.idmap import IdMap
from reco_pipeline.schema import Columns
from reco_pipeline.train.ranker import BUY_AGAIN, DISCOVERY, MODES, LinearRanker, RankingStats, standardise_rows

FALLBACK_POPULARITY = "popularity"
SOURCE_MODEL = "model"
SOURCE_FEATURES = "features"


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the ``k`` largest scores per row, best first.

    ``argpartition`` selects the k best in linear time (no negated copy of the matrix: the largest
    k land at the end), then only those k are sorted, by score and then by the lower index, so
    equal scores always come out in the same order. ``-inf`` (excluded) items sort last.
    """
    n = scores.shape[1]
    k = min(k, n)
    if k <= 0:
        return np.empty((scores.shape[0], 0), dtype=np.int64), np.empty((scores.shape[0], 0))
    part = np.argpartition(scores, n - k, axis=1)[:, n - k:] if k < n else np.tile(np.arange(n), (scores.shape[0], 1))
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -vals), axis=1)
    idx = np.take_along_axis(part, order, axis=1)
    return idx, np.take_along_axis(vals, order, axis=1)


def fold_biases(user_emb: np.ndarray, user_bias: np.ndarray, item_emb: np.ndarray,
                item_bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uv = np.hstack([user_emb, user_bias[:, None], np.ones((len(user_emb), 1), user_emb.dtype)])
    iv = np.hstack([item_emb, np.ones((len(item_emb), 1), item_emb.dtype), item_bias[:, None]])
    return np.ascontiguousarray(uv, dtype=np.float32), np.ascontiguousarray(iv, dtype=np.float32)


@dataclass
class Recommender:
    """A trained LightFM model with everything needed to answer in external ids.

    Parameters
    ----------
    model : lightfm.LightFM
        The fitted model (kept so the artefact can be refit, inspected or scored with ``predict``).
    user_vectors, item_vectors : ndarray
        Precomputed representations with biases folded in (see module docstring).
    purchased : csr_matrix
        Items each known user already bought; excluded by default.
    popularity : ndarray
        Fallback ranking for users the model knows nothing about.
    """

    model: object
    user_map: IdMap
    item_map: IdMap
    user_vectors: np.ndarray
    item_vectors: np.ndarray
    user_encoder: AttributeEncoder | None
    item_encoder: AttributeEncoder | None
    user_identity: bool
    item_identity: bool
    purchased: sp.csr_matrix
    popularity: np.ndarray
    item_categories: np.ndarray
    info: dict = field(default_factory=dict)
    item_titles: np.ndarray | None = None
    purchase_counts: sp.csr_matrix | None = None
    ranker: LinearRanker | None = None  # learned ranking stage (train/ranker.py); None: rank by the model score
    ranking_stats: RankingStats | None = None  # what the ranker knows at the cutoff

    def with_ranker(self, ranker: LinearRanker | None, dataset) -> "Recommender":
        """A copy that ranks through ``ranker`` with ``dataset``'s statistics (same users and items)."""
        from dataclasses import replace

        return replace(self, ranker=ranker, ranking_stats=RankingStats.from_dataset(dataset) if ranker else None)

    @property
    def reranks(self) -> bool:
        # getattr: models pickled before the ranking stage existed have no such attribute.
        return getattr(self, "ranker", None) is not None and getattr(self, "ranking_stats", None) is not None

    @classmethod
    def from_model(cls, model, dataset, info: Mapping | None = None) -> "Recommender":
        ub, ue = model.get_user_representations(dataset.user_features)
        ib, ie = model.get_item_representations(dataset.item_features)
        uv, iv = fold_biases(ue, ub, ie, ib)
        return cls(model=model, user_map=dataset.user_map, item_map=dataset.item_map, user_vectors=uv,
                   item_vectors=iv, user_encoder=dataset.user_encoder, item_encoder=dataset.item_encoder,
                   user_identity=dataset.user_identity, item_identity=dataset.item_identity,
                   purchased=dataset.purchased.tocsr(), popularity=np.asarray(dataset.item_popularity, float),
                   item_categories=dataset.item_categories, info=dict(info or {}),
                   item_titles=dataset.item_titles,
                   purchase_counts=dataset.purchase_counts.tocsr() if dataset.purchase_counts is not None else None)

    # ------------------------------------------------------------------ scoring
    def _exclude(self, scores: np.ndarray, rows: np.ndarray, user_ids: Sequence[str], exclude_purchased: bool,
                 exclude: Mapping[str, Iterable[str]] | None, exclude_items: Iterable[str] | None,
                 item_mask: np.ndarray | None) -> None:
        """Set excluded items to ``-inf`` in place, straight from the sparse purchase rows (no dense mask)."""
        if exclude_purchased:
            known = np.flatnonzero(rows >= 0)
            if len(known):
                sub = self.purchased[rows[known]]
                scores[np.repeat(known, np.diff(sub.indptr)), sub.indices] = -np.inf
        if exclude:
            for r, u in enumerate(user_ids):
                items = exclude.get(u)
                if items:
                    idx = self.item_map.to_internal(items, strict=False)
                    scores[r, idx[idx >= 0]] = -np.inf
        if exclude_items:
            idx = self.item_map.to_internal(list(exclude_items), strict=False)
            scores[:, idx[idx >= 0]] = -np.inf
        if item_mask is not None:
            scores[:, ~item_mask] = -np.inf

    def _rescore(self, scores: np.ndarray, rows: np.ndarray, mode: str, rerank: bool,
                 repeat_weight: float | None) -> np.ndarray:
        """Raw model scores -> what is ranked.

        An explicit ``repeat_weight`` asks for the hand-set buy-again blend; otherwise the learned
        ranker (when the model has one and ``rerank``) scores for ``mode``; buy-again on a model without
        a ranker falls back to the blend with weight 1.
        """
        if mode not in MODES:
            raise ValueError(f"unknown mode '{mode}'; use one of {list(MODES)}")
        if repeat_weight:
            return self._blend_repeats(scores, rows, repeat_weight)
        if rerank and self.reranks:
            # Only customers the model knows: the ranker learned from them. New customers (attribute or
            # session vectors) and the popularity fallback keep their scores; on Online Retail's cold
            # customers the learned weights scored lower than the plain hybrid score.
            known = rows >= 0
            if known.all():
                return self.ranker.score(scores, rows, self.ranking_stats, mode)
            out = np.array(scores, dtype=np.float32, copy=True)
            if known.any():
                out[known] = self.ranker.score(scores[known], rows[known], self.ranking_stats, mode)
            return out
        if mode == BUY_AGAIN and rerank:
            return self._blend_repeats(scores, rows, 1.0)
        return scores

    def _blend_repeats(self, scores: np.ndarray, rows: np.ndarray, weight: float) -> np.ndarray:
        """Buy-again mode: per-user standardised model score + ``weight * log1p(times bought)``.

        Standardising puts the model's arbitrary score scale on a footing with the purchase counts.
        """
        counts = self.purchase_counts if self.purchase_counts is not None else self.purchased
        out = standardise_rows(scores)
        known = np.flatnonzero(rows >= 0)
        if len(known):
            out[known] += weight * np.log1p(counts[rows[known]].toarray())
        return out.astype(np.float32)

    def titles_of(self, item_ids: Iterable[str]) -> list[str | None]:
        if self.item_titles is None:
            return [None for _ in item_ids]
        idx = self.item_map.to_internal(list(item_ids), strict=False)
        return [self.item_titles[i] if i >= 0 else None for i in idx]

    def score_known(self, rows: np.ndarray) -> np.ndarray:
        return self.user_vectors[rows] @ self.item_vectors.T

    def recommend(
        self,
        user_ids: Sequence[str],
        k: int = 10,
        *,
        exclude_purchased: bool = True,
        exclude: Mapping[str, Iterable[str]] | None = None,
        exclude_items: Iterable[str] | None = None,
        item_mask: np.ndarray | None = None,
        mode: str = DISCOVERY,
        rerank: bool = True,
        repeat_weight: float | None = None,
        batch_size: int = 2048,
    ) -> pd.DataFrame:
        """Top-``k`` items per user, in external ids; unknown users get the popularity fallback.

        ``mode`` picks the ranker's weights (``discovery`` or ``buy_again``); it does not change
        exclusions: pass ``exclude_purchased=False`` for re-orders. ``rerank=False`` ranks by the
        raw LightFM score. Returns a long frame ``user_id, item_id, rank (1-based), score, source``.
        """
        user_ids = [str(u) for u in user_ids]
        rows = self.user_map.to_internal(user_ids, strict=False)
        frames = []
        for start in range(0, len(user_ids), batch_size):
            sl = slice(start, start + batch_size)
            r, ids = rows[sl], user_ids[sl]
            known = r >= 0
            if known.all():
                scores = self.score_known(r)
            else:
                scores = np.empty((len(ids), self.item_map.size), dtype=np.float32)
                if known.any():
                    scores[known] = self.score_known(r[known])
                scores[~known] = self.popularity[None, :]
            scores = self._rescore(scores, r, mode, rerank, repeat_weight)
            self._exclude(scores, r, ids, exclude_purchased, exclude, exclude_items, item_mask)
            idx, vals = top_k(scores, k)
            frames.append(self._frame(ids, idx, vals, np.where(known, SOURCE_MODEL, FALLBACK_POPULARITY)))
        if not frames:
            return self._frame([], np.empty((0, 0), int), np.empty((0, 0)), np.array([]))
        return pd.concat(frames, ignore_index=True)

    def _frame(self, ids, idx, vals, source) -> pd.DataFrame:
        n, k = idx.shape
        valid = np.isfinite(vals)
        return pd.DataFrame(
            {
                Columns.User: np.repeat(np.asarray(ids, dtype=object), k)[valid.ravel()],
                Columns.Item: self.item_map.to_external(idx.ravel()[valid.ravel()]) if n else np.array([], object),
                Columns.Rank: np.tile(np.arange(1, k + 1), n)[valid.ravel()],
                Columns.Score: vals.ravel()[valid.ravel()].astype(np.float64),
                "source": np.repeat(np.asarray(source, dtype=object), k)[valid.ravel()],
            }
        )

    def recommend_one(
        self,
        user_id: str | None = None,
        k: int = 10,
        *,
        vector: np.ndarray | None = None,
        exclude_purchased: bool = True,
        exclude_items: Iterable[str] | None = None,
        item_mask: np.ndarray | None = None,
        mode: str = DISCOVERY,
        rerank: bool = True,
        repeat_weight: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray, str]:
        """The real-time path for one request: one vector-matrix product and a partial sort, no pandas.

        Scores from ``vector`` when given (a cold user), else from the known user's vector, else
        popularity. Returns ``(item indices, scores, source)``; excluded items never appear.
        """
        row = self.user_map.index_of(user_id) if user_id is not None else -1
        if vector is not None:
            scores, source = self.item_vectors @ vector.astype(np.float32), SOURCE_FEATURES
        elif row >= 0:
            scores, source = self.item_vectors @ self.user_vectors[row], SOURCE_MODEL
        else:
            scores, source = self.popularity.astype(np.float32), FALLBACK_POPULARITY
        scores = self._rescore(scores[None, :], np.array([row if vector is None else -1]), mode, rerank,
                               repeat_weight)[0]
        if exclude_purchased and row >= 0:
            scores[self.purchased.indices[self.purchased.indptr[row]:self.purchased.indptr[row + 1]]] = -np.inf
        if exclude_items:
            idx = np.fromiter((self.item_map.index_of(i) for i in exclude_items), dtype=np.int64)
            scores[idx[idx >= 0]] = -np.inf
        if item_mask is not None:
            scores[~item_mask] = -np.inf
        idx, vals = top_k(scores[None, :], k)
        keep = np.isfinite(vals[0])
        return idx[0][keep], vals[0][keep], source

    def category_mask(self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None) -> np.ndarray | None:
        """Boolean mask over items for category filters; None when there is no filter."""
        include, exclude = list(include or []), list(exclude or [])
        if not include and not exclude:
            return None
        cats = self.item_categories
        mask = np.isin(cats, include) if include else np.ones(len(cats), dtype=bool)
        if exclude:
            mask &= ~np.isin(cats, exclude)
        return mask

    @property
    def categories(self) -> list[str]:
        return sorted({c for c in self.item_categories if c is not None})

    # --------------------------------------------------------------- cold start
    def user_vector_from(self, attributes: Mapping[str, object] | None = None,
                         recent_items: Iterable[str] | None = None) -> tuple[np.ndarray | None, str]:
        """A representation for a user the model has never seen.

        LightFM represents a user as the sum of their features' embeddings, so known attributes give
        a real embedding. Items the user just interacted with add the mean of those items' vectors.
        Returns ``(vector or None, source)``; ``None`` means nothing usable was known.
        """
        parts = []
        if attributes and self.user_encoder is not None and self.user_encoder.size:
            names = self.user_encoder.feature_names_of(attributes)
            if names:
                offset = self.user_map.size if self.user_identity else 0
                width = offset + self.user_encoder.size
                cols = [offset + self.user_encoder.vocabulary[n] for n in names]
                x = normalize_rows(sp.csr_matrix((np.ones(len(cols)), ([0] * len(cols), cols)), shape=(1, width)))
                ub, ue = self.model.get_user_representations(x)
                parts.append(np.concatenate([ue[0], [ub[0], 1.0]]).astype(np.float32))
        if recent_items:
            idx = self.item_map.to_internal(list(recent_items), strict=False)
            idx = idx[idx >= 0]
            if len(idx):
                # Item vectors are [i, 1, b_i]; as a user vector we want [i, 0, 1] (keep the item bias term).
                mean_item = self.item_vectors[idx, :-2].mean(axis=0)
                parts.append(np.concatenate([mean_item, [0.0, 1.0]]).astype(np.float32))
        if not parts:
            return None, FALLBACK_POPULARITY
        vec = np.sum(parts, axis=0)
        vec[-1] = 1.0  # the item-bias column is counted once
        return vec, SOURCE_FEATURES

    def item_vector_from(self, attributes: Mapping[str, object]) -> np.ndarray | None:
        """Embedding of a product the model has never seen, from its attributes (title, category, price)."""
        if self.item_encoder is None or not self.item_encoder.size:
            return None
        names = self.item_encoder.feature_names_of(attributes)
        if not names:
            return None
        offset = self.item_map.size if self.item_identity else 0
        cols = [offset + self.item_encoder.vocabulary[n] for n in names]
        x = normalize_rows(sp.csr_matrix((np.ones(len(cols)), ([0] * len(cols), cols)),
                                         shape=(1, offset + self.item_encoder.size)))
        _, emb = self.model.get_item_representations(x)
        return emb[0].astype(np.float32)

    def user_vectors_from_table(self, table: pd.DataFrame) -> np.ndarray:
        """Folded vectors ``[u, b_u, 1]`` for users the model has never seen, from their attributes only."""
        return self._vectors_from_table(table, self.user_encoder, self.user_identity, self.user_map.size, users=True)

    def item_vectors_from_table(self, table: pd.DataFrame) -> np.ndarray:
        """Folded vectors ``[i, 1, b_i]`` for products the model has never seen, from their attributes only."""
        return self._vectors_from_table(table, self.item_encoder, self.item_identity, self.item_map.size, users=False)

    def _vectors_from_table(self, table, encoder, identity, n_known, users: bool) -> np.ndarray:
        d = self.item_vectors.shape[1] - 2
        if encoder is None or not encoder.size or table.empty:
            return np.zeros((len(table), d + 2), dtype=np.float32)
        offset = n_known if identity else 0
        attrs = encoder.transform(table.reset_index(drop=True))
        x = normalize_rows(sp.hstack([sp.csr_matrix((len(table), offset), dtype=np.float32), attrs], format="csr"))
        if users:
            b, e = self.model.get_user_representations(x)
            return fold_biases(e, b, e[:0], b[:0])[0]
        b, e = self.model.get_item_representations(x)
        return fold_biases(e[:0], b[:0], e, b)[1]

    def similar_items(self, item_id: str | None = None, k: int = 10, *, vector: np.ndarray | None = None) -> pd.DataFrame:
        """Items whose embeddings point the same way (cosine), without the item itself.

        Pass ``item_id`` for a known item or ``vector`` (from :meth:`item_vector_from`) for a new one.
        """
        emb = self.item_vectors[:, :-2]
        norms = np.linalg.norm(emb, axis=1)
        norms[norms == 0] = 1.0
        if vector is None:
            i = self.item_map.to_internal([item_id])[0]
            vector, own = emb[i], i
        else:
            own = None
        vnorm = float(np.linalg.norm(vector)) or 1.0
        sims = (emb @ vector) / (norms * vnorm)
        if own is not None:
            sims[own] = -np.inf
        idx, vals = top_k(sims[None, :], k)
        return pd.DataFrame({Columns.Item: self.item_map.to_external(idx[0]), Columns.Rank: np.arange(1, idx.shape[1] + 1),
                             Columns.Score: vals[0]})
