"""The whole graph through Dagster, into a real SQLite MLflow store in a temporary folder."""

from pathlib import Path

import pandas as pd
import pytest
from dagster import DagsterInstance

from reco_pipeline.publish.store import MlflowStore
from reco_pipeline.runner import ConfigError, build_run_config, load_config_file, run_pipeline
from reco_pipeline.schema import Columns
from reco_pipeline.settings import ProjectPaths
from reco_pipeline_tests.conftest import tiny_pipeline_settings


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory):
    return tmp_path_factory.mktemp("pipeline") / "home"


@pytest.fixture(scope="module")
def first_run(shared_home):
    return run_pipeline(tiny_pipeline_settings(), home=shared_home, instance=DagsterInstance.ephemeral())


def test_first_run_materializes_everything_and_becomes_champion(first_run, shared_home):
    assert first_run.success, first_run.errors
    expected = {"raw_interactions", "raw_users", "raw_items", "valid_interactions", "quarantined_interactions",
                "valid_users", "quarantined_users", "valid_items", "quarantined_items", "training_split",
                "interaction_dataset", "lightfm_model", "evaluation", "registered_model", "batch_recommendations"}
    assert expected <= set(first_run.materializations)
    vi = first_run.materializations["valid_interactions"]
    assert vi["raw_rows"] == vi["valid_rows"] + vi["quarantined_rows"] and vi["quarantined_rows"] > 0
    assert first_run.checks["valid_interactions_meet_contract"]["passed"]
    assert first_run.checks["valid_interactions_reconcile_with_raw"]["passed"]
    assert first_run.quarantine_by_reason  # the synthetic source plants dirt by default
    assert first_run.step_seconds["lightfm_model"] > 0 and "registered_model" in first_run.step_seconds
    pub = first_run.published
    assert pub.decision.promote and pub.version == "1" and pub.champion_version == "1"

    store = MlflowStore.for_home(shared_home)
    run = store.client().get_run(pub.run_id)
    assert run.data.tags["dagster.run_id"] == first_run.dagster_run_id
    assert len(run.data.tags["reco.data_fingerprint"]) == 64
    assert "ndcg_at_10" in run.data.metrics and "baseline_popularity_ndcg_at_10" in run.data.metrics
    assert run.inputs.dataset_inputs and run.inputs.dataset_inputs[0].dataset.digest
    children = store.client().search_runs([store.experiment_id()],
                                          filter_string=f"tags.`mlflow.parentRunId` = '{pub.run_id}'")
    assert len(children) == 2 and all("validation_ndcg_at_10" in c.data.metrics for c in children)
    assert first_run.materializations["lightfm_model"]["tuned_by_search"] is True
    artifacts = {a.path for a in store.client().list_artifacts(pub.run_id, "evaluation")}
    assert {"evaluation/metrics.md", "evaluation/ndcg_at_k.png", "evaluation/report.md", "evaluation/report.html",
            "evaluation/popularity_bias.png", "evaluation/ndcg_at_k_buy_again.png"} <= artifacts
    html = Path(store.client().download_artifacts(pub.run_id, "evaluation/report.html")).read_text()
    assert html.count("data:image/png;base64,") == 3 and "ease_reranked" in html and "Ranking stage weights" in html
    assert {a.path for a in store.client().list_artifacts(pub.run_id, "model")} >= {"model/ranking_stage.json"}
    report = store.client().download_artifacts(pub.run_id, "evaluation/report.md")
    text = open(report).read()
    assert "## Promotion decision" in text and "## Hyper-parameter search" in text and "Buy-again" in text

    batch = pd.read_parquet(ProjectPaths(shared_home).outputs / "batch_recommendations.parquet")
    assert list(batch.columns[:4]) == [Columns.User, Columns.Item, Columns.Rank, Columns.Score]
    assert batch.groupby(Columns.User).size().max() == 10


def test_rerun_on_the_same_data_gives_identical_metrics_and_keeps_the_champion(first_run, shared_home):
    second = run_pipeline(tiny_pipeline_settings(), home=shared_home, instance=DagsterInstance.ephemeral())
    assert second.success, second.errors
    assert second.evaluation.candidate.metrics == first_run.evaluation.candidate.metrics
    assert second.evaluation.champion.metrics == first_run.evaluation.candidate.metrics
    assert not second.published.decision.promote and second.published.decision.alias == "challenger"
    assert second.published.decision.interval.low == 0.0 == second.published.decision.interval.high
    assert second.published.version == "2" and second.published.champion_version == "1"


def test_a_different_model_is_promoted_exactly_when_it_is_better(first_run, shared_home):
    settings = tiny_pipeline_settings()
    settings["train"] = {**settings["train"], "no_components": 32, "epochs": 15, "learning_rate": 0.03}
    third = run_pipeline(settings, home=shared_home, instance=DagsterInstance.ephemeral())
    assert third.success, third.errors
    cand = third.evaluation.candidate.metrics["ndcg@10"]
    champ = third.evaluation.champion.metrics["ndcg@10"]
    d = third.published.decision
    assert d.interval is not None and d.guardrails  # a real comparison: bootstrap and guardrails ran
    assert {g.name for g in d.guardrails} == {"coverage_at_10", "cold_users_ndcg_at_10", "cold_items_ndcg_at_10"}
    assert d.promote == (cand > champ and d.interval.low > 0 and all(g.passed for g in d.guardrails))
    expected_champion = third.published.version if d.promote else "1"
    assert str(MlflowStore.for_home(shared_home).model_version_by_alias().version) == expected_champion


def test_blocking_check_stops_training_on_unusable_data(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    pd.DataFrame({"user_id": ["u1", "u2", "u1"], "item_id": ["a", "b", "b"],
                  "timestamp": ["2024-01-01", "2024-01-02", "2024-02-01"],
                  "event_type": ["purchase", "purchase", "view"]}).to_csv(folder / "interactions.csv", index=False)
    out = run_pipeline({"source": "files", "data": str(folder)}, home=tmp_path / "home",
                       instance=DagsterInstance.ephemeral())
    assert not out.success
    assert out.checks["valid_interactions_are_enough_to_train"]["passed"] is False
    assert "lightfm_model" not in out.materializations and "registered_model" not in out.materializations
    assert any("valid_interactions_are_enough_to_train" in e for e in out.errors)


def test_bad_source_file_fails_with_a_message_naming_it(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    pd.DataFrame({"user": ["u1"]}).to_csv(folder / "interactions.csv", index=False)
    out = run_pipeline({"source": "files", "data": str(folder)}, home=tmp_path / "home",
                       instance=DagsterInstance.ephemeral())
    assert not out.success
    assert any("interactions.csv: missing required column" in e for e in out.errors), out.errors


def test_config_file_sections_map_to_run_config(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("source: synthetic\ntrain:\n  epochs: 3\nsplit:\n  holdout_days: 20\n")
    rc = build_run_config(load_config_file(cfg), tmp_path)
    assert rc["ops"]["lightfm_model"]["config"] == {"epochs": 3}
    assert rc["ops"]["training_split"]["config"] == {"holdout_days": 20}
    assert rc["resources"]["data_source"]["config"]["kind"] == "synthetic"
    bad = tmp_path / "bad.yaml"
    bad.write_text("trian:\n  epochs: 3\n")
    with pytest.raises(ConfigError, match=r"unknown section\(s\) \['trian'\]"):
        load_config_file(bad)


def test_data_valuation_runs_on_demand_against_stored_assets(first_run, shared_home):
    from reco_pipeline.definitions import build_definitions

    rc = build_run_config(tiny_pipeline_settings(), shared_home)
    rc = {"resources": rc["resources"], "ops": {"data_valuation": {"config": {"history_shares": [0.5]}}}}
    job = build_definitions(str(shared_home)).resolve_job_def("data_valuation")
    result = job.execute_in_process(run_config=rc, instance=DagsterInstance.ephemeral())
    assert result.success
    value = result.output_for_node("data_valuation")
    variants = set(value.ablations["variant"])
    assert {"everything", "without view events", "without add_to_cart events", "without review events",
            "without customer features", "without product features"} <= variants
    assert value.ablations.loc[value.ablations["variant"] == "everything", "change_vs_everything"].item() == 0
    assert list(value.learning_curve["history_share"]) == [0.5, 1.0]
    store = MlflowStore.for_home(shared_home)
    arts = {a.path for a in store.client().list_artifacts(value.mlflow_run_id, "valuation")}
    assert "valuation/data_valuation.png" in arts
