"""Content features for users (demographics) and items (category, title words, price band).

Features are named strings (``country=France``, ``word=teapot``, ``price_band=3``) so a model's
feature embeddings can be read by a person and a brand-new user or item can be encoded from its
attributes alone: that is what makes the hybrid model work for cold start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

from reco_pipeline.schema import Columns

_TOKEN_PATTERN = r"(?u)\b[^\W\d_]{2,}\b"  # words of 2+ letters; sizes and codes are noise here


@dataclass(frozen=True)
class AttributeEncoder:
    """Maps an entity's attributes to named features, with a vocabulary fixed at fit time."""

    categorical: tuple[str, ...]
    numeric_edges: Mapping[str, tuple[float, ...]]
    text_column: str | None
    vocabulary: Mapping[str, int]

    @property
    def names(self) -> list[str]:
        return sorted(self.vocabulary, key=self.vocabulary.__getitem__)

    @property
    def size(self) -> int:
        return len(self.vocabulary)

    def feature_names_of(self, attrs: Mapping[str, object]) -> list[str]:
        """Known feature names for one entity's attributes (unknown values are ignored)."""
        out: list[str] = []
        for col in self.categorical:
            v = attrs.get(col)
            if v is not None and not _isna(v):
                out.append(f"{col}={v}")
        for col, edges in self.numeric_edges.items():
            v = attrs.get(col)
            if v is not None and not _isna(v):
                out.append(f"{col}_band={int(np.searchsorted(edges, float(v), side='right'))}")
        if self.text_column:
            text = attrs.get(self.text_column)
            if text is not None and not _isna(text):
                out.extend(f"word={t}" for t in _analyzer()(str(text)))
        return [f for f in dict.fromkeys(out) if f in self.vocabulary]

    def transform(self, table: pd.DataFrame) -> sp.csr_matrix:
        """Binary matrix ``len(table) x size``; row order follows ``table``."""
        rows, cols = [], []
        for r, attrs in enumerate(table.to_dict("records")):
            idx = [self.vocabulary[f] for f in self.feature_names_of(attrs)]
            rows.extend([r] * len(idx))
            cols.extend(idx)
        data = np.ones(len(rows), dtype=np.float32)
        return sp.csr_matrix((data, (rows, cols)), shape=(len(table), self.size), dtype=np.float32)


def fit_encoder(
    table: pd.DataFrame,
    key: str,
    *,
    columns: Sequence[str] | None = None,
    text_column: str | None = None,
    max_categories: int = 200,
    numeric_bins: int = 5,
    min_df: int = 2,
    max_text_features: int = 3000,
) -> AttributeEncoder:
    """Learn which attributes become features.

    String columns with at most ``max_categories`` values are one-hot; numeric columns are cut
    into ``numeric_bins`` quantile bands; ``text_column`` is tokenised (words seen in at least
    ``min_df`` entities, the ``max_text_features`` most frequent). Dates and ids are ignored.
    """
    candidates = [c for c in (columns if columns is not None else table.columns) if c != key and c in table.columns]
    categorical, edges = [], {}
    for col in candidates:
        s = table[col]
        if col == text_column or pd.api.types.is_datetime64_any_dtype(s) or pd.api.types.is_bool_dtype(s):
            continue
        if pd.api.types.is_numeric_dtype(s):
            qs = np.unique(np.nanquantile(s.dropna().to_numpy(dtype=float), np.linspace(0, 1, numeric_bins + 1)[1:-1])) \
                if s.notna().any() else np.array([])
            edges[col] = tuple(float(q) for q in qs)
        elif 1 <= s.nunique(dropna=True) <= max_categories:
            categorical.append(col)

    names: list[str] = []
    for col in categorical:
        names.extend(f"{col}={v}" for v in sorted(table[col].dropna().astype(str).unique()))
    for col, e in edges.items():
        names.extend(f"{col}_band={b}" for b in range(len(e) + 1))
    if text_column and text_column in table.columns and table[text_column].notna().any():
        docs = table[text_column].fillna("").astype(str)
        vec = CountVectorizer(token_pattern=_TOKEN_PATTERN, lowercase=True, binary=True,
                              min_df=min(min_df, max(1, len(docs))), max_features=max_text_features)
        try:
            vec.fit(docs)
            names.extend(f"word={w}" for w in sorted(vec.vocabulary_))
        except ValueError:  # empty vocabulary: every title is empty or too rare; no word features then
            pass
    else:
        text_column = None
    return AttributeEncoder(tuple(categorical), edges, text_column, {n: i for i, n in enumerate(names)})


def feature_matrix(
    ids: np.ndarray,
    table: pd.DataFrame | None,
    key: str,
    encoder: AttributeEncoder | None,
    identity: bool,
    identity_weight: float | None = None,
) -> sp.csr_matrix:
    """``[identity | attributes]`` for the entities in ``ids`` order, rows normalised to sum 1.

    Row normalisation (as LightFM's own ``Dataset`` does) keeps an entity with many features from
    getting a larger embedding norm than one with few. By default every feature of a row weighs the
    same, so an item with six title words keeps only 1/7 of its own (collaborative) embedding;
    ``identity_weight`` instead gives the identity feature that share of the row and splits the
    rest evenly over the attributes (rows without attributes keep identity 1).
    """
    attrs = None
    if encoder is not None and encoder.size:
        aligned = pd.DataFrame({key: ids}).merge(table, on=key, how="left") if table is not None else pd.DataFrame({key: ids})
        attrs = encoder.transform(aligned)
    if not identity and attrs is None:
        raise ValueError("feature_matrix: neither identity nor attribute features; enable at least one")
    if not identity:
        return normalize_rows(attrs)
    eye = sp.identity(len(ids), format="csr", dtype=np.float32)
    if attrs is None:
        return eye
    if identity_weight is None:
        return normalize_rows(sp.hstack([eye, attrs], format="csr", dtype=np.float32))
    has_attrs = np.asarray(attrs.sum(axis=1)).ravel() > 0
    eye = sp.diags(np.where(has_attrs, identity_weight, 1.0).astype(np.float32)) @ eye
    attrs = normalize_rows(attrs) * (1.0 - identity_weight)
    return sp.csr_matrix(sp.hstack([eye, attrs], format="csr"), dtype=np.float32)


def normalize_rows(m: sp.csr_matrix) -> sp.csr_matrix:
    sums = np.asarray(m.sum(axis=1)).ravel()
    sums[sums == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / sums).dot(m), dtype=np.float32)


def item_text_column(items: pd.DataFrame) -> str | None:
    return Columns.Title if Columns.Title in items.columns else None


def _analyzer():
    global _ANALYZER
    if _ANALYZER is None:
        _ANALYZER = CountVectorizer(token_pattern=_TOKEN_PATTERN, lowercase=True).build_analyzer()
    return _ANALYZER


_ANALYZER = None


def _isna(v: object) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False
