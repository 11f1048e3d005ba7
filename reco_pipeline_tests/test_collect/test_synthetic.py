import pandas as pd

from reco_pipeline.collect.synthetic import SyntheticParams, generate
from reco_pipeline.schema import Columns, EventType
from reco_pipeline_tests.conftest import TINY


def test_same_seed_same_data_other_seed_other_data(tiny_raw):
    again = generate(TINY)
    pd.testing.assert_frame_equal(tiny_raw.interactions, again.interactions)
    other = generate(SyntheticParams(**{**TINY.__dict__, "seed": TINY.seed + 1}))
    assert not other.interactions[Columns.Item].equals(tiny_raw.interactions[Columns.Item])


def test_funnel_all_event_types_and_ratings(tiny_raw):
    counts = tiny_raw.interactions[Columns.EventType].value_counts()
    assert counts[EventType.VIEW] > counts[EventType.ADD_TO_CART] > counts[EventType.PURCHASE] > counts[EventType.REVIEW] > 0
    ratings = tiny_raw.interactions.loc[tiny_raw.interactions[Columns.EventType] == EventType.REVIEW, Columns.Rating]
    assert ratings.between(1, 5).all() and ratings.nunique() >= 3


def test_popularity_is_skewed(tiny_raw):
    buys = tiny_raw.interactions[tiny_raw.interactions[Columns.EventType] == EventType.PURCHASE]
    per_item = buys[Columns.Item].value_counts()
    top_decile = per_item.head(max(1, len(per_item) // 10)).sum()
    assert top_decile / per_item.sum() > 0.25  # Zipf-like head, not uniform (uniform would be ~0.10)


def test_late_users_and_late_items_exist(tiny_raw):
    ev = tiny_raw.interactions.dropna(subset=[Columns.User])
    ev = ev[ev[Columns.Datetime] < pd.Timestamp("2090-01-01")]
    first_user = ev.groupby(Columns.User)[Columns.Datetime].min()
    first_item = ev.groupby(Columns.Item)[Columns.Datetime].min()
    late = ev[Columns.Datetime].max() - pd.Timedelta(days=30)
    assert (first_user > late).sum() > 0 and (first_item > late).sum() > 0


def test_dirt_is_planted_at_the_configured_share():
    clean = generate(SyntheticParams(**{**TINY.__dict__, "dirty_share": 0.0}))
    assert clean.interactions[Columns.User].notna().all()
    dirty = generate(SyntheticParams(**{**TINY.__dict__, "dirty_share": 0.01}))
    assert dirty.interactions[Columns.User].isna().sum() > 0
