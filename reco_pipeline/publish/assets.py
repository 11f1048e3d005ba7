
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from dagster import AssetExecutionContext, Config, MetadataValue, Output, asset
from pydantic import Field

from reco_pipeline.collect.resources import DataSource
from reco_pipeline.evaluate.protocol import EvaluationReport
from reco_pipeline.evaluate.report import (
    flat_metrics,
    plot_metric_curve,
    plot_popularity_bias,
    popularity_bias_frame,
    render_html_report,
    render_report,
)
from reco_pipeline.featurize.dataset import InteractionDataset
from reco_pipeline.featurize.split import TemporalSplit
from reco_pipeline.publish.batch import batch_recommendations as make_batch
from reco_pipeline.publish.batch import write_parquet_atomically
from reco_pipeline.publish.promotion import GateSettings, PromotionDecision, gate_from_evaluation
from reco_pipeline.publish.registry import apply_decision, load_alias, log_and_register
from reco_pipeline.publish.resources import MlflowResource
from reco_pipeline.publish.tracking import (
    finish_run,
    log_file,
    log_input_dataset,
    log_params_metrics,
    log_text,
    pipeline_run,
)
from reco_pipeline.schema import Columns, frame_fingerprint
from reco_pipeline.train.model import TrainResult
from reco_pipeline.train.search import SearchResult

GROUP = "publish"


class PublishConfig(Config):
    primary_metric: str = Field(default="ndcg", description="Metric the promotion gate compares: precision, recall, "
                                                           "ndcg or map (at the evaluation's k)")
    min_improvement: float = Field(default=0.0, description="The candidate must beat the champion by more than this")
    bootstrap_resamples: int = Field(default=1000, description="Paired bootstrap resamples over users; the win must "
                                                               "be significant. 0 turns the test off")
    confidence: float = Field(default=0.95, description="Confidence of the bootstrap interval")
    bootstrap_seed: int = Field(default=0, description="Seed of the bootstrap (same data, same decision)")
    coverage_margin: float = Field(default=0.05, description="Guardrail: catalogue coverage@k may be at most this much "
                                                             "lower than the champion's")
    cold_users_margin: float = Field(default=0.02, description="Guardrail: NDCG@k on cold customers may be at most "
                                                               "this much lower than the champion's")
    cold_items_margin: float = Field(default=0.02, description="Guardrail: NDCG@k on cold products (first sold in "
                                                               "the holdout) may be at most this much lower than the "
                                                               "champion's")

    def gate(self) -> GateSettings:
        return GateSettings(**self.model_dump())


class BatchConfig(Config):
    k: int = Field(default=50, description="Recommendations per user in the batch table")
    exclude_purchased: bool = Field(default=True, description="Leave out items the user already bought")


@dataclass(frozen=True)
class PublishedModel:
    run_id: str
    experiment_id: str
    model_name: str
    version: str
    decision: PromotionDecision
    champion_version: str
    tracking_uri: str


@asset(group_name=GROUP, kinds={"mlflow"},
       description="MLflow run + registered pyfunc version; takes the `champion` alias only if it beats the champion.")
def registered_model(context: AssetExecutionContext, config: PublishConfig, mlflow: MlflowResource,
                     data_source: DataSource, lightfm_model: TrainResult, interaction_dataset: InteractionDataset,
                     evaluation: EvaluationReport, training_split: TemporalSplit,
                     valid_interactions: pd.DataFrame, quarantined_interactions: pd.DataFrame,
                     hyperparameter_search: SearchResult | None) -> Output[PublishedModel]:
    store = mlflow.store()
    fingerprint = frame_fingerprint(valid_interactions.drop(columns=[Columns.Row]))
    decision = gate_from_evaluation(evaluation, config.gate())
    key = decision.metric

    run_id = pipeline_run(store, context.run_id, tags={
        "reco.data_fingerprint": fingerprint, "reco.source": data_source.kind,
        "reco.cutoff": str(interaction_dataset.cutoff), "reco.protocol": evaluation.protocol,
    })
    try:
        params = {"source": data_source.kind, "source_path": data_source.path or "-", "seed": lightfm_model.settings.seed,
                  "tuned_by_search": lightfm_model.tuned,
                  "holdout_cutoff": str(training_split.cutoff), "eval_k": evaluation.k,
                  **{f"train.{k}": v for k, v in lightfm_model.settings.params().items()},
                  **{f"data.{k}": v for k, v in interaction_dataset.summary().items()},
                  "ranking_stage": lightfm_model.recommender.reranks,
                  **({f"ranker.{mode}.{f}": w for mode, ws in lightfm_model.recommender.ranker.describe().items()
                      for f, w in ws.items()} if lightfm_model.recommender.reranks else {})}
        metrics = {**flat_metrics(evaluation), "train_seconds": lightfm_model.seconds,
                   "valid_interactions": float(len(valid_interactions)),
                   "quarantined_interactions": float(len(quarantined_interactions))}
        log_params_metrics(store, run_id, params, metrics)
        log_input_dataset(store, run_id, valid_interactions, source=data_source.path or str(
            mlflow.paths().storage / "valid_interactions.parquet"), name=f"{data_source.kind}_interactions",
            digest=fingerprint)
        log_text(store, run_id, evaluation.to_markdown(), "evaluation/metrics.md")
        log_text(store, run_id, evaluation.table().to_csv(index=False), "evaluation/metrics.csv")
        bias = popularity_bias_frame(evaluation, interaction_dataset.item_popularity,
                                     interaction_dataset.item_map.external_ids)
        with tempfile.TemporaryDirectory() as tmp:
            figures = {"NDCG@k, discovery": plot_metric_curve(evaluation, Path(tmp) / "ndcg_at_k.png")}
            for name, other in evaluation.others.items():
                figures[f"NDCG@k, {name.replace('_', '-')}"] = plot_metric_curve(other, Path(tmp) / f"ndcg_at_k_{name}.png")
            figures["Accuracy vs popularity bias"] = plot_popularity_bias(bias, evaluation,
                                                                          Path(tmp) / "popularity_bias.png")
            for path in figures.values():
                log_file(store, run_id, path, "evaluation")
            ranker = lightfm_model.recommender.ranker if lightfm_model.recommender.reranks else None
            log_text(store, run_id, render_html_report(evaluation, figures, decision, hyperparameter_search, bias,
                                                       ranker), "evaluation/report.html")
        log_text(store, run_id, render_report(evaluation, decision, hyperparameter_search)
                 + "\n## Popularity bias (0 = most popular item)\n\n" + bias.round(4).to_markdown(index=False) + "\n"
                 + "\n![Accuracy vs popularity bias](popularity_bias.png)\n", "evaluation/report.md")
        if ranker is not None:
            log_text(store, run_id, json.dumps({"weights": ranker.describe(), "fit": ranker.info}, indent=2,
                                               default=str), "model/ranking_stage.json")
        if len(quarantined_interactions):
            counts = quarantined_interactions[Columns.Reason].str.split(";").explode().value_counts()
            log_text(store, run_id, counts.to_frame("rows").to_markdown(), "validation/quarantine_by_reason.md")

        example_users = list(interaction_dataset.user_map.external_ids[:3])
        mv = log_and_register(store, run_id, lightfm_model.recommender, example_users, tags={
            "dagster.run_id": context.run_id, "reco.data_fingerprint": fingerprint,
            "reco.cutoff": str(interaction_dataset.cutoff), key.replace("@", "_at_"): f"{decision.candidate_value:.6f}"})
        apply_decision(store, mv.version, decision)
        client = store.client()
        client.set_tag(run_id, "reco.decision", decision.alias)
        client.set_tag(run_id, "reco.decision_reason", decision.reason)
        client.set_tag(run_id, "reco.model_version", mv.version)
        client.log_metric(run_id, "promoted", 1.0 if decision.promote else 0.0)
        finish_run(store, run_id)
    except BaseException:
        finish_run(store, run_id, "FAILED")
        raise
    now_champion = store.model_version_by_alias()
    context.log.info(f"model version {mv.version}: {decision.reason}")
    result = PublishedModel(run_id, store.experiment_id(), store.model_name, str(mv.version), decision,
                            str(now_champion.version) if now_champion else "", store.tracking_uri)
    return Output(result, metadata={
        "mlflow_run_id": run_id,
        "model_version": str(mv.version),
        "alias": decision.alias,
        "promoted": decision.promote,
        "decision": decision.reason,
        "champion_version": result.champion_version,
        "model_uri": f"models:/{store.model_name}/{mv.version}",
        "data_fingerprint": fingerprint,
        "metrics": MetadataValue.md(evaluation.to_markdown()),
        "report": MetadataValue.url(f"{store.client().get_run(run_id).info.artifact_uri}/evaluation/report.html"),
        "bootstrap_interval": (f"[{decision.interval.low:+.5f}, {decision.interval.high:+.5f}]"
                               if decision.interval else "n/a (first model)"),
    })


@asset(group_name=GROUP, kinds={"parquet"},
       description="Top-k for every known user from the model that now holds the champion alias (what is served).")
def batch_recommendations(context: AssetExecutionContext, config: BatchConfig, mlflow: MlflowResource,
                          registered_model: PublishedModel, interaction_dataset: InteractionDataset) -> Output[pd.DataFrame]:
    store = mlflow.store()
    loaded = load_alias(store)
    if loaded is None:
        raise RuntimeError(f"no '{store.model_uri()}' in {store.tracking_uri}; run the publish stage first")
    champion, mv = loaded
    recs = make_batch(champion, interaction_dataset.user_map.external_ids, config.k, config.exclude_purchased)
    path = write_parquet_atomically(recs, mlflow.paths().outputs / "batch_recommendations.parquet")
    store.client().log_artifact(registered_model.run_id, str(path), "batch")
    return Output(recs, metadata={
        "dagster/row_count": len(recs),
        "users": int(recs[Columns.User].nunique()),
        "k": config.k,
        "champion_version": str(mv.version),
        "output_path": str(path),
        "fallback_rows": int((recs["source"] != "model").sum()),
        "preview": MetadataValue.md(recs.head(10).to_markdown()),
    })
