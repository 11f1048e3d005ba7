
import pandas as pd
from dagster import DagsterInstance, RunRequest, SkipReason, build_schedule_context, build_sensor_context
from fastapi.testclient import TestClient

from reco_pipeline.collect.landing import LandingArea, LandingStatus
from reco_pipeline.collect.resources import LandingZone
from reco_pipeline.definitions import JOB_NAME, build_definitions, daily_retrain, landing_events_sensor
from reco_pipeline.feedback.policy import retrain_decision
from reco_pipeline.publish.store import MlflowStore
from reco_pipeline.runner import run_pipeline
from reco_pipeline.serve.app import create_app
from reco_pipeline.settings import ProjectPaths
from reco_pipeline_tests.conftest import tiny_pipeline_settings


def test_retrain_policy():
    now = 10_000.0
    assert not retrain_decision(LandingStatus(5, 0, None), 10, 60, now).retrain
    assert retrain_decision(LandingStatus(12, 12, now), 10, 60, now).retrain
    assert not retrain_decision(LandingStatus(3, 3, now - 60), 10, 60, now).retrain
    assert retrain_decision(LandingStatus(3, 3, now - 3601), 10, 60, now).retrain


def _land(home, n, start=0, ts="2024-12-20T12:00:00"):
    LandingArea(ProjectPaths.resolve(home).landing).append(
        [{"event_id": f"ev-{start + i}", "user_id": f"U{i % 50:06d}", "item_id": f"P{i % 40:05d}",
          "event_type": "purchase", "timestamp": ts} for i in range(n)])


def test_sensor_requests_one_run_per_new_batch_and_never_twice(tmp_path):
    home = tmp_path / "home"
    landing = LandingZone(home=str(home), min_new_events=5, max_wait_minutes=60)
    with DagsterInstance.ephemeral() as instance:
        ctx = build_sensor_context(instance=instance, resources={"landing": landing})
        assert isinstance(landing_events_sensor(ctx), SkipReason)  # nothing landed yet
        _land(home, 3)
        assert isinstance(landing_events_sensor(ctx), SkipReason)  # below the minimum, not old enough
        _land(home, 3, start=3)
        first = landing_events_sensor(ctx)
        assert isinstance(first, RunRequest) and first.run_key.startswith("landing-1-")
        cursor = ctx.cursor
        again = build_sensor_context(instance=instance, cursor=cursor, resources={"landing": landing})
        assert isinstance(landing_events_sensor(again), SkipReason)  # same batch: nothing new
        _land(home, 5, start=6)
        second = landing_events_sensor(again)
        assert isinstance(second, RunRequest) and second.run_key != first.run_key
        assert second.run_config["resources"]["landing"]["config"]["home"] == str(home.resolve())


def test_schedule_uses_the_last_run_settings(tmp_path):
    home = tmp_path / "home"
    ProjectPaths.resolve(home).ensure()
    (home / "pipeline.yaml").write_text("source: synthetic\ntrain: {epochs: 3}\n")
    with DagsterInstance.ephemeral() as instance:
        ctx = build_schedule_context(instance=instance, resources={"landing": LandingZone(home=str(home))})
        req = daily_retrain(ctx)
        assert req.run_config["ops"]["lightfm_model"]["config"] == {"epochs": 3}
    assert daily_retrain.cron_schedule == "0 3 * * *"


def test_whole_loop_events_to_sensor_to_retrain_to_service(tmp_path):
    """POST events -> sensor tick -> retrain -> recorded decision -> the service follows the alias."""
    home = tmp_path / "home"
    settings = tiny_pipeline_settings()
    settings["landing"] = {"min_new_events": 20}
    with DagsterInstance.ephemeral() as instance:
        first = run_pipeline(settings, home=home, instance=instance)
        assert first.success and first.published.version == "1"
        store = MlflowStore.for_home(home)
        landing_area = LandingArea(ProjectPaths.resolve(home).landing)
        app = create_app(store, landing_area, poll_seconds=0)
        last_ts = pd.Timestamp(first.materializations["training_split"]["end"])  # inside the shop's timeline
        with TestClient(app) as client:
            assert client.get("/model").json()["version"] == "1"
            users = client.get("/recommendations/x", params={"k": 1}).json()  # warm-up, fallback
            assert users["fallback"] == "popularity"
            events = [{"event_id": f"loop-{i}", "user_id": f"U{i:06d}", "item_id": f"P{(i * 7) % 150:05d}",
                       "event_type": "purchase", "timestamp": (last_ts + pd.Timedelta(minutes=i)).isoformat()}
                      for i in range(30)]
            events.append({"event_id": "loop-bad", "user_id": "U000001", "item_id": "P00001", "event_type": "view",
                           "timestamp": "2099-01-01T00:00:00"})  # in the future: must be quarantined, not lost
            assert client.post("/events", json=events).json()["accepted"] == 31

            landing = LandingZone(home=str(home), min_new_events=20)
            req = landing_events_sensor(build_sensor_context(instance=instance, resources={"landing": landing}))
            assert isinstance(req, RunRequest)
            job = build_definitions(str(home)).resolve_job_def(JOB_NAME)
            result = job.execute_in_process(run_config=req.run_config, instance=instance, tags=req.tags)
            assert result.success
            raw = result.output_for_node("collect_raw", "raw_interactions")
            assert (raw["origin"] == "landing").sum() == 31
            quarantined = result.output_for_node("validate_interactions", "quarantined_interactions")
            assert "loop-bad" in set(quarantined["event_id"])
            published = result.output_for_node("registered_model")
            assert published.version == "2"
            tags = store.client().get_model_version(store.model_name, "2").tags
            assert tags["reco.decision.alias"] in ("champion", "challenger")

            app.state.holder.refresh()  # what the poller does every few seconds
            served = client.get("/model").json()["version"]
            assert served == ("2" if published.decision.promote else "1")
