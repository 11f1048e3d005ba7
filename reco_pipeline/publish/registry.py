"""Registering model versions, reading the champion back and moving aliases."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

from reco_pipeline.publish.promotion import PromotionDecision
from reco_pipeline.publish.pyfunc import load_recommender, save_pyfunc
from reco_pipeline.publish.store import MlflowStore
from reco_pipeline.recommender import Recommender
from reco_pipeline.settings import CHAMPION_ALIAS

MODEL_ARTIFACT_PATH = "model"


def log_and_register(store: MlflowStore, run_id: str, recommender: Recommender, example_users: list[str],
                     tags: Mapping[str, str] | None = None):
    """Save the pyfunc into the run's artifacts and create a new registered model version from it."""
    from mlflow.exceptions import MlflowException

    client = store.client()
    with tempfile.TemporaryDirectory() as tmp:
        local = save_pyfunc(recommender, Path(tmp) / MODEL_ARTIFACT_PATH, example_users)
        client.log_artifacts(run_id, str(local), MODEL_ARTIFACT_PATH)
    try:
        client.create_registered_model(store.model_name, description=(
            "Hybrid LightFM recommender (collaborative + content features) trained by reco-pipeline. "
            "Input: DataFrame with user_id; params k, exclude_purchased."))
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    source = f"{client.get_run(run_id).info.artifact_uri}/{MODEL_ARTIFACT_PATH}"
    return client.create_model_version(store.model_name, source=source, run_id=run_id, tags=dict(tags or {}))


def load_version(store: MlflowStore, version: str) -> Recommender:
    import mlflow.artifacts

    # Resolve the version's location with our own client: a ``models:/`` URI would be resolved
    # against MLflow's process-global registry, which this project never sets.
    source = store.client().get_model_version_download_uri(store.model_name, str(version))
    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(artifact_uri=source, dst_path=tmp, tracking_uri=store.tracking_uri)
        return load_recommender(local)


def load_alias(store: MlflowStore, alias: str = CHAMPION_ALIAS):
    """``(Recommender, ModelVersion)`` behind an alias, or None when there is none yet."""
    mv = store.model_version_by_alias(alias)
    if mv is None:
        return None
    return load_version(store, mv.version), mv


def apply_decision(store: MlflowStore, version: str, decision: PromotionDecision) -> None:
    """Record the decision on the version and move the alias it names."""
    client = store.client()
    for key, value in decision.as_tags().items():
        client.set_model_version_tag(store.model_name, version, key, value)
    client.set_registered_model_alias(store.model_name, decision.alias, version)
