"""The Dagster code location: gathers each stage's assets and checks, the resources and the job.

Assembles, computes nothing. Loaded by the Dagster UI (workspace.yaml), by ``reco run`` and by tests.
"""


from dagster import AssetSelection, Definitions, define_asset_job

from reco_pipeline.collect.assets import collect_raw
from reco_pipeline.collect.resources import DataSource, LandingZone
from reco_pipeline.evaluate.assets import candidate_beats_popularity, data_valuation, evaluation, ranking_stage_helps
from reco_pipeline.featurize.assets import interaction_dataset, training_split
from reco_pipeline.feedback.automation import build_automation
from reco_pipeline.io_manager import RecoIOManager
from reco_pipeline.publish.assets import batch_recommendations, registered_model
from reco_pipeline.publish.resources import MlflowResource
from reco_pipeline.train.assets import hyperparameter_search, lightfm_model
from reco_pipeline.validate.assets import validate_interactions, validate_items, validate_users
from reco_pipeline.validate.checks import CHECKS
from reco_pipeline.validate.resources import ValidationRules

JOB_NAME = "reco_pipeline"

ASSETS = [collect_raw, validate_interactions, validate_users, validate_items, training_split, interaction_dataset,
          hyperparameter_search, lightfm_model, evaluation, registered_model, batch_recommendations, data_valuation]
ASSET_CHECKS = [*CHECKS, candidate_beats_popularity, ranking_stage_helps]

# Data valuation retrains the model several times: on demand (UI or its own job), not in every run.
reco_job = define_asset_job(JOB_NAME, selection=AssetSelection.all() - AssetSelection.assets(data_valuation),
                            description="collect -> validate -> featurize -> train -> evaluate -> publish")
valuation_job = define_asset_job("data_valuation", selection=AssetSelection.assets(data_valuation),
                                 description="What each data source and feature group is worth (several retrains)")
landing_events_sensor, daily_retrain = build_automation(reco_job)


def build_definitions(home: str | None = None) -> Definitions:
    """Definitions with every resource rooted at ``home`` (None: $RECO_HOME or ./.reco at run time)."""
    return Definitions(
        assets=ASSETS,
        asset_checks=ASSET_CHECKS,
        jobs=[reco_job, valuation_job],
        sensors=[landing_events_sensor],
        schedules=[daily_retrain],
        resources={
            "io_manager": RecoIOManager(home=home),
            "data_source": DataSource(),
            "landing": LandingZone(home=home),
            "validation": ValidationRules(),
            "mlflow": MlflowResource(home=home),
        },
    )


defs = build_definitions()
