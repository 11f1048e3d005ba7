"""Running the pipeline job from Python (the CLI, notebooks, tests) into the project's Dagster instance.

The job is the one the Dagster UI loads (``reco_pipeline.definitions``); runs are recorded in the
instance under ``<home>/dagster`` so they show up in the UI next to runs launched there.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reco_pipeline.settings import ProjectPaths

# Sections of a config file and where each lands in the Dagster run config.
RESOURCE_SECTIONS = {"data_source": "data_source", "validation": "validation", "mlflow": "mlflow",
                     "landing": "landing"}
OP_SECTIONS = {
    "split": "training_split",
    "featurize": "interaction_dataset",
    "search": "hyperparameter_search",
    "train": "lightfm_model",
    "evaluate": "evaluation",
    "publish": "registered_model",
    "batch": "batch_recommendations",
}
TOP_LEVEL = {"source", "data", "home"}


CHECK_ADVICE = {
    "valid_interactions_are_enough_to_train": "Supply more history, or lower validation.min_positive_events.",
    "valid_interactions_reconcile_with_raw": "This is a bug in the cleaning rules: please report it.",
    "valid_interactions_meet_contract": "The cleaned data breaks the contract: see the GX results in the UI.",
    "valid_users_meet_contract": "Customer ids must be present and unique in users.*.",
    "valid_items_meet_contract": "Product ids must be present and unique in items.*.",
}


class ConfigError(ValueError):
    """A config file or command-line option that cannot be used."""


def load_config_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    unknown = set(data) - set(RESOURCE_SECTIONS) - set(OP_SECTIONS) - TOP_LEVEL
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {sorted(unknown)}; known: "
                          f"{sorted(TOP_LEVEL | set(RESOURCE_SECTIONS) | set(OP_SECTIONS))}")
    return data


def build_run_config(settings: Mapping[str, Any], home: Path) -> dict[str, Any]:
    """Translate the user-facing sections (see README, "Configuration") into Dagster run config."""
    resources: dict[str, Any] = {}
    for section, key in RESOURCE_SECTIONS.items():
        if settings.get(section):
            resources[key] = {"config": dict(settings[section])}
    source = dict(resources.get("data_source", {}).get("config", {}))
    if settings.get("source"):
        source["kind"] = settings["source"]
    if settings.get("data"):
        source["path"] = str(Path(settings["data"]).expanduser().resolve())
    if source:
        resources["data_source"] = {"config": source}
    home_str = str(home)
    resources["mlflow"] = {"config": {**resources.get("mlflow", {}).get("config", {}), "home": home_str}}
    resources["landing"] = {"config": {**resources.get("landing", {}).get("config", {}), "home": home_str}}
    resources["io_manager"] = {"config": {"home": home_str}}
    ops = {op: {"config": dict(settings[s])} for s, op in OP_SECTIONS.items() if settings.get(s)}
    return {"resources": resources, "ops": ops}


ACTIVE_SETTINGS = "pipeline.yaml"


def save_active_settings(paths: ProjectPaths, settings: Mapping[str, Any]) -> Path:
    """Remember the settings of the last run: scheduled and sensor-triggered retrains reuse them."""
    data = {k: v for k, v in dict(settings).items() if k != "home"}
    if data.get("data"):
        data["data"] = str(Path(data["data"]).expanduser().resolve())
    target = paths.home / ACTIVE_SETTINGS
    tmp = target.with_suffix(".tmp")
    tmp.write_text("# written by `reco run`; retrains started by the schedule or the sensor use it\n"
                   + yaml.safe_dump(data, sort_keys=True))
    tmp.replace(target)
    return target


def active_run_config(home: Path) -> dict[str, Any]:
    """Run config for an automatic retrain: the last `reco run`'s settings, else the defaults."""
    path = Path(home) / ACTIVE_SETTINGS
    settings = load_config_file(path) if path.is_file() else {}
    return build_run_config(settings, Path(home))


def prepare_dagster_home(paths: ProjectPaths) -> Path:
    """Point DAGSTER_HOME at the project's instance and give it the repository's dagster.yaml."""
    paths.ensure()
    target = paths.dagster_home / "dagster.yaml"
    if not target.exists():
        repo_yaml = Path(__file__).resolve().parents[1] / "dagster.yaml"
        if repo_yaml.is_file():
            shutil.copyfile(repo_yaml, target)
        else:  # installed without the repository: the essential setting only
            target.write_text("telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(paths.dagster_home)
    return paths.dagster_home


@dataclass
class RunOutcome:
    success: bool
    dagster_run_id: str
    home: Path
    materializations: dict[str, dict[str, Any]] = field(default_factory=dict)
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    evaluation: Any = None
    published: Any = None
    quarantine_by_reason: dict[str, int] = field(default_factory=dict)
    step_seconds: dict[str, float] = field(default_factory=dict)


def _meta_value(v) -> Any:
    return getattr(v, "value", v)


def run_pipeline(settings: Mapping[str, Any], home: str | Path | None = None, instance=None,
                 log_level: str = "INFO") -> RunOutcome:
    """Materialize the whole graph once. ``instance=None`` uses the project's persistent instance."""
    from dagster import DagsterInstance

    from reco_pipeline.definitions import JOB_NAME, build_definitions

    paths = ProjectPaths.resolve(home or settings.get("home")).ensure()
    save_active_settings(paths, settings)
    if instance is None:
        prepare_dagster_home(paths)
        instance = DagsterInstance.get()
    job = build_definitions(str(paths.home)).resolve_job_def(JOB_NAME)
    run_config = build_run_config(settings, paths.home)
    run_config["loggers"] = {"console": {"config": {"log_level": log_level}}}
    result = job.execute_in_process(run_config=run_config, instance=instance, raise_on_error=False)
    out = RunOutcome(success=result.success, dagster_run_id=result.run_id, home=paths.home)
    for ev in result.get_asset_materialization_events():
        mat = ev.event_specific_data.materialization
        out.materializations[mat.asset_key.to_user_string()] = {k: _meta_value(v) for k, v in mat.metadata.items()}
    for ev in result.get_asset_check_evaluations():
        out.checks[ev.asset_check_key.name] = {"passed": ev.passed, "asset": ev.asset_key.to_user_string(),
                                              "severity": ev.severity.value,
                                              **{k: _meta_value(v) for k, v in ev.metadata.items()
                                                 if not str(k).startswith("great_expectations")}}
    starts: dict[str, float] = {}
    for entry in instance.all_logs(result.run_id):
        ev = entry.dagster_event
        if ev is None or ev.step_key is None:
            continue
        if ev.event_type_value == "STEP_START":
            starts[ev.step_key] = entry.timestamp
        elif ev.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and ev.step_key in starts:
            out.step_seconds[ev.step_key] = round(entry.timestamp - starts[ev.step_key], 2)
    for ev in result.get_step_failure_events():
        message = _user_message(ev)
        if "DagsterAssetCheckFailedError" not in message:  # reported below, with the check's numbers
            out.errors.append(message)
    for name, check in out.checks.items():
        if not check["passed"] and check["severity"] == "ERROR":
            facts = ", ".join(f"{k}={v}" for k, v in check.items() if k not in ("passed", "asset", "severity"))
            out.errors.append(f"blocking check '{name}' on {check['asset']} failed ({facts}); nothing was trained. "
                              + CHECK_ADVICE.get(name, "See the check in the Dagster UI for details."))
    if result.success:
        out.evaluation = result.output_for_node("evaluation")
        out.published = result.output_for_node("registered_model")
        q = result.output_for_node("validate_interactions", "quarantined_interactions")
        if len(q):
            counts = q["reason"].str.split(";").explode().value_counts()
            out.quarantine_by_reason = {str(k): int(v) for k, v in counts.sort_index().items()}
    return out


def _user_message(event) -> str:
    """The innermost error message of a failed step (the user's problem, not Dagster's wrapper)."""
    err = event.event_specific_data.error
    while err is not None and err.cause is not None and err.cls_name in (
            "DagsterExecutionStepExecutionError", "DagsterUserCodeExecutionError", "DagsterResourceFunctionError"):
        err = err.cause
    msg = err.message.strip() if err is not None else "unknown error"
    first = msg.splitlines()[0] if msg else msg
    if err is not None and err.cls_name in ("SchemaError", "ConfigError", "ValueError", "FileNotFoundError"):
        first = re.sub(r"^[\w.]*(SchemaError|ConfigError|ValueError|FileNotFoundError): ", "", first)
    return f"step '{event.step_key}' failed: {first}"
