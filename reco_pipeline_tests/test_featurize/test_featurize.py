import numpy as np
import pandas as pd
import pytest

from reco_pipeline.featurize.dataset import FeaturizeSettings, build_dataset
from reco_pipeline.featurize.features import feature_matrix, fit_encoder
from reco_pipeline.featurize.idmap import IdMap, UnknownIdError
from reco_pipeline.featurize.split import temporal_split
from reco_pipeline.featurize.weights import DEFAULT_EVENT_WEIGHTS, aggregate_strength, event_weights, recency_decay
from reco_pipeline.schema import Columns
from reco_pipeline_tests.conftest import events


def test_idmap_round_trip_and_unknowns():
    m = IdMap.from_values(["b", "a", "c", "a"])
    assert m.external_ids.tolist() == ["a", "b", "c"]
    assert m.to_internal(["c", "a"]).tolist() == [2, 0]
    assert m.to_internal(["zz"], strict=False).tolist() == [-1]
    with pytest.raises(UnknownIdError):
        m.to_internal(["zz"])
    assert m.to_external([1]).tolist() == ["b"] and "a" in m and "zz" not in m


def test_event_weights_reviews_and_returns():
    df = events([("u", "i", "2024-01-01", "view"), ("u", "i", "2024-01-01", "return"),
                 ("u", "i", "2024-01-01", "review", None, None, 5), ("u", "i", "2024-01-01", "review", None, None, 1),
                 ("u", "i", "2024-01-01", "teleport")])
    w = event_weights(df, DEFAULT_EVENT_WEIGHTS).tolist()
    assert w == [1.0, 0.0, DEFAULT_EVENT_WEIGHTS["review"], 0.0, 0.0]


def test_recency_half_life():
    ts = pd.Series(pd.to_datetime(["2024-01-11", "2024-01-01"]))
    assert np.allclose(recency_decay(ts, pd.Timestamp("2024-01-11"), 10.0), [1.0, 0.5])
    assert np.allclose(recency_decay(ts, pd.Timestamp("2024-01-11"), None), [1.0, 1.0])


def test_strength_drops_pairs_with_only_returns():
    df = events([("u", "i1", "2024-01-01", "purchase"), ("u", "i2", "2024-01-01", "return")])
    agg = aggregate_strength(df, DEFAULT_EVENT_WEIGHTS, pd.Timestamp("2024-01-01"), None)
    assert agg[Columns.Item].tolist() == ["i1"]
    assert np.isclose(agg[Columns.Weight][0], np.log1p(DEFAULT_EVENT_WEIGHTS["purchase"]))


def test_temporal_split_is_by_time():
    df = events([("u", "i", f"2024-01-{d:02d}", "view") for d in range(1, 31)])
    split = temporal_split(df, holdout_days=10)
    assert split.cutoff == pd.Timestamp("2024-01-20")
    assert split.train[Columns.Datetime].max() < split.cutoff <= split.holdout[Columns.Datetime].min()
    assert len(split.train) + len(split.holdout) == 30
    with pytest.raises(ValueError, match="holdout window"):
        temporal_split(df, holdout_days=100)


def test_encoder_features_and_cold_encoding():
    items = pd.DataFrame({Columns.Item: ["a", "b", "c"], Columns.Title: ["RED TEAPOT", "BLUE TEAPOT", "RED MUG"],
                          Columns.Category: ["kitchen", "kitchen", "bar"], Columns.Price: [1.0, 5.0, 9.0]})
    enc = fit_encoder(items, Columns.Item, text_column=Columns.Title, min_df=1, numeric_bins=2)
    assert {"category=kitchen", "word=teapot", "word=red", "price_band=0"} <= set(enc.names)
    new = enc.feature_names_of({Columns.Title: "red lamp", Columns.Category: "kitchen", Columns.Price: 100.0})
    assert set(new) == {"word=red", "category=kitchen", "price_band=1"}  # 'lamp' was never seen: ignored
    m = feature_matrix(np.array(["a", "b"], dtype=object), items, Columns.Item, enc, identity=True)
    assert m.shape == (2, 2 + enc.size)
    assert np.allclose(np.asarray(m.sum(axis=1)).ravel(), 1.0)


def test_dataset_is_built_from_the_training_window_only(tiny_split, tiny_dataset):
    train_pairs = set(zip(tiny_split.train[Columns.User], tiny_split.train[Columns.Item]))
    rows, cols = tiny_dataset.interactions.nonzero()
    pairs = set(zip(tiny_dataset.user_map.to_external(rows), tiny_dataset.item_map.to_external(cols)))
    assert pairs <= train_pairs
    holdout_only_users = set(tiny_split.holdout[Columns.User]) - set(tiny_split.train[Columns.User])
    assert holdout_only_users and not (holdout_only_users & set(tiny_dataset.user_map.external_ids))
    assert tiny_dataset.user_features.shape[0] == tiny_dataset.shape[0]
    assert tiny_dataset.item_features.shape[0] == tiny_dataset.shape[1]
    assert tiny_dataset.user_encoder.size > 0 and tiny_dataset.item_encoder.size > 0
    assert tiny_dataset.purchased.shape == tiny_dataset.shape


def test_dataset_without_features_uses_identity(tiny_split, tiny_raw):
    ds = build_dataset(tiny_split, tiny_raw.users, tiny_raw.items,
                       FeaturizeSettings(DEFAULT_EVENT_WEIGHTS, user_features=False, item_features=False,
                                         identity_features=False))
    assert ds.user_identity and ds.item_identity
    assert ds.user_features.shape[1] == ds.shape[0] and ds.item_features.shape[1] == ds.shape[1]


def test_identity_weight_gives_the_own_feature_a_fixed_share():
    items = pd.DataFrame({Columns.Item: ["a", "b", "c"], Columns.Title: ["RED TEAPOT MUG", "BLUE TEAPOT", None]})
    enc = fit_encoder(items, Columns.Item, text_column=Columns.Title, min_df=1)
    m = feature_matrix(np.array(["a", "b", "c"], dtype=object), items, Columns.Item, enc, identity=True,
                       identity_weight=0.75).toarray()
    assert np.allclose(m.sum(axis=1), 1.0)
    assert m[0, 0] == pytest.approx(0.75) and m[0, 3:].max() == pytest.approx(0.25 / 3)
    assert m[2, 2] == pytest.approx(1.0)  # no attributes: the identity keeps the whole row
    equal = feature_matrix(np.array(["a"], dtype=object), items, Columns.Item, enc, identity=True).toarray()
    assert equal[0, 0] == pytest.approx(1 / 4)  # LightFM's default: identity + 3 words weigh the same
