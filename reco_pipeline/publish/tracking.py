"""One MLflow run per pipeline execution: params, metrics, artifacts, input dataset, lineage tags."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from reco_pipeline.publish.store import MlflowStore


def start_run(store: MlflowStore, run_name: str, tags: Mapping[str, str]) -> str:
    run = store.client().create_run(store.experiment_id(), run_name=run_name, tags=dict(tags),
                                    start_time=int(time.time() * 1000))
    return run.info.run_id


def pipeline_run(store: MlflowStore, dagster_run_id: str, tags: Mapping[str, str] | None = None) -> str:
    """The one MLflow run of a Dagster run: found by its ``dagster.run_id`` tag, created on first use.

    The search (trials as child runs) and the publish stage both log into it.
    """
    found = store.client().search_runs([store.experiment_id()],
                                       filter_string=f"tags.`dagster.run_id` = '{dagster_run_id}'", max_results=1)
    if found:
        run_id = found[0].info.run_id
        for k, v in (tags or {}).items():
            store.client().set_tag(run_id, k, v)
        return run_id
    return start_run(store, run_name=f"dagster-{dagster_run_id[:8]}",
                     tags={"dagster.run_id": dagster_run_id, **dict(tags or {})})


def log_child_run(store: MlflowStore, parent_run_id: str, name: str, params: Mapping[str, object],
                  metrics: Mapping[str, float]) -> str:
    run_id = start_run(store, run_name=name, tags={"mlflow.parentRunId": parent_run_id})
    log_params_metrics(store, run_id, params, metrics)
    finish_run(store, run_id)
    return run_id


def log_params_metrics(store: MlflowStore, run_id: str, params: Mapping[str, object],
                       metrics: Mapping[str, float]) -> None:
    from mlflow.entities import Metric, Param

    now = int(time.time() * 1000)
    # MLflow caps a param value at 6000 chars; ours are short, but JSON-encode structures for readability.
    ps = [Param(k, json.dumps(v) if isinstance(v, (dict, list, tuple)) else str(v)) for k, v in sorted(params.items())]
    ms = [Metric(k, float(v), now, 0) for k, v in sorted(metrics.items())]
    client = store.client()
    for i in range(0, max(len(ps), len(ms)), 100):  # log_batch accepts at most 100 params per call
        client.log_batch(run_id, metrics=ms[i:i + 100], params=ps[i:i + 100])


def log_text(store: MlflowStore, run_id: str, text: str, artifact_file: str) -> None:
    store.client().log_text(run_id, text, artifact_file)


def log_file(store: MlflowStore, run_id: str, path: Path, artifact_dir: str | None = None) -> None:
    store.client().log_artifact(run_id, str(path), artifact_dir)


def log_input_dataset(store: MlflowStore, run_id: str, frame: pd.DataFrame, source: str, name: str,
                      digest: str, context: str = "training") -> None:
    """Record the data the model learned from (schema, size, source and fingerprint) on the run."""
    import mlflow.data
    from mlflow.entities import Dataset, DatasetInput, InputTag

    # A small sample is enough for MLflow to infer the schema; the profile states the real size.
    sample = mlflow.data.from_pandas(frame.head(1000), source=source, name=name, digest=digest[:36])._to_mlflow_entity()
    entity = Dataset(name=name, digest=digest[:36], source_type=sample.source_type, source=sample.source,
                     schema=sample.schema, profile=json.dumps({"num_rows": len(frame), "num_elements": int(frame.size)}))
    store.client().log_inputs(run_id, datasets=[DatasetInput(entity, tags=[InputTag("mlflow.data.context", context)])])


def finish_run(store: MlflowStore, run_id: str, status: str = "FINISHED") -> None:
    store.client().set_terminated(run_id, status=status, end_time=int(time.time() * 1000))
