
import pandas as pd
from dagster import AssetExecutionContext, Config, Output, asset
from pydantic import Field

from reco_pipeline.featurize.dataset import FeaturizeSettings, InteractionDataset, build_dataset
from reco_pipeline.featurize.split import TemporalSplit, temporal_split
from reco_pipeline.featurize.weights import DEFAULT_EVENT_WEIGHTS

GROUP = "featurize"


class SplitConfig(Config):
    holdout_days: float = Field(default=35.0, description="Length of the holdout window before the latest event "
                                                          "(default: the last 5 weeks)")


class FeaturizeConfig(Config):
    event_weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_EVENT_WEIGHTS),
                                            description="Weight per event type; types not listed weigh 0. A review's "
                                                        "weight is scaled by how positive its rating is.")
    recency_half_life_days: float = Field(default=120.0, description="An event this many days before the cutoff "
                                                                     "counts half; 0 disables recency decay")
    positive_event_types: list[str] = Field(default_factory=lambda: ["purchase"],
                                            description="Events that count as a conversion: excluded from "
                                                        "recommendations by default and used as evaluation truth")
    user_features: bool = Field(default=True, description="Use customer attributes (demographics) as features")
    item_features: bool = Field(default=True, description="Use product attributes (category, title words, price "
                                                          "band) as features")
    identity_features: bool = Field(default=True, description="Give every user and item its own feature too "
                                                              "(collaborative part of the hybrid)")
    identity_weight: float = Field(default=0.0, description="Share of each row given to the entity's own (identity) "
                                                            "feature, the rest split over its attributes; 0 = all "
                                                            "features weigh the same (LightFM's default)")
    min_df: int = Field(default=2, description="A title word must occur in this many products to become a feature")
    max_text_features: int = Field(default=3000, description="At most this many title words become features")

    def settings(self) -> FeaturizeSettings:
        return FeaturizeSettings(
            event_weights=dict(self.event_weights),
            recency_half_life_days=self.recency_half_life_days or None,
            positive_event_types=tuple(self.positive_event_types),
            user_features=self.user_features,
            item_features=self.item_features,
            identity_features=self.identity_features,
            identity_weight=self.identity_weight or None,
            min_df=self.min_df,
            max_text_features=self.max_text_features,
        )


@asset(group_name=GROUP, kinds={"pandas"},
       description="Time-based split: events before the cutoff train, the last `holdout_days` evaluate.")
def training_split(config: SplitConfig, valid_interactions: pd.DataFrame) -> Output[TemporalSplit]:
    split = temporal_split(valid_interactions, config.holdout_days)
    return Output(split, metadata={k: (v if isinstance(v, (int, float)) else str(v)) for k, v in split.summary().items()})


@asset(group_name=GROUP, kinds={"scipy", "scikit-learn"},
       description="Interaction matrix (weighted, recency-decayed) with its id maps and user/item feature matrices.")
def interaction_dataset(context: AssetExecutionContext, config: FeaturizeConfig, training_split: TemporalSplit,
                        valid_users: pd.DataFrame, valid_items: pd.DataFrame) -> Output[InteractionDataset]:
    ds = build_dataset(training_split, valid_users, valid_items, config.settings())
    meta = {k: v for k, v in ds.summary().items()}
    meta["matrix_shape"] = f"{ds.shape[0]} x {ds.shape[1]}"
    if ds.item_encoder is not None:
        meta["item_feature_examples"] = ", ".join(ds.item_encoder.names[:15])
    if ds.user_encoder is not None:
        meta["user_feature_examples"] = ", ".join(ds.user_encoder.names[:15])
    return Output(ds, metadata=meta)
