"""The configuration reference in README.md, generated from the Config and resource classes.

``python -m reco_pipeline.config_reference`` prints it; a test fails when README.md drifts from it.
"""

from __future__ import annotations

from reco_pipeline.collect.resources import DataSource, LandingZone
from reco_pipeline.evaluate.assets import EvaluateConfig
from reco_pipeline.featurize.assets import FeaturizeConfig, SplitConfig
from reco_pipeline.publish.assets import BatchConfig, PublishConfig
from reco_pipeline.publish.resources import MlflowResource
from reco_pipeline.train.assets import SearchConfig, TrainConfig
from reco_pipeline.validate.resources import ValidationRules

SECTIONS = [
    ("data_source", DataSource, "resource `data_source`"),
    ("validation", ValidationRules, "resource `validation`"),
    ("mlflow", MlflowResource, "resource `mlflow`"),
    ("landing", LandingZone, "resource `landing`"),
    ("split", SplitConfig, "asset `training_split`"),
    ("featurize", FeaturizeConfig, "asset `interaction_dataset`"),
    ("search", SearchConfig, "asset `hyperparameter_search`"),
    ("train", TrainConfig, "asset `lightfm_model`"),
    ("evaluate", EvaluateConfig, "asset `evaluation`"),
    ("publish", PublishConfig, "asset `registered_model`"),
    ("batch", BatchConfig, "asset `batch_recommendations`"),
]


def render() -> str:
    out = []
    for section, cls, where in SECTIONS:
        out.append(f"**`{section}`** ({where} in the Launchpad)\n")
        out.append("| field | default | meaning |")
        out.append("|---|---|---|")
        for name, field in cls.model_fields.items():
            default = field.get_default(call_default_factory=True)
            out.append(f"| `{name}` | `{default}` | {field.description} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
