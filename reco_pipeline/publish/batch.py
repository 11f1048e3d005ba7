from __future__ import annotations

from pathlib import Path

import pandas as pd

from reco_pipeline.recommender import Recommender
from reco_pipeline.schema import Columns


def batch_recommendations(recommender: Recommender, user_ids, k: int, exclude_purchased: bool = True) -> pd.DataFrame:
    """Top-k for every user, the table a shop loads into email campaigns or a cache."""
    recs = recommender.recommend(sorted({str(u) for u in user_ids}), k, exclude_purchased=exclude_purchased)
    return recs[[Columns.User, Columns.Item, Columns.Rank, Columns.Score, "source"]]


def write_parquet_atomically(df: pd.DataFrame, path: Path) -> Path:
    """Write to a temporary name and rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    df.to_parquet(tmp, index=False)
    tmp.replace(path)
    return path
