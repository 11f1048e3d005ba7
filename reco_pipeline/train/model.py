from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from reco_pipeline.featurize.dataset import FeaturizeSettings, InteractionDataset
from reco_pipeline.recommender import Recommender


@dataclass(frozen=True)
class TrainSettings:
    """LightFM hyper-parameters. ``num_threads=1`` (the default) is bit-reproducible for a seed;
    more threads train faster with lock-free parallel SGD, whose result varies run to run."""

    no_components: int = 48
    loss: Literal["warp", "bpr", "warp-kos", "logistic"] = "warp"
    learning_schedule: Literal["adagrad", "adadelta"] = "adagrad"
    learning_rate: float = 0.05
    item_alpha: float = 1e-6
    user_alpha: float = 1e-6
    max_sampled: int = 30
    epochs: int = 30
    seed: int = 42
    num_threads: int = 1
    use_sample_weight: bool = True

    def params(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class TrainResult:
    recommender: Recommender
    settings: TrainSettings
    seconds: float
    epochs_run: int
    tuned: bool = False  # settings came from the hyper-parameter search
    featurize_settings: FeaturizeSettings | None = None  # what the model was trained with (the search may tune them)


def fit_lightfm(dataset: InteractionDataset, settings: TrainSettings,
                on_epoch: Callable[[int, object], bool] | None = None) -> TrainResult:
    """Fit a hybrid LightFM model (user + item features) and wrap it for scoring.

    ``on_epoch(epochs_done, model)`` is called after every epoch; returning True stops training
    (early stopping).
    """
    from lightfm import LightFM  # imported here: the compiled extension is only needed to train

    model = LightFM(
        no_components=settings.no_components,
        loss=settings.loss,
        learning_schedule=settings.learning_schedule,
        learning_rate=settings.learning_rate,
        item_alpha=settings.item_alpha,
        user_alpha=settings.user_alpha,
        max_sampled=settings.max_sampled,
        random_state=np.random.RandomState(settings.seed),
    )
    # WARP/BPR/k-OS sample weights scale each positive's gradient; logistic treats them the same way.
    sample_weight = dataset.weights if settings.use_sample_weight and settings.loss != "warp-kos" else None
    start = time.perf_counter()
    diverged = ("LightFM diverged (non-finite parameters) with learning_rate="
                f"{settings.learning_rate}; lower learning_rate or raise item_alpha/user_alpha.")
    epochs_run = 0
    for epoch in range(1, settings.epochs + 1):
        try:
            model.fit_partial(
                dataset.interactions,
                user_features=dataset.user_features,
                item_features=dataset.item_features,
                sample_weight=sample_weight,
                epochs=1,
                num_threads=settings.num_threads,
            )
        except ValueError as exc:
            if "finite" in str(exc):
                raise FloatingPointError(diverged) from exc
            raise
        epochs_run = epoch
        if on_epoch is not None and on_epoch(epoch, model):
            break
    seconds = time.perf_counter() - start
    if not np.isfinite(model.item_embeddings).all():
        raise FloatingPointError(diverged)
    rec = Recommender.from_model(model, dataset, info={"cutoff": str(dataset.cutoff), **settings.params()})
    return TrainResult(recommender=rec, settings=settings, seconds=seconds, epochs_run=epochs_run,
                       featurize_settings=dataset.settings)
