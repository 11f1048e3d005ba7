import numpy as np
import pytest
import scipy.sparse as sp

from reco_pipeline.evaluate.metrics import coverage, per_user_metrics, summarize


def test_hand_computed_case():
    recs = [["a", "b", "c"], ["x", "y", "z"]]
    rel = [{"b", "d"}, {"q"}]
    m = per_user_metrics(recs, rel, k=3)
    assert m["precision"].tolist() == pytest.approx([1 / 3, 0.0])
    assert m["recall"].tolist() == pytest.approx([0.5, 0.0])
    # DCG = 1/log2(3); IDCG = 1 + 1/log2(3)
    assert m["ndcg"][0] == pytest.approx((1 / np.log2(3)) / (1 + 1 / np.log2(3)))
    # AP@3 = (precision@2 * 1) / min(3, 2) = 0.5 / 2
    assert m["map"][0] == pytest.approx(0.25)
    assert summarize(recs, rel, 3, catalogue_size=12)["coverage@3"] == pytest.approx(0.5)


def test_perfect_ranking_scores_one():
    m = per_user_metrics([["a", "b"]], [{"a", "b"}], k=2)
    assert m.iloc[0].tolist() == pytest.approx([1.0, 1.0, 1.0, 1.0])


def test_short_lists_and_empty_truth():
    m = per_user_metrics([["a"]], [{"a"}], k=5)
    assert m["precision"][0] == pytest.approx(0.2) and m["ndcg"][0] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        per_user_metrics([["a"]], [set()], k=5)
    assert coverage([["a"], ["a", "b"]], 4, k=1) == 0.25


def test_precision_and_recall_match_lightfm_evaluation(tiny_dataset, tiny_trained):
    """Our metric code against LightFM's own, on the same model, users and truth."""
    from lightfm.evaluation import precision_at_k, recall_at_k

    ds, rec, k = tiny_dataset, tiny_trained.recommender, 5
    rng = np.random.default_rng(0)
    truth = sp.random(ds.shape[0], ds.shape[1], density=0.02, random_state=rng, format="csr")
    truth.data[:] = 1.0
    truth = truth - truth.multiply(ds.interactions.tocsr() > 0)  # LightFM excludes train interactions
    truth.eliminate_zeros()
    kw = dict(user_features=ds.user_features, item_features=ds.item_features, train_interactions=ds.interactions,
              k=k, num_threads=1)
    lf_prec = precision_at_k(rec.model, truth, **kw)
    lf_rec = recall_at_k(rec.model, truth, **kw)

    users = np.flatnonzero(np.diff(truth.indptr))
    scores = rec.score_known(users)
    scores[ds.interactions.tocsr()[users].toarray() > 0] = -np.inf
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    ext = ds.item_map.external_ids
    recs = [[ext[i] for i in row] for row in top]
    rel = [set(ext[truth[u].indices]) for u in users]
    ours = per_user_metrics(recs, rel, k)
    assert ours["precision"].mean() == pytest.approx(lf_prec.mean(), abs=1e-6)
    assert ours["recall"].mean() == pytest.approx(lf_rec.mean(), abs=1e-6)


def test_novelty_is_mean_self_information_by_hand():
    from reco_pipeline.evaluate.metrics import novelty, self_information

    # 7 customers: "a" bought by 3, "b" by 1, "c" by nobody -> -log2((n+1)/8) = 1, 2, 3 bits.
    info = self_information(["a", "b", "c"], np.array([3, 1, 0]), 7)
    assert info == pytest.approx({"a": 1.0, "b": 2.0, "c": 3.0})
    # user 1: (1 + 2) / 2; user 2: "c" and an unknown new product (counted as the most novel, 3) -> 3;
    # a user with an empty list does not count; k cuts the lists.
    assert novelty([["a", "b", "c"], ["c", "new"], []], info, k=2) == pytest.approx((1.5 + 3.0) / 2)
    assert novelty([["a"]], info, k=10) < novelty([["c"]], info, k=10)
