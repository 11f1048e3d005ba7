
from dagster import AssetCheckResult, AssetCheckSeverity, AssetExecutionContext, Config, MetadataValue, Output, asset, asset_check
from pydantic import Field

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from reco_pipeline.evaluate.valuation import plot_valuation, value_data
from reco_pipeline.publish.tracking import finish_run, log_file, log_params_metrics, log_text, start_run
from reco_pipeline.evaluate.protocol import BUY_AGAIN, DISCOVERY, EvaluationReport, build_holdout, evaluate_all
from reco_pipeline.evaluate.slices import cold_item_slice, cold_user_slice
from reco_pipeline.featurize.dataset import InteractionDataset
from reco_pipeline.featurize.split import TemporalSplit
from reco_pipeline.publish.registry import load_alias
from reco_pipeline.publish.resources import MlflowResource
from reco_pipeline.evaluate.baselines import EASE
from reco_pipeline.train.model import TrainResult
from reco_pipeline.train.ranker import fit_on_validation

GROUP = "evaluate"


class EvaluateConfig(Config):
    k: int = Field(default=10, description="Cut-off of the reported metrics (precision@k, recall@k, NDCG@k, MAP@k, coverage@k)")
    curve_ks: list[int] = Field(default_factory=lambda: [1, 3, 5, 10, 20, 50], description="k values for the metric@k curves")
    knn_neighbors: int = Field(default=50, description="Neighbours of the user-cosine kNN baseline")
    ease_l2: float = Field(default=300.0, description="L2 of the EASE baseline; 0 leaves EASE out (its cost grows "
                                                      "with the square of the catalogue)")
    buy_again: bool = Field(default=True, description="Also evaluate the buy-again protocol (repeats count), with "
                                                      "the repeat-buy baseline; the candidate ranks with its learned "
                                                      "buy-again weights")
    repeat_weight: float = Field(default=1.0, description="Reference row for buy-again: the hand-set blend, weight of "
                                                          "log(1 + times bought) added to the standardised model score "
                                                          "(0 leaves the row out)")
    cold_slices: bool = Field(default=True, description="Also report cold users and cold items (first seen in the "
                                                        "holdout, known only by attributes)")
    compare_with_champion: bool = Field(default=True, description="Also score the registered champion on this holdout")


@asset(group_name=GROUP, kinds={"mlflow"},
       description="Candidate vs popularity vs user-kNN vs the current champion, on the same discovery holdout.")
def evaluation(context: AssetExecutionContext, config: EvaluateConfig, mlflow: MlflowResource,
               lightfm_model: TrainResult, interaction_dataset: InteractionDataset,
               training_split: TemporalSplit, valid_users: pd.DataFrame,
               valid_items: pd.DataFrame) -> Output[EvaluationReport]:
    positives = interaction_dataset.positive_event_types
    holdout = build_holdout(interaction_dataset, training_split.holdout, positives, DISCOVERY)
    champion, champion_name = None, "champion"
    if config.compare_with_champion:
        loaded = load_alias(mlflow.store())
        if loaded is not None:
            champion, mv = loaded
            champion_name = f"champion_v{mv.version}"
            context.log.info(f"comparing with {mlflow.store().model_uri()} (version {mv.version})")
    candidate = lightfm_model.recommender
    references = {}
    if candidate.reranks and config.ease_l2:
        # The same ranking stage on top of EASE, fitted the same way: the honest reference for the stage.
        try:
            ease_ranker = fit_on_validation(lambda ds: EASE(ds, config.ease_l2).scores, training_split, valid_users,
                                            valid_items, interaction_dataset.settings,
                                            float(candidate.ranker.info.get("validation_days", 35.0)))
        except ValueError as exc:
            context.log.warning(f"EASE reference ranking stage skipped: {exc}")
            ease_ranker = None
        if ease_ranker is not None:
            references["ease"] = ease_ranker
    common = dict(k=config.k, curve_ks=config.curve_ks, knn_neighbors=config.knn_neighbors,
                  ease_l2=config.ease_l2 or None, repeat_weight=config.repeat_weight,
                  champion=champion, champion_name=champion_name, reference_rankers=references)
    report = evaluate_all(lightfm_model.recommender, interaction_dataset, holdout, **common)
    if config.buy_again:
        again = build_holdout(interaction_dataset, training_split.holdout, positives, BUY_AGAIN)
        if again.n_users:
            report.others[BUY_AGAIN] = evaluate_all(lightfm_model.recommender, interaction_dataset, again, **common)
    if config.cold_slices:
        if champion is not None:
            # The champion on the same cold customers and products: the gate's cold-start guardrails compare them.
            for name, frame in (
                    ("cold_users", cold_user_slice(champion, interaction_dataset, training_split.holdout,
                                                   valid_users, config.k, None)),
                    ("cold_items", cold_item_slice(champion, interaction_dataset, training_split.holdout,
                                                   valid_items, config.k))):
                if frame is not None:
                    report.slices[f"{name}_champion"] = frame[frame["model"] == "lightfm_hybrid"].assign(
                        model=champion_name)
        for name, frame in (("cold_users", cold_user_slice(lightfm_model.recommender, interaction_dataset,
                                                           training_split.holdout, valid_users, config.k,
                                                           config.ease_l2 or None)),
                            ("cold_items", cold_item_slice(lightfm_model.recommender, interaction_dataset,
                                                           training_split.holdout, valid_items, config.k))):
            if frame is not None:
                report.slices[name] = frame
    meta = {"protocol": report.protocol, "eval_users": report.n_users, "relevant_items": report.n_relevant,
            "metrics": MetadataValue.md(report.to_markdown())}
    for name, frame in report.slices.items():
        meta[f"slice_{name}"] = MetadataValue.md(frame.round(4).to_markdown(index=False))
    for name, other in report.others.items():
        meta[f"metrics_{name}"] = MetadataValue.md(other.to_markdown())
    for m in report.models:
        meta[f"{m.name}_ndcg@{config.k}"] = round(m.metrics[f"ndcg@{config.k}"], 5)
    return Output(report, metadata=meta)


@asset_check(asset=evaluation, description="The candidate should beat the popularity baseline (warning only: the "
                                            "promotion gate compares against the champion).")
def candidate_beats_popularity(evaluation: EvaluationReport) -> AssetCheckResult:
    key = f"ndcg@{evaluation.k}"
    cand = evaluation.candidate.metrics[key]
    pop = evaluation.get("popularity").metrics[key]
    return AssetCheckResult(passed=cand > pop, severity=AssetCheckSeverity.WARN,
                            metadata={"candidate": round(cand, 5), "popularity": round(pop, 5)})


@asset_check(asset=evaluation, description="The learned ranking stage should not rank worse than LightFM alone on "
                                            "the holdout (warning: the stage was fitted on an earlier window; if it "
                                            "loses here, the shop's rhythm changed or the window was too small)")
def ranking_stage_helps(evaluation: EvaluationReport) -> AssetCheckResult:
    key = f"ndcg@{evaluation.k}"
    raw = evaluation.get("lightfm_raw")
    if raw is None:
        return AssetCheckResult(passed=True, severity=AssetCheckSeverity.WARN, metadata={"ranking_stage": "off"})
    rows = {"discovery": (evaluation.candidate.metrics[key], raw.metrics[key])}
    for name, other in evaluation.others.items():
        if other.get("lightfm_raw") is not None:
            rows[name] = (other.candidate.metrics[key], other.get("lightfm_raw").metrics[key])
    return AssetCheckResult(passed=all(c >= r for c, r in rows.values()), severity=AssetCheckSeverity.WARN,
                            metadata={f"{name}_{key}": f"{c:.5f} with the stage vs {r:.5f} without"
                                      for name, (c, r) in rows.items()})


class ValuationConfig(Config):
    k: int = Field(default=10, description="NDCG@k is the measure of worth")
    history_shares: list[float] = Field(default_factory=lambda: [0.25, 0.5, 0.75],
                                        description="Shares of the training history (most recent) for the learning curve")


@dataclass(frozen=True)
class DataValuation:
    ablations: pd.DataFrame
    learning_curve: pd.DataFrame
    mlflow_run_id: str


@asset(group_name=GROUP, kinds={"mlflow"},
       description="What each data source (views, add-to-carts, reviews) and feature group (customer, product) is "
                   "worth, and a learning curve over the share of history. Retrains the model several times, so it "
                   "is not in the main job: materialize it from the UI when you want the answer.")
def data_valuation(context: AssetExecutionContext, config: ValuationConfig, mlflow: MlflowResource,
                   lightfm_model: TrainResult, interaction_dataset: InteractionDataset, training_split: TemporalSplit,
                   valid_users: pd.DataFrame, valid_items: pd.DataFrame) -> Output[DataValuation]:
    holdout = build_holdout(interaction_dataset, training_split.holdout, interaction_dataset.positive_event_types,
                            DISCOVERY)
    ablations, curve = value_data(training_split, valid_users, valid_items, interaction_dataset, holdout,
                                  getattr(lightfm_model, "featurize_settings", None) or interaction_dataset.settings,
                                  lightfm_model.settings, config.k,
                                  config.history_shares)
    store = mlflow.store()
    run_id = start_run(store, f"data-valuation-{context.run_id[:8]}", {"dagster.run_id": context.run_id,
                                                                       "reco.kind": "data_valuation"})
    key = f"ndcg@{config.k}"
    metrics = {f"value_{r['variant'].replace(' ', '_')}_ndcg_at_{config.k}": r[key]
               for r in ablations.to_dict("records") if r[key] == r[key]}
    log_params_metrics(store, run_id, {"k": config.k, "history_shares": config.history_shares}, metrics)
    log_text(store, run_id, ablations.round(5).to_markdown(index=False), "valuation/ablations.md")
    log_text(store, run_id, curve.round(5).to_markdown(index=False), "valuation/learning_curve.md")
    with tempfile.TemporaryDirectory() as tmp:
        log_file(store, run_id, plot_valuation(ablations, curve, Path(tmp) / "data_valuation.png", config.k), "valuation")
    finish_run(store, run_id)
    return Output(DataValuation(ablations, curve, run_id), metadata={
        "ablations": MetadataValue.md(ablations.round(5).to_markdown(index=False)),
        "learning_curve": MetadataValue.md(curve.round(5).to_markdown(index=False)),
        "mlflow_run_id": run_id,
    })
