"""Hyper-parameter search: seeded TPE (Optuna) on a validation window that ends before the holdout.

The training window is split once more in time: trials fit on everything before the last
``validation_days`` of it and are scored on those days (discovery NDCG@k), with early stopping.
The holdout that decides promotion is never seen by the search. The first trial is always the
configured defaults, so the search cannot pick something worse than them on validation.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from reco_pipeline.evaluate.metrics import per_user_metrics
from reco_pipeline.evaluate.protocol import discovery_holdout, rank_with_recommender
from reco_pipeline.featurize.dataset import FeaturizeSettings, InteractionDataset, build_dataset
from reco_pipeline.featurize.split import TemporalSplit, temporal_split
from reco_pipeline.recommender import Recommender
from reco_pipeline.train.model import TrainSettings, fit_lightfm

@dataclass(frozen=True)
class SearchSettings:
    n_trials: int = 6
    timeout_seconds: float = 3600.0
    validation_days: float = 35.0
    max_epochs: int = 50
    eval_every: int = 5
    patience: int = 2
    k: int = 10
    seed: int = 42
    # Off by default: switching product or customer features off can win on warm users while leaving
    # new products and new customers with nothing to be recommended by (the hybrid's whole point).
    tune_feature_groups: bool = False


@dataclass
class SearchResult:
    featurize_overrides: dict[str, Any]
    train_overrides: dict[str, Any]
    best_value: float
    default_value: float
    trials: pd.DataFrame
    validation_cutoff: pd.Timestamp
    seconds: float

    def params(self) -> dict[str, Any]:
        return {**{f"featurize.{k}": v for k, v in self.featurize_overrides.items()},
                **{f"train.{k}": v for k, v in self.train_overrides.items()}}


def apply_featurize_overrides(base: FeaturizeSettings, overrides: Mapping[str, Any]) -> FeaturizeSettings:
    changes = {k: v for k, v in overrides.items() if k in ("recency_half_life_days", "user_features", "item_features")}
    weights = dict(base.event_weights)
    if "view_weight" in overrides:
        weights["view"] = overrides["view_weight"]
    if "add_to_cart_weight" in overrides:
        weights["add_to_cart"] = overrides["add_to_cart_weight"]
    return dataclasses.replace(base, event_weights=weights, **changes)


def _suggest(trial, has_views: bool, feature_groups: bool) -> tuple[dict, dict]:
    f = {"recency_half_life_days": trial.suggest_float("recency_half_life_days", 10.0, 400.0, log=True)}
    if feature_groups:
        f["user_features"] = trial.suggest_categorical("user_features", [True, False])
        f["item_features"] = trial.suggest_categorical("item_features", [True, False])
    if has_views:
        # Never 0: a zero weight would drop view-only pairs and change the dataset's id maps.
        f["view_weight"] = trial.suggest_float("view_weight", 0.25, 3.0, log=True)
        f["add_to_cart_weight"] = trial.suggest_float("add_to_cart_weight", 0.5, 6.0, log=True)
    t = {
        "no_components": trial.suggest_int("no_components", 16, 128, log=True),
        "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.15, log=True),
        "item_alpha": trial.suggest_float("item_alpha", 1e-9, 1e-4, log=True),
        "user_alpha": trial.suggest_float("user_alpha", 1e-9, 1e-4, log=True),
        "max_sampled": trial.suggest_int("max_sampled", 5, 60),
    }
    return f, t


def run_search(split: TemporalSplit, users: pd.DataFrame, items: pd.DataFrame, base_featurize: FeaturizeSettings,
               base_train: TrainSettings, settings: SearchSettings,
               on_trial: Callable[[int, dict, float, int], None] | None = None) -> SearchResult:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    start = time.perf_counter()
    val_split = temporal_split(split.train, settings.validation_days)
    has_views = "view" in set(split.train["event_type"].unique())

    def objective(trial) -> float:
        f_over, t_over = _suggest(trial, has_views, settings.tune_feature_groups)
        fs = apply_featurize_overrides(base_featurize, f_over)
        ts = dataclasses.replace(base_train, **t_over, epochs=settings.max_epochs)
        ds = build_dataset(val_split, users, items, fs)
        holdout = discovery_holdout(ds, val_split.holdout, fs.positive_event_types)
        if holdout.n_users == 0:
            raise optuna.TrialPruned("no validation users")
        value, epochs = _fit_with_early_stopping(ds, holdout, ts, settings)
        trial.set_user_attr("best_epochs", epochs)
        if on_trial is not None:
            on_trial(trial.number, {**f_over, **t_over, "epochs": epochs}, value, epochs)
        return value

    sampler = optuna.samplers.TPESampler(seed=settings.seed)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    base_params = {"recency_half_life_days": base_featurize.recency_half_life_days or 400.0,
                   "no_components": base_train.no_components, "learning_rate": base_train.learning_rate,
                   "item_alpha": max(base_train.item_alpha, 1e-9), "user_alpha": max(base_train.user_alpha, 1e-9),
                   "max_sampled": base_train.max_sampled}
    if settings.tune_feature_groups:
        base_params.update(user_features=base_featurize.user_features, item_features=base_featurize.item_features)
    if has_views:
        base_params["view_weight"] = base_featurize.event_weights.get("view", 1.0)
        base_params["add_to_cart_weight"] = base_featurize.event_weights.get("add_to_cart", 3.0)
    study.enqueue_trial(base_params)
    # Trials run one at a time: with num_threads=1 inside, the whole search is reproducible.
    study.optimize(objective, n_trials=settings.n_trials, timeout=settings.timeout_seconds, catch=(FloatingPointError,))
    done = [t for t in study.trials if t.value is not None]
    if not done:
        raise RuntimeError("hyper-parameter search: no trial finished; raise search.timeout_seconds or n_trials")
    best = study.best_trial
    f_keys = {"recency_half_life_days", "user_features", "item_features", "view_weight", "add_to_cart_weight"}
    f_over = {k: v for k, v in best.params.items() if k in f_keys}
    t_over = {k: v for k, v in best.params.items() if k not in f_keys}
    t_over["epochs"] = int(best.user_attrs["best_epochs"])
    trials = pd.DataFrame([{"trial": t.number, "value": t.value, "epochs": t.user_attrs.get("best_epochs"),
                            "state": t.state.name, **t.params} for t in study.trials])
    default_value = done[0].value if done[0].number == 0 else float("nan")
    return SearchResult(f_over, t_over, float(best.value), float(default_value), trials, val_split.cutoff,
                        time.perf_counter() - start)


def _fit_with_early_stopping(ds: InteractionDataset, holdout, ts: TrainSettings,
                             settings: SearchSettings) -> tuple[float, int]:
    best = {"value": -1.0, "epoch": 0, "bad": 0}

    def on_epoch(epoch: int, model) -> bool:
        if epoch % settings.eval_every:
            return False
        value = validation_ndcg(Recommender.from_model(model, ds), ds, holdout, settings.k)
        if value > best["value"] + 1e-6:
            best.update(value=value, epoch=epoch, bad=0)
        else:
            best["bad"] += 1
        return best["bad"] >= settings.patience

    fit_lightfm(ds, ts, on_epoch=on_epoch)
    return best["value"], max(best["epoch"], settings.eval_every)


def validation_ndcg(rec: Recommender, ds: InteractionDataset, holdout, k: int) -> float:
    ranked = rank_with_recommender(rec, holdout, ds, k)
    return float(np.mean(per_user_metrics(ranked, holdout.relevant, k)["ndcg"]))


logging.getLogger("optuna").setLevel(logging.WARNING)
