"""Where the project keeps its state, resolved at run time (never at import time).

Everything the embedded default needs lives under one *project home* folder:

- ``mlflow.db`` and ``mlartifacts/``: the MLflow tracking store + model registry and its artifacts
- ``dagster/``: the Dagster instance (SQLite run, event-log and schedule storage)
- ``storage/``: asset values written by the IO manager (parquet tables, pickled models)
- ``landing/``: incoming event batches (feedback loop)
- ``outputs/``: published tables such as batch recommendations

The home is, in order: an explicit value (config or ``--home``), ``$RECO_HOME``, ``./.reco``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_ENV_VAR = "RECO_HOME"
DEFAULT_HOME_DIRNAME = ".reco"
DEFAULT_MODEL_NAME = "reco-lightfm"
DEFAULT_EXPERIMENT = "reco-pipeline"
CHAMPION_ALIAS = "champion"
CHALLENGER_ALIAS = "challenger"


def resolve_home(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Absolute project home; see the module docstring for the lookup order."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get(HOME_ENV_VAR)
    if env:
        return Path(env).expanduser().resolve()
    return (Path.cwd() / DEFAULT_HOME_DIRNAME).resolve()


@dataclass(frozen=True)
class ProjectPaths:
    home: Path

    @classmethod
    def resolve(cls, explicit: str | os.PathLike[str] | None = None) -> "ProjectPaths":
        return cls(resolve_home(explicit))

    @property
    def mlflow_db(self) -> Path:
        return self.home / "mlflow.db"

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.mlflow_db}"

    @property
    def artifact_root(self) -> Path:
        return self.home / "mlartifacts"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def storage(self) -> Path:
        return self.home / "storage"

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def outputs(self) -> Path:
        return self.home / "outputs"

    def ensure(self) -> "ProjectPaths":
        for p in (self.home, self.artifact_root, self.dagster_home, self.storage, self.landing, self.outputs):
            p.mkdir(parents=True, exist_ok=True)
        return self
