import dataclasses

import numpy as np
import pandas as pd
import pytest

from reco_pipeline.evaluate.metrics import per_user_metrics
from reco_pipeline.evaluate.protocol import Holdout
from reco_pipeline.featurize.dataset import FeaturizeSettings, build_dataset
from reco_pipeline.featurize.split import TemporalSplit
from reco_pipeline.featurize.weights import DEFAULT_EVENT_WEIGHTS
from reco_pipeline.recommender import Recommender
from reco_pipeline.train.model import fit_lightfm
from reco_pipeline.train.ranker import (
    BUY_AGAIN,
    DISCOVERY,
    FEATURES,
    RankingStats,
    fit_on_validation,
    fit_ranker,
)
from reco_pipeline_tests.conftest import TINY_TRAIN, events


def test_purchase_timing_counts_days_not_order_lines():
    ev = events([
        ("u1", "a", "2024-01-01 10:00", "purchase"),
        ("u1", "a", "2024-01-01 10:00", "purchase"),  # a second line of the same order
        ("u1", "a", "2024-01-05 09:00", "purchase"),
        ("u1", "b", "2024-01-02 12:00", "purchase"),
        ("u2", "b", "2024-01-03 12:00", "view"),
    ])
    split = TemporalSplit(ev, ev.iloc[:0], pd.Timestamp("2024-01-10"), pd.Timestamp("2024-01-20"))
    ds = build_dataset(split, pd.DataFrame(), pd.DataFrame(), FeaturizeSettings(DEFAULT_EVENT_WEIGHTS))
    u1, a, b = ds.user_map.index_of("u1"), ds.item_map.index_of("a"), ds.item_map.index_of("b")
    assert ds.purchase_counts[u1, a] == 3 and ds.purchase_days[u1, a] == 2
    assert ds.days_since_purchase[u1, a] == pytest.approx(4 + 15 / 24)
    assert ds.days_since_purchase[u1, b] == pytest.approx(7.5)
    assert ds.purchase_days[ds.user_map.index_of("u2"), b] == 0  # a view is not a purchase
    assert ds.item_age_days[a] == pytest.approx(9 - 10 / 24)


def _holdout(dataset, protocol, relevant_idx):
    rows = np.arange(len(relevant_idx))
    users = dataset.user_map.to_external(rows)
    relevant = [set(dataset.item_map.to_external(r)) for r in relevant_idx]
    keep = [i for i, r in enumerate(relevant) if r]
    return Holdout(protocol, users[keep], rows[keep], [relevant[i] for i in keep])


def _ndcg(scores, holdout, dataset, exclude=None):
    s = scores.astype(float).copy()
    if exclude is not None:
        s[exclude.toarray() > 0] = -np.inf
    top = np.argsort(-s, axis=1, kind="stable")[:, :10]
    ranked = [list(dataset.item_map.to_external(t)) for t in top]
    return float(per_user_metrics(ranked, holdout.relevant, 10)["ndcg"].mean())


def test_ranker_learns_that_trending_items_sell(tiny_dataset):
    """Constructed truth: customers buy what sold most in the last weeks; the model score is noise."""
    rng = np.random.default_rng(0)
    n_users = 150
    trending = np.argsort(-tiny_dataset.recent_popularity, kind="stable")
    relevant = []
    for u in range(n_users):
        bought = set(tiny_dataset.purchased[u].indices)
        relevant.append([i for i in trending[:25] if i not in bought and rng.random() < 0.5])
    holdout = _holdout(tiny_dataset, DISCOVERY, relevant)
    noise = rng.normal(size=(tiny_dataset.shape[0], tiny_dataset.shape[1]))
    ranker = fit_ranker(lambda rows: noise[rows], tiny_dataset, {DISCOVERY: holdout}, n_candidates=150)
    w = dict(zip(FEATURES[DISCOVERY], ranker.weights[DISCOVERY]))
    assert w["log_recent_buyers"] > 0
    stats = RankingStats.from_dataset(tiny_dataset)
    exclude = tiny_dataset.purchased[holdout.rows]
    reranked = ranker.score(noise[holdout.rows], holdout.rows, stats, DISCOVERY)
    assert _ndcg(reranked, holdout, tiny_dataset, exclude) > 2 * _ndcg(noise[holdout.rows], holdout, tiny_dataset, exclude)


def test_ranker_learns_that_frequent_buyers_rebuy(tiny_dataset):
    """Constructed truth: each customer re-buys the items they bought on the most separate days."""
    days = tiny_dataset.purchase_days.tocsr()
    relevant = []
    for u in range(200):
        row = days[u]
        relevant.append(list(row.indices[row.data >= max(2, row.data.max(initial=0))]))
    holdout = _holdout(tiny_dataset, BUY_AGAIN, relevant)
    assert holdout.n_users > 20
    noise = np.random.default_rng(1).normal(size=tiny_dataset.shape)
    ranker = fit_ranker(lambda rows: noise[rows], tiny_dataset, {BUY_AGAIN: holdout})
    w = dict(zip(FEATURES[BUY_AGAIN], ranker.weights[BUY_AGAIN]))
    # Frequency enters through two correlated features (days, and days as a share of the customer's
    # most-bought item); their combined weight is what must be positive.
    assert w["log_purchase_days"] + w["purchase_day_share"] > 0
    stats = RankingStats.from_dataset(tiny_dataset)
    reranked = ranker.score(noise[holdout.rows], holdout.rows, stats, BUY_AGAIN)
    assert _ndcg(reranked, holdout, tiny_dataset) > _ndcg(noise[holdout.rows], holdout, tiny_dataset) + 0.3


@pytest.fixture(scope="module")
def tiny_ranker(tiny_split, tiny_raw):
    settings = FeaturizeSettings(DEFAULT_EVENT_WEIGHTS)
    return fit_on_validation(lambda ds: fit_lightfm(ds, TINY_TRAIN).recommender.score_known, tiny_split,
                             tiny_raw.users, tiny_raw.items, settings, 25)


def test_fit_on_validation_is_deterministic_and_never_sees_the_holdout(tiny_split, tiny_raw, tiny_ranker):
    assert set(tiny_ranker.weights) == {DISCOVERY, BUY_AGAIN}
    assert pd.Timestamp(tiny_ranker.info["validation_cutoff"]) < tiny_split.cutoff
    # Scramble the holdout (the test window): the fitted weights must not move.
    scrambled = dataclasses.replace(tiny_split, holdout=tiny_split.holdout.assign(
        item_id=tiny_split.holdout["item_id"].sample(frac=1.0, random_state=3).to_numpy()))
    again = fit_on_validation(lambda ds: fit_lightfm(ds, TINY_TRAIN).recommender.score_known, scrambled,
                              tiny_raw.users, tiny_raw.items, FeaturizeSettings(DEFAULT_EVENT_WEIGHTS), 25)
    for mode in tiny_ranker.weights:
        assert np.array_equal(again.weights[mode], tiny_ranker.weights[mode])


def test_recommender_with_ranker_agrees_between_batch_and_single_paths(tiny_dataset, tiny_trained, tiny_ranker):
    rec = tiny_trained.recommender.with_ranker(tiny_ranker, tiny_dataset)
    assert rec.reranks and not tiny_trained.recommender.reranks
    users = list(tiny_dataset.user_map.external_ids[:25])
    for mode, exclude_purchased in ((DISCOVERY, True), (BUY_AGAIN, False)):
        batch = rec.recommend(users, 10, mode=mode, exclude_purchased=exclude_purchased)
        for u in users:
            idx, _, _ = rec.recommend_one(u, 10, mode=mode, exclude_purchased=exclude_purchased)
            assert list(rec.item_map.to_external(idx)) == list(batch[batch["user_id"] == u]["item_id"])
    raw = rec.recommend(users, 10, rerank=False)
    assert raw.equals(tiny_trained.recommender.recommend(users, 10))
    assert not raw["item_id"].equals(rec.recommend(users, 10)["item_id"])
    with pytest.raises(ValueError, match="unknown mode"):
        rec.recommend(users, 10, mode="surprise")


def test_buy_again_ranks_a_customers_staples_first(tiny_dataset, tiny_trained, tiny_ranker):
    rec = tiny_trained.recommender.with_ranker(tiny_ranker, tiny_dataset)
    assert dict(zip(FEATURES[BUY_AGAIN], tiny_ranker.weights[BUY_AGAIN]))["bought"] > 0
    days = tiny_dataset.purchase_days.tocsr()
    u = int(np.argmax(np.asarray(days.max(axis=1).toarray()).ravel()))
    staple = tiny_dataset.item_map.external_ids[days[u].indices[np.argmax(days[u].data)]]
    top = rec.recommend([tiny_dataset.user_map.external_ids[u]], 5, mode=BUY_AGAIN, exclude_purchased=False)
    assert staple in set(top["item_id"])


def test_models_saved_before_the_ranking_stage_still_load(tiny_trained):
    old = Recommender.__new__(Recommender)
    old.__dict__.update({k: v for k, v in tiny_trained.recommender.__dict__.items()
                         if k not in ("ranker", "ranking_stats")})
    assert not old.reranks
    assert old.recommend(["nobody"], 3)["source"].eq("popularity").all()


def test_new_customers_and_the_fallback_are_not_reranked(tiny_dataset, tiny_trained, tiny_raw, tiny_ranker):
    """The ranker learned from known customers only; vectors from attributes or a session keep the
    plain hybrid score, and unknown ids keep the popularity fallback."""
    plain = tiny_trained.recommender
    rec = plain.with_ranker(tiny_ranker, tiny_dataset)
    attrs = tiny_raw.users.drop(columns=["user_id"]).iloc[0].to_dict()
    vec, _ = rec.user_vector_from(attrs, list(tiny_dataset.item_map.external_ids[:2]))
    assert np.array_equal(rec.recommend_one(None, 10, vector=vec)[0], plain.recommend_one(None, 10, vector=vec)[0])
    mixed = [tiny_dataset.user_map.external_ids[0], "nobody"]
    a, b = rec.recommend(mixed, 10), plain.recommend(mixed, 10)
    assert a[a["user_id"] == "nobody"].equals(b[b["user_id"] == "nobody"])


def test_large_validation_sets_are_sampled_reproducibly(tiny_dataset):
    rng = np.random.default_rng(0)
    trending = np.argsort(-tiny_dataset.recent_popularity, kind="stable")
    relevant = [[i for i in trending[:25] if rng.random() < 0.5] for _ in range(200)]
    holdout = _holdout(tiny_dataset, DISCOVERY, relevant)
    seen = []

    def scores(rows):
        seen.append(len(rows))
        return np.random.default_rng(1).normal(size=(len(rows), tiny_dataset.shape[1]))

    a = fit_ranker(scores, tiny_dataset, {DISCOVERY: holdout}, max_users=60)
    b = fit_ranker(scores, tiny_dataset, {DISCOVERY: holdout}, max_users=60)
    assert seen == [60, 60] and a.info[DISCOVERY]["users"] == 60
    assert np.array_equal(a.weights[DISCOVERY], b.weights[DISCOVERY])
