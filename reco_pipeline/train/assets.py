
import dataclasses
import time

import numpy as np
import pandas as pd
from dagster import AssetExecutionContext, Config, MetadataValue, Output, asset
from pydantic import Field

from reco_pipeline.featurize.dataset import InteractionDataset, build_dataset
from reco_pipeline.featurize.split import TemporalSplit
from reco_pipeline.publish.resources import MlflowResource
from reco_pipeline.publish.tracking import log_child_run, pipeline_run
from reco_pipeline.train.model import TrainResult, TrainSettings, fit_lightfm
from reco_pipeline.train.ranker import fit_on_validation
from reco_pipeline.train.search import SearchResult, SearchSettings, apply_featurize_overrides, run_search

GROUP = "train"
_D = TrainSettings()
_S = SearchSettings()


class TrainConfig(Config):
    no_components: int = Field(default=_D.no_components, description="Embedding dimension")
    loss: str = Field(default=_D.loss, description="warp, bpr, warp-kos or logistic")
    learning_schedule: str = Field(default=_D.learning_schedule, description="adagrad or adadelta")
    learning_rate: float = Field(default=_D.learning_rate, description="SGD step size (adagrad)")
    item_alpha: float = Field(default=_D.item_alpha, description="L2 penalty on item features")
    user_alpha: float = Field(default=_D.user_alpha, description="L2 penalty on user features")
    max_sampled: int = Field(default=_D.max_sampled, description="WARP: negatives sampled per positive")
    epochs: int = Field(default=_D.epochs, description="Passes over the training interactions")
    seed: int = Field(default=_D.seed, description="Random seed; with num_threads=1 the model is bit-reproducible")
    num_threads: int = Field(default=_D.num_threads, description="Training threads. 1 (default) is reproducible; "
                                                                 "more is faster but not bit-reproducible")
    use_sample_weight: bool = Field(default=_D.use_sample_weight,
                                    description="Weight positives by event type and recency")
    use_search: bool = Field(default=True, description="Take the tuned values from hyperparameter_search when it ran "
                                                       "(fields it does not tune still come from here)")
    ranker: bool = Field(default=True, description="Learn a ranking stage on top of LightFM (trend, item age, "
                                                   "re-order recency and frequency), fitted on the validation window; "
                                                   "costs one more model fit")
    ranker_validation_days: float = Field(default=_S.validation_days,
                                          description="Validation window the ranking stage learns from (the holdout "
                                                      "stays unseen)")
    ranker_candidates: int = Field(default=200, description="Per customer, the model's top-N items the ranking stage "
                                                            "learns to reorder")

    def settings(self) -> TrainSettings:
        return TrainSettings(**self.model_dump(exclude={"use_search", "ranker", "ranker_validation_days",
                                                        "ranker_candidates"}))



class SearchConfig(Config):
    n_trials: int = Field(default=_S.n_trials, description="Trials of the seeded TPE search (the first is the defaults); "
                                                           "0 turns the search off")
    timeout_seconds: float = Field(default=_S.timeout_seconds, description="Safety limit on the whole search. The "
                                   "budget is n_trials: a search cut short by time is not reproducible")
    validation_days: float = Field(default=_S.validation_days, description="Validation window at the end of the "
                                                                           "training window (the holdout stays unseen)")
    max_epochs: int = Field(default=_S.max_epochs, description="Epoch limit per trial (early stopping ends most sooner)")
    eval_every: int = Field(default=_S.eval_every, description="Epochs between validation checks")
    patience: int = Field(default=_S.patience, description="Checks without improvement before a trial stops")
    seed: int = Field(default=_S.seed, description="Sampler seed: same data, same trials, same best config")
    tune_feature_groups: bool = Field(default=_S.tune_feature_groups,
                                      description="Let the search switch customer/product features off (can win on "
                                                  "known customers but leaves new ones with nothing)")

    def settings(self) -> SearchSettings:
        return SearchSettings(**self.model_dump(), k=10)


@asset(group_name=GROUP, kinds={"optuna", "mlflow"},
       description="Seeded hyper-parameter search on a validation window before the holdout; each trial is an "
                   "MLflow child run of the pipeline's run. Its best settings are what lightfm_model trains with.")
def hyperparameter_search(context: AssetExecutionContext, config: SearchConfig, mlflow: MlflowResource,
                          training_split: TemporalSplit, valid_users: pd.DataFrame, valid_items: pd.DataFrame,
                          interaction_dataset: InteractionDataset) -> Output[SearchResult | None]:
    if config.n_trials <= 0:
        return Output(None, metadata={"enabled": False})
    store = mlflow.store()
    parent = pipeline_run(store, context.run_id)

    def on_trial(number: int, params: dict, value: float, epochs: int) -> None:
        log_child_run(store, parent, f"trial-{number}", params, {"validation_ndcg_at_10": value, "epochs": epochs})
        context.log.info(f"trial {number}: validation NDCG@10 {value:.4f} after {epochs} epochs")

    result = run_search(training_split, valid_users, valid_items, interaction_dataset.settings,
                        TrainSettings(seed=config.seed), config.settings(), on_trial)
    best = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in result.params().items()}
    return Output(result, metadata={
        "trials": len(result.trials),
        "best_validation_ndcg@10": round(result.best_value, 5),
        "defaults_validation_ndcg@10": round(result.default_value, 5),
        "validation_cutoff": str(result.validation_cutoff),
        "search_seconds": round(result.seconds, 1),
        "best_config": MetadataValue.json(best),
        "trials_table": MetadataValue.md(result.trials.round(5).to_markdown(index=False)),
        "mlflow_parent_run_id": parent,
    })


@asset(group_name=GROUP, kinds={"lightfm"},
       description="Hybrid LightFM model (user + item features) wrapped with its id maps and precomputed vectors.")
def lightfm_model(context: AssetExecutionContext, config: TrainConfig, interaction_dataset: InteractionDataset,
                  hyperparameter_search: SearchResult | None, training_split: TemporalSplit,
                  valid_users: pd.DataFrame, valid_items: pd.DataFrame) -> Output[TrainResult]:
    settings, dataset, tuned = config.settings(), interaction_dataset, False
    if hyperparameter_search is not None and config.use_search:
        tuned = True
        settings = dataclasses.replace(settings, **hyperparameter_search.train_overrides)
        if hyperparameter_search.featurize_overrides:
            # Same events, same id maps; only weights and feature groups differ from interaction_dataset.
            dataset = build_dataset(training_split, valid_users, valid_items, apply_featurize_overrides(
                interaction_dataset.settings, hyperparameter_search.featurize_overrides))
            if not (np.array_equal(dataset.user_map.external_ids, interaction_dataset.user_map.external_ids)
                    and np.array_equal(dataset.item_map.external_ids, interaction_dataset.item_map.external_ids)):
                raise RuntimeError("the tuned featurization changed the set of users or items; refusing to train "
                                   "a model that evaluation would misread")
    result = dataclasses.replace(fit_lightfm(dataset, settings), tuned=tuned)
    context.log.info(f"trained {result.epochs_run} epochs in {result.seconds:.1f}s (tuned: {tuned})")
    ranker_meta: dict = {"ranker": False}
    if config.ranker:
        start = time.perf_counter()
        try:
            ranker = fit_on_validation(lambda ds: fit_lightfm(ds, settings).recommender.score_known, training_split,
                                       valid_users, valid_items, dataset.settings, config.ranker_validation_days,
                                       n_candidates=config.ranker_candidates)
        except ValueError as exc:  # too little history for a validation window: rank by the model alone
            context.log.warning(f"ranking stage skipped: {exc}")
            ranker = None
        if ranker is not None:
            result = dataclasses.replace(result, recommender=result.recommender.with_ranker(ranker, dataset))
            ranker_meta = {"ranker": True, "ranker_seconds": round(time.perf_counter() - start, 1),
                           "ranker_weights": MetadataValue.json(ranker.describe()),
                           "ranker_fit": MetadataValue.json(ranker.info)}
            context.log.info(f"ranking stage fitted on the validation window: {ranker.describe()}")
        else:
            context.log.warning("ranking stage: not enough validation purchases to learn from; ranking by LightFM")
    return Output(result, metadata={
        **ranker_meta,
        "train_seconds": round(result.seconds, 2),
        "epochs": result.epochs_run,
        "reproducible": settings.num_threads == 1,
        "tuned_by_search": tuned,
        **{f"param_{k}": v for k, v in settings.params().items()},
    })
