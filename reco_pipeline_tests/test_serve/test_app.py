"""The service over HTTP (FastAPI's test client) against a real registered model in a SQLite MLflow."""

import threading

import numpy as np
import pytest
from fastapi.testclient import TestClient

from reco_pipeline.collect.landing import LandingArea
from reco_pipeline.publish.promotion import decide_promotion
from reco_pipeline.publish.registry import apply_decision, log_and_register
from reco_pipeline.publish.store import MlflowStore
from reco_pipeline.publish.tracking import finish_run, log_params_metrics, start_run
from reco_pipeline.serve.app import create_app
from reco_pipeline.settings import ProjectPaths
from reco_pipeline.train.model import TrainSettings, fit_lightfm
from reco_pipeline.train.ranker import fit_on_validation
from reco_pipeline_tests.conftest import TINY_TRAIN


def register(store, rec, promote=True, metric=0.1):
    run_id = start_run(store, "t", {})
    log_params_metrics(store, run_id, {}, {"ndcg_at_10": metric})
    mv = log_and_register(store, run_id, rec, list(rec.user_map.external_ids[:3]))
    finish_run(store, run_id)
    if promote:
        apply_decision(store, mv.version, decide_promotion("ndcg@10", metric, None))
    return str(mv.version)


@pytest.fixture(scope="module")
def served(tmp_path_factory, tiny_trained, tiny_dataset, tiny_split, tiny_raw):
    # Served as the pipeline publishes it: LightFM with its learned ranking stage.
    ranker = fit_on_validation(lambda ds: fit_lightfm(ds, TINY_TRAIN).recommender.score_known, tiny_split,
                               tiny_raw.users, tiny_raw.items, tiny_dataset.settings, 25)
    rec = tiny_trained.recommender.with_ranker(ranker, tiny_dataset)
    assert rec.reranks
    home = tmp_path_factory.mktemp("serve") / "home"
    store = MlflowStore.for_home(home)
    register(store, rec)
    app = create_app(store, LandingArea(ProjectPaths.resolve(home).landing), poll_seconds=0)
    with TestClient(app) as client:
        yield client, rec, store, home


def known_buyer(rec):
    return rec.user_map.external_ids[int(np.argmax(np.diff(rec.purchased.indptr)))]


def test_health_model_and_openapi(served):
    client, rec, *_ = served
    assert client.get("/health").json()["status"] == "ok"
    info = client.get("/model").json()
    assert info["version"] == "1" and info["alias"] == "champion" and info["metrics"]["ndcg_at_10"] == 0.1
    assert set(info["ranking_stage"]) == {"discovery", "buy_again"}  # the learned weights, readable
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/recommendations/{user_id}", "/recommendations", "/similar-items/{item_id}", "/events"} <= set(paths)


def test_known_user_matches_the_recommender_and_excludes_purchases(served):
    client, rec, *_ = served
    user = known_buyer(rec)
    body = client.get(f"/recommendations/{user}", params={"k": 10}).json()
    assert body["fallback"] is None and body["model_version"] == "1" and len(body["items"]) == 10
    expected = rec.recommend([user], 10)["item_id"].tolist()
    assert [i["item_id"] for i in body["items"]] == expected
    bought = set(rec.item_map.to_external(rec.purchased[rec.user_map.to_internal([user])[0]].indices))
    assert not bought & {i["item_id"] for i in body["items"]}
    everything = client.get(f"/recommendations/{user}", params={"k": rec.item_map.size,
                                                                "exclude_purchased": "false"}).json()
    assert bought <= {i["item_id"] for i in everything["items"]}


def test_filters(served):
    client, rec, *_ = served
    user = rec.user_map.external_ids[0]
    cat = rec.categories[0]
    only = client.get(f"/recommendations/{user}", params={"k": 5, "categories": cat}).json()["items"]
    assert only and {i["category"] for i in only} == {cat}
    without = client.get(f"/recommendations/{user}", params={"k": 50, "exclude_categories": cat}).json()["items"]
    assert cat not in {i["category"] for i in without}
    first = [i["item_id"] for i in client.get(f"/recommendations/{user}", params={"k": 3}).json()["items"]]
    after = client.get(f"/recommendations/{user}", params={"k": 3, "exclude_items": ",".join(first[:2])}).json()
    assert not set(first[:2]) & {i["item_id"] for i in after["items"]}


def test_cold_start_paths(served, tiny_raw):
    client, rec, *_ = served
    unknown = client.get("/recommendations/never-seen", params={"k": 5}).json()
    assert unknown["fallback"] == "popularity" and len(unknown["items"]) == 5
    attrs = tiny_raw.users.iloc[0][["country", "age_band"]].to_dict()
    by_features = client.post("/recommendations", json={"attributes": attrs, "k": 5}).json()
    assert by_features["fallback"] is None and by_features["source"] == "features"
    assert [i["item_id"] for i in by_features["items"]] != [i["item_id"] for i in unknown["items"]]
    viewed = rec.item_map.external_ids[:2].tolist()
    session = client.post("/recommendations", json={"recent_items": viewed, "k": 5}).json()
    assert session["source"] == "features" and not set(viewed) & {i["item_id"] for i in session["items"]}
    nothing = client.post("/recommendations", json={"attributes": {"country": "Atlantis"}}).json()
    assert nothing["fallback"] == "popularity"


def test_similar_items_known_and_new(served, tiny_raw):
    client, rec, *_ = served
    item = rec.item_map.external_ids[0]
    sims = client.get(f"/similar-items/{item}", params={"k": 4}).json()["items"]
    assert len(sims) == 4 and item not in {s["item_id"] for s in sims}
    row = tiny_raw.items.set_index("item_id").loc[item]
    new = client.post("/similar-items", json={"attributes": {"title": row["title"], "category": row["category"]},
                                              "k": 4}).json()["items"]
    assert len(new) == 4 and sum(s["category"] == row["category"] for s in new) >= 3
    assert client.get("/similar-items/no-such-item").status_code == 404


def test_events_are_durable_and_idempotent(served):
    client, rec, store, home = served
    landing = LandingArea(ProjectPaths.resolve(home).landing)
    before = landing.status().max_seq
    ev = {"event_id": "e-1", "user_id": "u1", "item_id": rec.item_map.external_ids[0], "event_type": "purchase",
          "timestamp": "2024-12-01T10:00:00+01:00", "quantity": 2}
    r1 = client.post("/events", json=ev).json()
    r2 = client.post("/events", json=[ev, {**ev, "event_id": "e-2"}]).json()
    assert r1["accepted"] == 1 and r2 == {"accepted": 1, "duplicates": 1, "event_ids": ["e-1", "e-2"]}
    # Without an id, an identical retry is recognised by content.
    anon = {k: v for k, v in ev.items() if k != "event_id"}
    assert client.post("/events", json=anon).json()["accepted"] == 1
    assert client.post("/events", json=anon).json()["duplicates"] == 1
    landed = landing.read()
    assert landing.status(after_seq=before).new_events == 3  # seq is monotonic, not dense
    row = landed[landed["event_id"] == "e-1"].iloc[0]
    assert str(row["timestamp"]) == "2024-12-01 09:00:00"  # converted to naive UTC


@pytest.mark.parametrize("method,url,payload,status", [
    ("get", "/recommendations/u?k=0", None, 422),
    ("get", "/recommendations/u?k=100000", None, 422),
    ("get", "/recommendations/u?categories=nope", None, 400),
    ("post", "/events", {"user_id": "u"}, 422),
    ("post", "/events", {"user_id": "u", "item_id": "i", "event_type": "teleport"}, 422),
    ("post", "/events", {"user_id": "u", "item_id": "i", "event_type": "view", "timestamp": "yesterday"}, 422),
    ("post", "/events", [], 400),
    ("post", "/recommendations", {"k": -1}, 422),
    ("post", "/similar-items", {"attributes": {"title": "zzzz qqqq"}}, 400),
])
def test_client_mistakes_get_4xx_with_a_json_reason(served, method, url, payload, status):
    client = served[0]
    resp = client.get(url) if method == "get" else client.post(url, json=payload)
    assert resp.status_code == status, resp.text
    assert resp.json()["detail"]


def test_payload_too_large(served):
    client = served[0]
    resp = client.post("/events", content=b"[" + b" " * 6_000_000 + b"]", headers={"content-type": "application/json"})
    assert resp.status_code == 413 and "too large" in resp.json()["detail"]


def test_no_model_yet_is_503_not_500(tmp_path):
    store = MlflowStore.for_home(tmp_path / "empty")
    app = create_app(store, LandingArea(tmp_path / "landing"), poll_seconds=0)
    with TestClient(app) as client:
        assert client.get("/health").json()["status"] == "no_model"
        resp = client.get("/recommendations/u")
        assert resp.status_code == 503 and "reco run" in resp.json()["detail"]


def test_hot_swap_under_load(tmp_path, tiny_dataset, tiny_trained):
    store = MlflowStore.for_home(tmp_path / "home")
    register(store, tiny_trained.recommender)
    other = fit_lightfm(tiny_dataset, TrainSettings(**{**TINY_TRAIN.params(), "seed": 123})).recommender
    app = create_app(store, LandingArea(tmp_path / "landing"), poll_seconds=0.05)
    user = tiny_trained.recommender.user_map.external_ids[0]
    expected = {"1": tiny_trained.recommender.recommend([user], 5)["item_id"].tolist(),
                "2": other.recommend([user], 5)["item_id"].tolist()}
    assert expected["1"] != expected["2"]
    seen, errors, stop = [], [], threading.Event()
    with TestClient(app) as client:
        def hammer():
            while not stop.is_set():
                r = client.get(f"/recommendations/{user}", params={"k": 5})
                if r.status_code != 200:
                    errors.append(r.status_code)
                    continue
                body = r.json()
                # Every answer is wholly from one version: never a mix.
                if [i["item_id"] for i in body["items"]] != expected[body["model_version"]]:
                    errors.append("mixed")
                seen.append(body["model_version"])

        threads = [threading.Thread(target=hammer) for _ in range(3)]
        for t in threads:
            t.start()
        version = register(store, other, promote=False)
        apply_decision(store, version, decide_promotion("ndcg@10", 0.2, 0.1, "1"))
        for _ in range(200):
            if seen and seen[-1] == "2":
                break
            threading.Event().wait(0.05)
        threading.Event().wait(0.2)
        stop.set()
        for t in threads:
            t.join()
    assert not errors
    assert seen[0] == "1" and seen[-1] == "2"


def test_buy_again_mode_is_selectable_per_request(served):
    client, rec, *_ = served
    user = known_buyer(rec)
    counts = rec.purchase_counts[rec.user_map.to_internal([user])[0]]
    again = client.get(f"/recommendations/{user}", params={"k": 10, "mode": "buy_again", "repeat_weight": 50}).json()
    bought = set(rec.item_map.to_external(counts.indices))
    # With a heavy repeat weight the customer's own purchases come first.
    assert {i["item_id"] for i in again["items"][:min(len(bought), 10)]} <= bought
    assert client.get(f"/recommendations/{user}", params={"mode": "nonsense"}).status_code == 422
    # Without a weight, the model's own buy-again ranking answers (learned weights when it has a
    # ranking stage): the same list as the library call.
    learned = client.get(f"/recommendations/{user}", params={"k": 10, "mode": "buy_again"}).json()
    expected = rec.recommend([user], 10, mode="buy_again", exclude_purchased=False)
    assert [i["item_id"] for i in learned["items"]] == list(expected["item_id"])
