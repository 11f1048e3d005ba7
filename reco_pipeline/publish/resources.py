
from dagster import ConfigurableResource
from pydantic import Field

from reco_pipeline.publish.store import MlflowStore
from reco_pipeline.settings import DEFAULT_EXPERIMENT, DEFAULT_MODEL_NAME, ProjectPaths


class MlflowResource(ConfigurableResource):
    """The MLflow tracking store and model registry. Hands out clients; sets no global state."""

    home: str | None = Field(default=None, description="Project home folder; default $RECO_HOME or ./.reco")
    tracking_uri: str | None = Field(default=None, description="Tracking + registry URI; default "
                                                               "sqlite:///<home>/mlflow.db")
    experiment_name: str = Field(default=DEFAULT_EXPERIMENT, description="MLflow experiment for pipeline runs")
    model_name: str = Field(default=DEFAULT_MODEL_NAME, description="Registered model name")

    def store(self) -> MlflowStore:
        return MlflowStore.for_home(self.home, self.tracking_uri, self.experiment_name, self.model_name)

    def paths(self) -> ProjectPaths:
        return ProjectPaths.resolve(self.home).ensure()
