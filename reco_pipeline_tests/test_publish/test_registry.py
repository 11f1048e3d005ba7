"""Against a real SQLite MLflow tracking store and registry in a temporary folder."""

import pandas as pd
import pytest

from reco_pipeline.publish.promotion import decide_promotion
from reco_pipeline.publish.pyfunc import load_recommender, save_pyfunc
from reco_pipeline.publish.registry import apply_decision, load_alias, log_and_register
from reco_pipeline.publish.store import MlflowStore
from reco_pipeline.publish.tracking import finish_run, start_run
from reco_pipeline.schema import Columns


@pytest.fixture
def store(tmp_path):
    return MlflowStore.for_home(tmp_path / "home")


def _register(store, rec):
    run_id = start_run(store, "test", {"t": "1"})
    mv = log_and_register(store, run_id, rec, list(rec.user_map.external_ids[:3]))
    finish_run(store, run_id)
    return mv


def test_pyfunc_round_trip_gives_identical_recommendations(tmp_path, tiny_trained):
    rec = tiny_trained.recommender
    path = save_pyfunc(rec, tmp_path / "model", list(rec.user_map.external_ids[:3]))
    back = load_recommender(path)
    users = list(rec.user_map.external_ids[:20]) + ["stranger"]
    pd.testing.assert_frame_equal(rec.recommend(users, 10), back.recommend(users, 10))
    import mlflow.pyfunc

    pyfunc = mlflow.pyfunc.load_model(str(path))
    out = pyfunc.predict(pd.DataFrame({Columns.User: users[:2]}), params={"k": 3})
    assert out[Columns.User].tolist() == [users[0]] * 3 + [users[1]] * 3
    assert pyfunc.metadata.signature is not None
    again = pyfunc.predict(pd.DataFrame({Columns.User: users[:2]}),
                           params={"k": 3, "mode": "buy_again", "exclude_purchased": False})
    pd.testing.assert_frame_equal(again.reset_index(drop=True),
                                  rec.recommend(users[:2], 3, mode="buy_again", exclude_purchased=False))


def test_promotion_sequence_moves_aliases_only_when_better(store, tiny_trained):
    rec = tiny_trained.recommender
    assert load_alias(store) is None

    v1 = _register(store, rec)
    apply_decision(store, v1.version, decide_promotion("ndcg@10", 0.10, None))
    assert store.model_version_by_alias().version == v1.version

    v2 = _register(store, rec)
    apply_decision(store, v2.version, decide_promotion("ndcg@10", 0.10, 0.10, v1.version))  # equal
    assert store.model_version_by_alias().version == v1.version
    assert store.model_version_by_alias("challenger").version == v2.version

    v3 = _register(store, rec)
    apply_decision(store, v3.version, decide_promotion("ndcg@10", 0.08, 0.10, v1.version))  # worse
    assert store.model_version_by_alias().version == v1.version

    v4 = _register(store, rec)
    apply_decision(store, v4.version, decide_promotion("ndcg@10", 0.12, 0.10, v1.version))  # better
    assert store.model_version_by_alias().version == v4.version
    tags = store.client().get_model_version(store.model_name, v4.version).tags
    assert tags["reco.decision.alias"] == "champion" and tags["reco.decision.champion_value"] == "0.1"

    loaded, mv = load_alias(store)
    assert mv.version == v4.version
    users = list(rec.user_map.external_ids[:5])
    pd.testing.assert_frame_equal(loaded.recommend(users, 5), rec.recommend(users, 5))


def test_two_stores_in_one_process_do_not_share_state(tmp_path, tiny_trained):
    a = MlflowStore.for_home(tmp_path / "a")
    b = MlflowStore.for_home(tmp_path / "b")
    _register(a, tiny_trained.recommender)
    assert a.client().search_model_versions(f"name='{a.model_name}'")
    assert not b.client().search_model_versions(f"name='{b.model_name}'")
