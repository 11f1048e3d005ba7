"""MLflow access for everything outside Dagster (CLI, service, notebooks) and inside it (via a resource).

No process-global state: every call goes through an ``MlflowClient`` built for this store's URI,
so two stores (a test's and the user's) can live in one process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reco_pipeline.settings import (
    CHAMPION_ALIAS,
    DEFAULT_EXPERIMENT,
    DEFAULT_MODEL_NAME,
    ProjectPaths,
)


@dataclass(frozen=True)
class MlflowStore:
    tracking_uri: str
    artifact_root: Path
    experiment_name: str = DEFAULT_EXPERIMENT
    model_name: str = DEFAULT_MODEL_NAME

    @classmethod
    def for_home(cls, home: str | Path | None = None, tracking_uri: str | None = None,
                 experiment_name: str = DEFAULT_EXPERIMENT, model_name: str = DEFAULT_MODEL_NAME) -> "MlflowStore":
        paths = ProjectPaths.resolve(home).ensure()
        return cls(tracking_uri or paths.tracking_uri, paths.artifact_root, experiment_name, model_name)

    def client(self):
        import mlflow

        return mlflow.MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def experiment_id(self) -> str:
        client = self.client()
        exp = client.get_experiment_by_name(self.experiment_name)
        if exp is not None:
            return exp.experiment_id
        # The artifact location is explicit: MLflow's default ("./mlruns" or "./mlartifacts") would
        # depend on the working directory of whoever created the experiment.
        location = (self.artifact_root / self.experiment_name).resolve().as_uri()
        return client.create_experiment(self.experiment_name, artifact_location=location)

    def model_version_by_alias(self, alias: str = CHAMPION_ALIAS):
        """The model version behind ``alias``, or None when the model or the alias does not exist yet."""
        from mlflow.exceptions import MlflowException

        try:
            return self.client().get_model_version_by_alias(self.model_name, alias)
        except MlflowException as exc:
            if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
                return None
            raise

    def model_uri(self, alias: str = CHAMPION_ALIAS) -> str:
        return f"models:/{self.model_name}@{alias}"
