import numpy as np

from reco_pipeline.evaluate.baselines import UserKNN, rank_rows
from reco_pipeline.evaluate.protocol import (
    BASELINE,
    BUY_AGAIN,
    CANDIDATE,
    CHAMPION,
    build_holdout,
    discovery_holdout,
    evaluate_all,
)
from reco_pipeline.schema import Columns


def test_discovery_truth_excludes_items_bought_before_the_cutoff(tiny_dataset, tiny_split):
    h = discovery_holdout(tiny_dataset, tiny_split.holdout, ["purchase"])
    assert h.n_users > 20
    for user, row, truth in zip(h.users, h.rows, h.relevant):
        bought = set(tiny_dataset.item_map.to_external(tiny_dataset.purchased[row].indices))
        assert truth and not (truth & bought)
        assert truth <= set(tiny_dataset.item_map.external_ids)
        holdout_buys = tiny_split.holdout[(tiny_split.holdout[Columns.User] == user)
                                          & (tiny_split.holdout[Columns.EventType] == "purchase")]
        assert truth <= set(holdout_buys[Columns.Item])


def test_no_holdout_event_reaches_training(tiny_dataset, tiny_split):
    assert tiny_split.train[Columns.Datetime].max() < tiny_dataset.cutoff
    rows, cols = tiny_dataset.purchased.nonzero()
    train_buys = tiny_split.train[tiny_split.train[Columns.EventType] == "purchase"]
    purchased = set(zip(tiny_dataset.user_map.to_external(rows), tiny_dataset.item_map.to_external(cols)))
    assert purchased and purchased <= set(zip(train_buys[Columns.User], train_buys[Columns.Item]))


def test_report_has_candidate_baselines_and_champion(tiny_dataset, tiny_split, tiny_trained):
    h = discovery_holdout(tiny_dataset, tiny_split.holdout, ["purchase"])
    report = evaluate_all(tiny_trained.recommender, tiny_dataset, h, k=10, curve_ks=(1, 5, 10),
                          champion=tiny_trained.recommender)
    roles = {m.name: m.role for m in report.models}
    assert roles == {"lightfm_hybrid": CANDIDATE, "popularity": BASELINE, "recent_popularity": BASELINE,
                     "user_knn_50": BASELINE, "ease": BASELINE, "champion": CHAMPION}
    # The same model as champion must score exactly the same: the comparison is apples to apples.
    assert report.champion.metrics == report.candidate.metrics
    # On data with real taste structure, the model beats popularity.
    assert report.candidate.metrics["ndcg@10"] > report.get("popularity").metrics["ndcg@10"]
    assert set(report.candidate.curve) == {1, 5, 10}
    assert "| lightfm_hybrid | candidate |" in report.to_markdown()
    assert len(report.candidate.per_user) == h.n_users


def test_knn_never_recommends_excluded_items(tiny_dataset):
    rows = np.arange(10)
    knn = UserKNN(tiny_dataset, n_neighbors=5)
    excl = tiny_dataset.purchased[rows]
    idx = rank_rows(knn.scores(rows), excl, 10)
    for r, row in zip(rows, idx):
        assert not set(row[row >= 0]) & set(tiny_dataset.purchased[r].indices)


def test_a_champion_from_another_catalogue_is_flagged(tiny_dataset, tiny_split, tiny_trained):
    import copy

    from reco_pipeline.featurize.idmap import IdMap

    h = discovery_holdout(tiny_dataset, tiny_split.holdout, ["purchase"])
    stranger = copy.copy(tiny_trained.recommender)
    stranger.item_map = IdMap.from_values([f"other-{i}" for i in range(stranger.item_map.size)])
    report = evaluate_all(tiny_trained.recommender, tiny_dataset, h, curve_ks=(10,), champion=stranger)
    assert "not comparable" in report.champion.note
    same = evaluate_all(tiny_trained.recommender, tiny_dataset, h, curve_ks=(10,), champion=tiny_trained.recommender)
    assert same.champion.note == ""


def test_buy_again_protocol_counts_repeats_and_has_repeat_baselines(tiny_dataset, tiny_split, tiny_trained):
    h = build_holdout(tiny_dataset, tiny_split.holdout, ["purchase"], BUY_AGAIN)
    disc = discovery_holdout(tiny_dataset, tiny_split.holdout, ["purchase"])
    assert h.n_relevant >= disc.n_relevant and not h.exclude_purchased
    repeats = sum(len(t & set(tiny_dataset.item_map.to_external(tiny_dataset.purchased[r].indices)))
                  for r, t in zip(h.rows, h.relevant))
    assert repeats > 0  # the tiny shop has re-orders, so this protocol differs from discovery
    report = evaluate_all(tiny_trained.recommender, tiny_dataset, h, curve_ks=(10,))
    names = {m.name for m in report.models}
    assert {"repeat_buy", "lightfm_buy_again_blend"} <= names
    # Repeat-buy must recommend what the user bought before: its hits include repeats.
    assert report.get("repeat_buy").metrics["recall@10"] > 0


def test_ease_scores_known_structure():
    """Two items always bought together: EASE scores one highly for a user who has the other."""
    import scipy.sparse as sp
    from types import SimpleNamespace

    from reco_pipeline.evaluate.baselines import EASE

    x = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 0, 0]], dtype=np.float32))
    ease = EASE(SimpleNamespace(interactions=x), l2=0.5)
    s = ease.scores(np.array([3]))[0]
    assert s[1] > s[2] and s[1] > s[3]
    assert np.allclose(np.diag(ease.b), 0)


def test_cold_slices_use_attributes_only(tiny_dataset, tiny_split, tiny_trained, tiny_raw):
    from reco_pipeline.evaluate.slices import cold_item_slice, cold_user_slice

    users = cold_user_slice(tiny_trained.recommender, tiny_dataset, tiny_split.holdout, tiny_raw.users, k=10)
    assert users is not None and set(users["model"]) == {"lightfm_hybrid", "recent_popularity", "ease_fold_in"}
    assert users["users"].iloc[0] > 0
    cold_users = set(tiny_split.holdout["user_id"]) - set(tiny_dataset.user_map.external_ids)
    assert cold_users and not cold_users & set(tiny_dataset.user_map.external_ids)

    items = cold_item_slice(tiny_trained.recommender, tiny_dataset, tiny_split.holdout, tiny_raw.items, k=10)
    assert items is not None and set(items["model"]) == {"lightfm_hybrid", "category_popularity"}
    assert items["cold_items"].iloc[0] >= 2
    assert ((items["ndcg@10"] >= 0) & (items["ndcg@10"] <= 1)).all()


def test_vectors_from_attributes_have_the_folded_layout(tiny_trained, tiny_raw, tiny_dataset):
    """Products described only by attributes get finite vectors in the same layout as trained ones."""
    rec = tiny_trained.recommender
    table = tiny_raw.items[tiny_raw.items["item_id"].isin(rec.item_map.external_ids[:5])].sort_values("item_id")
    vecs = rec.item_vectors_from_table(table)
    assert vecs.shape == (len(table), rec.item_vectors.shape[1]) and np.isfinite(vecs).all()
    assert np.allclose(vecs[:, -2], 1.0)  # folded layout [i, 1, b_i]


def _report(candidate: float, raw: float | None):
    import pandas as pd

    from reco_pipeline.evaluate.protocol import BASELINE, CANDIDATE, EvaluationReport, ModelEvaluation

    models = [ModelEvaluation("lightfm_hybrid", CANDIDATE, {"ndcg@10": candidate}, {}, pd.DataFrame())]
    if raw is not None:
        models.append(ModelEvaluation("lightfm_raw", BASELINE, {"ndcg@10": raw}, {}, pd.DataFrame()))
    return EvaluationReport("discovery", 10, 5, 5, 10, models)


def test_ranking_stage_check_warns_when_the_stage_loses_to_lightfm_alone():
    from reco_pipeline.evaluate.assets import ranking_stage_helps

    assert ranking_stage_helps(_report(0.2, 0.1)).passed
    worse = ranking_stage_helps(_report(0.1, 0.2))
    assert not worse.passed and worse.severity.value == "WARN"
    assert "0.10000 with the stage vs 0.20000 without" in str(worse.metadata["discovery_ndcg@10"])
    assert ranking_stage_helps(_report(0.1, None)).passed  # stage switched off: nothing to compare
