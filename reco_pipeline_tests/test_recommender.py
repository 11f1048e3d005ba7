import numpy as np

from reco_pipeline.recommender import FALLBACK_POPULARITY, SOURCE_FEATURES, top_k
from reco_pipeline.schema import Columns


def test_top_k_order_and_ties():
    s = np.array([[0.1, 0.9, 0.9, -np.inf, 0.5]])
    idx, vals = top_k(s, 3)
    assert idx.tolist() == [[1, 2, 4]] and vals.tolist() == [[0.9, 0.9, 0.5]]
    idx, _ = top_k(s, 10)
    assert idx.shape == (1, 5) and idx[0, -1] == 3


def test_recommend_excludes_purchases_and_falls_back_for_unknown_users(tiny_trained, tiny_dataset):
    rec = tiny_trained.recommender
    user = tiny_dataset.user_map.external_ids[int(np.argmax(np.diff(tiny_dataset.purchased.indptr)))]
    out = rec.recommend([user, "never-seen"], k=10)
    mine = out[out[Columns.User] == user]
    bought = set(tiny_dataset.item_map.to_external(tiny_dataset.purchased[tiny_dataset.user_map.to_internal([user])[0]].indices))
    assert len(mine) == 10 and not set(mine[Columns.Item]) & bought
    assert mine[Columns.Rank].tolist() == list(range(1, 11)) and mine[Columns.Score].is_monotonic_decreasing
    stranger = out[out[Columns.User] == "never-seen"]
    assert (stranger["source"] == FALLBACK_POPULARITY).all()
    top_pop = tiny_dataset.item_map.external_ids[np.argsort(-tiny_dataset.item_popularity, kind="stable")[:10]]
    assert stranger[Columns.Item].tolist() == top_pop.tolist()
    with_bought = rec.recommend([user], k=rec.item_map.size, exclude_purchased=False)
    assert bought <= set(with_bought[Columns.Item])


def test_filters(tiny_trained):
    rec = tiny_trained.recommender
    user = rec.user_map.external_ids[0]
    first = rec.recommend([user], 5)[Columns.Item].tolist()
    again = rec.recommend([user], 5, exclude_items=first[:2])[Columns.Item].tolist()
    assert not set(first[:2]) & set(again) and again[:3] == first[2:5]
    mask = rec.item_categories == rec.item_categories[0]
    only = rec.recommend([user], 5, item_mask=mask)
    assert set(rec.item_categories[rec.item_map.to_internal(only[Columns.Item])]) == {rec.item_categories[0]}


def test_cold_user_from_attributes_uses_feature_embeddings(tiny_trained, tiny_raw):
    rec = tiny_trained.recommender
    attrs = tiny_raw.users.iloc[0][["country", "age_band"]].to_dict()
    vec, source = rec.user_vector_from(attrs)
    assert source == SOURCE_FEATURES and vec.shape == (rec.item_vectors.shape[1],)
    other, _ = rec.user_vector_from({"country": "Poland", "age_band": "65+"})
    assert not np.allclose(vec, other)
    assert rec.user_vector_from({"country": "Atlantis"}) == (None, FALLBACK_POPULARITY)


def test_similar_items(tiny_trained):
    rec = tiny_trained.recommender
    item = rec.item_map.external_ids[0]
    sims = rec.similar_items(item, k=5)
    assert len(sims) == 5 and item not in set(sims[Columns.Item])
    assert sims[Columns.Score].is_monotonic_decreasing
