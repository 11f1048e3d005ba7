from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from reco_pipeline.collect.synthetic import SyntheticParams, generate
from reco_pipeline.featurize.dataset import FeaturizeSettings, build_dataset
from reco_pipeline.featurize.split import temporal_split
from reco_pipeline.featurize.weights import DEFAULT_EVENT_WEIGHTS
from reco_pipeline.schema import Columns
from reco_pipeline.train.model import TrainSettings, fit_lightfm
from reco_pipeline.validate.rules import CleaningRules, clean_interactions, non_product_items

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
ONLINE_RETAIL = SHARED_DATA / "online_retail" / "online_retail.csv.gz"

# Small enough to train in a second or two, large enough that a real model beats popularity.
TINY = SyntheticParams(n_users=400, n_items=150, n_days=150, sessions_per_user=14, seed=7)
TINY_TRAIN = TrainSettings(no_components=16, epochs=8, seed=7)


def tiny_pipeline_settings() -> dict:
    """`reco run` settings for the tiny synthetic shop (used by pipeline and CLI tests)."""
    return {
        "data_source": {"kind": "synthetic", "synthetic_users": TINY.n_users, "synthetic_items": TINY.n_items,
                        "synthetic_days": TINY.n_days, "synthetic_sessions_per_user": TINY.sessions_per_user,
                        "seed": TINY.seed},
        "train": {"no_components": TINY_TRAIN.no_components, "epochs": TINY_TRAIN.epochs, "seed": TINY_TRAIN.seed},
        "search": {"n_trials": 2, "max_epochs": 10, "eval_every": 5, "validation_days": 25},
        "batch": {"k": 10},
    }


def online_retail_path() -> Path:
    if not ONLINE_RETAIL.is_file():
        pytest.skip(f"shared Online Retail file not found at {ONLINE_RETAIL} (tests that need real data are skipped "
                    "outside the workplace that provides ../shared/data)")
    return ONLINE_RETAIL


@pytest.fixture(scope="session")
def tiny_raw():
    return generate(TINY)


@pytest.fixture(scope="session")
def tiny_clean(tiny_raw):
    return clean_interactions(tiny_raw.interactions, CleaningRules(), non_product_items(tiny_raw.items))


@pytest.fixture(scope="session")
def tiny_split(tiny_clean):
    return temporal_split(tiny_clean.valid, holdout_days=30)


@pytest.fixture(scope="session")
def tiny_dataset(tiny_split, tiny_raw):
    return build_dataset(tiny_split, tiny_raw.users, tiny_raw.items, FeaturizeSettings(DEFAULT_EVENT_WEIGHTS))


@pytest.fixture(scope="session")
def tiny_trained(tiny_dataset):
    return fit_lightfm(tiny_dataset, TINY_TRAIN)


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "home"


def events(rows: list[tuple]) -> pd.DataFrame:
    """Hand-made canonical interactions: (user, item, 'YYYY-MM-DD', event_type[, quantity, price, rating])."""
    from reco_pipeline.schema import canonical_interactions

    recs = []
    for r in rows:
        u, i, t, e, *rest = r
        q, p, rating = (list(rest) + [None, None, None])[:3]
        recs.append({Columns.User: u, Columns.Item: i, Columns.Datetime: t, Columns.EventType: e,
                     Columns.Quantity: q, Columns.Price: p, Columns.Rating: rating})
    df = canonical_interactions(pd.DataFrame(recs))
    df[Columns.Row] = range(len(df))
    return df
