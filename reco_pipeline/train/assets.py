
from dagster import AssetExecutionContext, Config, Output, asset
from pydantic import Field

from reco_pipeline.featurize.dataset import InteractionDataset
from reco_pipeline.train.model import TrainResult, TrainSettings, fit_lightfm

GROUP = "train"
_D = TrainSettings()


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

    def settings(self) -> TrainSettings:
        return TrainSettings(**self.model_dump())


@asset(group_name=GROUP, kinds={"lightfm"},
       description="Hybrid LightFM model (user + item features) wrapped with its id maps and precomputed vectors.")
def lightfm_model(context: AssetExecutionContext, config: TrainConfig,
                  interaction_dataset: InteractionDataset) -> Output[TrainResult]:
    result = fit_lightfm(interaction_dataset, config.settings())
    context.log.info(f"trained {config.epochs} epochs in {result.seconds:.1f}s")
    return Output(result, metadata={
        "train_seconds": round(result.seconds, 2),
        "epochs": result.epochs_run,
        "reproducible": config.num_threads == 1,
        **{f"param_{k}": v for k, v in config.model_dump().items()},
    })
