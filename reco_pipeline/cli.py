"""``reco``: run the pipeline, open the UIs, ask the champion for recommendations, list models."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from reco_pipeline.settings import CHAMPION_ALIAS, HOME_ENV_VAR, ProjectPaths

EXIT_USER_ERROR = 2
EXIT_RUN_FAILED = 1


class UserError(Exception):
    """A mistake the user can fix; printed as one line, no traceback."""


# ---------------------------------------------------------------------------------------------- run
def cmd_run(args: argparse.Namespace) -> int:
    from reco_pipeline.collect.sources import SOURCES
    from reco_pipeline.runner import ConfigError, load_config_file, run_pipeline

    try:
        settings: dict[str, Any] = load_config_file(args.config) if args.config else {}
    except ConfigError as exc:
        raise UserError(str(exc)) from exc
    if args.source:
        settings["source"] = args.source
    if args.data:
        settings["data"] = args.data
    if args.threads:
        settings.setdefault("train", {})["num_threads"] = args.threads
    if args.trials is not None:
        settings.setdefault("search", {})["n_trials"] = args.trials
    source = settings.get("source") or settings.get("data_source", {}).get("kind", "synthetic")
    if source not in SOURCES:
        raise UserError(f"unknown source '{source}'; choose one of {', '.join(SOURCES)}")
    data = settings.get("data") or settings.get("data_source", {}).get("path")
    if source != "synthetic":
        if not data:
            raise UserError(f"--source {source} needs --data PATH "
                            f"({'the Online Retail file' if source == 'online_retail' else 'a folder of files'})")
        if not Path(data).expanduser().exists():
            raise UserError(f"{data}: not found (given as --data for source '{source}')")
    home = _home(args)
    if not args.json:
        print(f"reco: running the pipeline on '{source}' data; project home {home}", file=sys.stderr)
    start = time.perf_counter()
    # Without --verbose, Dagster's own log stays quiet: failures are summarised below, one line each.
    outcome = run_pipeline(settings, home=home, log_level="DEBUG" if args.verbose else "CRITICAL")
    summary = _summary(outcome, source, data, time.perf_counter() - start)
    if args.json:
        print(json.dumps(summary, default=str))
    else:
        print(_format_summary(summary))
    if not outcome.success:
        for e in outcome.errors:
            print(f"error: {e}", file=sys.stderr)
        return EXIT_RUN_FAILED
    return 0


def _summary(outcome, source: str, data: str | None, seconds: float) -> dict[str, Any]:
    paths = ProjectPaths(outcome.home)
    m = outcome.materializations
    vi = m.get("valid_interactions", {})
    summary: dict[str, Any] = {
        "status": "success" if outcome.success else "failed",
        "source": source,
        "data": data,
        "seconds": round(seconds, 1),
        "dagster_run_id": outcome.dagster_run_id,
        "rows": {
            "raw": vi.get("raw_rows"),
            "valid": vi.get("valid_rows"),
            "quarantined": vi.get("quarantined_rows"),
            "reconciles": vi.get("reconciles"),
            "quarantine_by_reason": outcome.quarantine_by_reason,
        },
        "checks": {k: ("passed" if v["passed"] else ("failed" if v["severity"] == "ERROR" else "warning"))
                   for k, v in outcome.checks.items()},
        "errors": outcome.errors,
        "home": str(paths.home),
    }
    if outcome.evaluation is not None:
        ev = outcome.evaluation
        summary["evaluation"] = {"protocol": ev.protocol, "k": ev.k, "users": ev.n_users,
                                 "relevant_items": ev.n_relevant}
        summary["metrics"] = {
            "candidate": ev.candidate.metrics,
            "baselines": {b.name: b.metrics for b in ev.models if b.role == "baseline"},
            "champion": ev.champion.metrics if ev.champion else None,
        }
        summary["slices"] = {name: frame.to_dict("records") for name, frame in ev.slices.items()}
        summary["other_protocols"] = {
            name: {"users": o.n_users, "models": {m.name: m.metrics for m in o.models}} for name, o in ev.others.items()}
    if outcome.published is not None:
        p = outcome.published
        summary["decision"] = {"promoted": p.decision.promote, "alias": p.decision.alias, "reason": p.decision.reason,
                               "metric": p.decision.metric, "candidate": p.decision.candidate_value,
                               "champion": p.decision.champion_value,
                               "champion_version": p.decision.champion_version}
        summary["model"] = {"name": p.model_name, "version": p.version, "champion_version": p.champion_version,
                            "mlflow_run_id": p.run_id, "tracking_uri": p.tracking_uri}
    summary["outputs"] = {
        "batch_recommendations": str(paths.outputs / "batch_recommendations.parquet"),
        "quarantine": str(paths.storage / "quarantined_interactions.parquet"),
        "mlflow_tracking_uri": paths.tracking_uri,
        "dagster_home": str(paths.dagster_home),
    }
    report = outcome.materializations.get("registered_model", {}).get("report")
    if report:
        summary["outputs"]["evaluation_report"] = str(report)
    return summary


def _format_summary(s: dict[str, Any]) -> str:
    lines = [f"\n== reco run: {s['status']} in {s['seconds']}s (source: {s['source']}) =="]
    r = s["rows"]
    if r.get("raw") is not None:
        lines.append(f"rows read {r['raw']:,}: valid {r['valid']:,}, quarantined {r['quarantined']:,} "
                     f"({'reconciled' if r['reconciles'] else 'DOES NOT RECONCILE'})")
        for reason, n in r.get("quarantine_by_reason", {}).items():
            lines.append(f"    {reason:<24} {n:>9,}")
    checks = s.get("checks", {})
    by = {state: [k for k, v in checks.items() if v == state] for state in ("passed", "warning", "failed")}
    lines.append(f"checks: {len(by['passed'])} passed"
                 + (f"; warnings: {', '.join(by['warning'])}" if by["warning"] else "")
                 + (f"; FAILED: {', '.join(by['failed'])}" if by["failed"] else ""))
    if "metrics" in s:
        ev, mets = s["evaluation"], s["metrics"]
        k = ev["k"]
        cols = [f"precision@{k}", f"recall@{k}", f"ndcg@{k}", f"map@{k}", f"coverage@{k}"]
        lines.append(f"\nholdout ({ev['protocol']}): {ev['users']} users, {ev['relevant_items']} relevant items")
        lines.append(f"{'model':<22}" + "".join(f"{c:>14}" for c in cols))
        rows = [("candidate (lightfm)", mets["candidate"])] + list(mets["baselines"].items())
        if mets.get("champion"):
            rows.append((f"champion v{s['decision']['champion_version']}", mets["champion"]))
        for name, vals in rows:
            lines.append(f"{name:<22}" + "".join(f"{vals.get(c, float('nan')):>14.4f}" for c in cols))
        for proto, other in s.get("other_protocols", {}).items():
            best = max(other["models"].items(), key=lambda kv: kv[1].get(f"ndcg@{k}", 0))
            lines.append(f"{proto} protocol ({other['users']} users): NDCG@{k} "
                         + ", ".join(f"{n} {v.get(f'ndcg@{k}', float('nan')):.4f}" for n, v in other["models"].items())
                         + f"  (best: {best[0]})")
        for name, rows_ in s.get("slices", {}).items():
            lines.append(f"{name} slice ({rows_[0]['users']} users): NDCG@{k} "
                         + ", ".join(f"{r['model']} {r.get(f'ndcg@{k}', float('nan')):.4f}" for r in rows_))
    if "decision" in s:
        d, mdl = s["decision"], s["model"]
        verdict = "PROMOTED to champion" if d["promoted"] else "kept as challenger"
        lines.append(f"\nmodel {mdl['name']} v{mdl['version']}: {verdict}: {d['reason']}")
        lines.append(f"champion is now v{mdl['champion_version']} (models:/{mdl['name']}@{CHAMPION_ALIAS})")
    o = s["outputs"]
    if s["status"] != "success":
        lines.append("\nthe run failed; details: reco run --verbose, or the run in the Dagster UI (reco ui)")
        return "\n".join(lines)
    lines.append("\nwhere to look:")
    lines.append(f"  batch recommendations  {o['batch_recommendations']}")
    lines.append(f"  quarantined rows       {o['quarantine']}")
    lines.append(f"  MLflow store           {o['mlflow_tracking_uri']}")
    if o.get("evaluation_report"):
        lines.append(f"  evaluation report      {o['evaluation_report']}")
    # Echo the command the way the user typed it (e.g. .venv/bin/reco when the venv is not active).
    reco = sys.argv[0] if sys.argv[0].endswith("reco") and not Path(sys.argv[0]).is_absolute() else "reco"
    lines.append(f"  UIs                    {reco} ui   (Dagster http://127.0.0.1:3000, MLflow http://127.0.0.1:5000)")
    lines.append(f"  real-time API          {reco} serve   (http://127.0.0.1:8000/docs)")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------- models
def cmd_models(args: argparse.Namespace) -> int:
    from reco_pipeline.publish.store import MlflowStore

    store = MlflowStore.for_home(_home(args))
    client = store.client()
    versions = client.search_model_versions(f"name='{store.model_name}'")
    if not versions:
        raise UserError(f"no versions of '{store.model_name}' in {store.tracking_uri}; run `reco run` first")
    rm = client.get_registered_model(store.model_name)
    aliases: dict[str, list[str]] = {}
    for alias, version in (rm.aliases or {}).items():
        aliases.setdefault(str(version), []).append(alias)
    rows = []
    for v in sorted(versions, key=lambda v: int(v.version)):
        tags = v.tags or {}
        rows.append({"version": str(v.version), "aliases": sorted(aliases.get(str(v.version), [])),
                     "created": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(v.creation_timestamp / 1000)),
                     "metric": tags.get("reco.decision.metric"), "value": tags.get("reco.decision.candidate_value"),
                     "champion_value_then": tags.get("reco.decision.champion_value") or None,
                     "decision": tags.get("reco.decision.alias"), "run_id": v.run_id})
    if args.json:
        print(json.dumps({"model": store.model_name, "versions": rows}))
        return 0
    print(f"{store.model_name} in {store.tracking_uri}")
    print(f"{'version':>7}  {'aliases':<20} {'created':<20} {'metric':<10} {'value':>9}  {'vs champion then':>16}")
    for r in rows:
        val = f"{float(r['value']):.4f}" if r["value"] else "-"
        then = f"{float(r['champion_value_then']):.4f}" if r["champion_value_then"] else "-"
        print(f"{r['version']:>7}  {','.join(r['aliases']) or '-':<20} {r['created']:<20} {r['metric'] or '-':<10} "
              f"{val:>9}  {then:>16}")
    return 0


# ------------------------------------------------------------------------------------- recommend
def cmd_recommend(args: argparse.Namespace) -> int:
    from reco_pipeline.publish.registry import load_alias
    from reco_pipeline.publish.store import MlflowStore

    if args.k < 1:
        raise UserError(f"--k must be at least 1; got {args.k}")
    store = MlflowStore.for_home(_home(args))
    loaded = load_alias(store, args.alias)
    if loaded is None:
        raise UserError(f"no model under '{store.model_uri(args.alias)}' in {store.tracking_uri}; run `reco run` first")
    rec, mv = loaded
    again = args.buy_again
    recs = rec.recommend([args.user_id], args.k, exclude_purchased=not (args.include_purchased or again),
                         mode="buy_again" if again else "discovery")
    recs["title"] = rec.titles_of(recs["item_id"])
    known = args.user_id in rec.user_map
    if args.json:
        print(json.dumps({"user_id": args.user_id, "model_version": str(mv.version), "known_user": known,
                          "mode": "buy_again" if again else "discovery",
                          "fallback": None if known else "popularity",
                          "items": recs.drop(columns=["user_id"]).to_dict("records")}))
        return 0
    note = "" if known else "  (unknown user: popularity fallback)"
    print(f"top {args.k} for user {args.user_id} from {store.model_name} v{mv.version} ({args.alias}){note}")
    for r in recs.itertuples():
        print(f"{r.rank:>3}. {r.item_id:<14} {r.score:>9.4f}  {r.title or ''}")
    return 0


# -------------------------------------------------------------------------------------------- ui
def cmd_ui(args: argparse.Namespace) -> int:
    from reco_pipeline.runner import prepare_dagster_home

    paths = ProjectPaths.resolve(_home(args)).ensure()
    prepare_dagster_home(paths)
    env = {**os.environ, HOME_ENV_VAR: str(paths.home), "DAGSTER_HOME": str(paths.dagster_home)}
    bindir = Path(sys.executable).parent
    dagster_cmd = [str(bindir / "dagster"), "dev", "-m", "reco_pipeline.definitions", "-h", args.host,
                   "-p", str(args.dagster_port)]
    mlflow_cmd = [str(bindir / "mlflow"), "server", "--backend-store-uri", paths.tracking_uri,
                  "--host", args.host, "--port", str(args.mlflow_port), "--workers", "1"]
    # cwd is the project home: Dagster warns about (and ignores) a dagster.yaml in its working directory.
    procs = [subprocess.Popen(dagster_cmd, env=env, cwd=paths.home), subprocess.Popen(mlflow_cmd, env=env, cwd=paths.home)]
    print(f"Dagster UI: http://{args.host}:{args.dagster_port}   (webserver + daemon: schedules and sensors run)")
    print(f"MLflow UI:  http://{args.host}:{args.mlflow_port}")
    print("Ctrl-C stops both.", flush=True)
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
    return 0 if all(p.returncode in (0, -2, 130, None) for p in procs) else EXIT_RUN_FAILED


# ----------------------------------------------------------------------------------------- serve
def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from reco_pipeline.collect.landing import LandingArea
    from reco_pipeline.publish.store import MlflowStore
    from reco_pipeline.serve.app import create_app

    paths = ProjectPaths.resolve(_home(args)).ensure()
    store = MlflowStore.for_home(paths.home)
    if store.model_version_by_alias(args.alias) is None:
        print(f"reco serve: no model under '{store.model_uri(args.alias)}' yet; the service starts and answers 503 "
              "until `reco run` publishes one", file=sys.stderr)
    app = create_app(store, LandingArea(paths.landing), alias=args.alias, poll_seconds=args.poll_seconds)
    print(f"serving {store.model_uri(args.alias)} on http://{args.host}:{args.port} (OpenAPI: /docs)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    return 0


# ------------------------------------------------------------------------------------------ main
def _home(args: argparse.Namespace) -> Path:
    return ProjectPaths.resolve(getattr(args, "home", None)).home


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="reco", description="Self-hosted product recommendations: "
                                "Dagster pipeline + hybrid LightFM + MLflow registry.")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp):
        sp.add_argument("--home", help=f"project home (default ${HOME_ENV_VAR} or ./.reco)")

    r = sub.add_parser("run", help="materialize the whole pipeline and print a summary")
    r.add_argument("--source", choices=["synthetic", "online_retail", "files"], help="data source (default synthetic)")
    r.add_argument("--data", help="file (online_retail) or folder (files) to read")
    r.add_argument("--config", help="YAML file with settings (see README, Configuration)")
    r.add_argument("--threads", type=int, help="LightFM training threads (>1 is faster, not bit-reproducible)")
    r.add_argument("--trials", type=int, help="hyper-parameter search budget (default 6; 0 turns the search off)")
    r.add_argument("--json", action="store_true", help="print one JSON object as the last line of stdout")
    r.add_argument("--verbose", action="store_true", help="show Dagster's step log on stderr")
    common(r)
    r.set_defaults(func=cmd_run)

    u = sub.add_parser("ui", help="start the Dagster UI (webserver + daemon) and the MLflow UI on loopback")
    u.add_argument("--host", default="127.0.0.1")
    u.add_argument("--dagster-port", type=int, default=3000)
    u.add_argument("--mlflow-port", type=int, default=5000)
    common(u)
    u.set_defaults(func=cmd_ui)

    rc = sub.add_parser("recommend", help="top-k items for a user from the champion model")
    rc.add_argument("user_id")
    rc.add_argument("--k", type=int, default=10)
    rc.add_argument("--alias", default=CHAMPION_ALIAS, help="model alias to ask (default champion)")
    rc.add_argument("--include-purchased", action="store_true", help="allow items the user already bought")
    rc.add_argument("--buy-again", action="store_true", help="re-orders: bought items allowed and ranked by the "
                                                            "model's learned buy-again weights")
    rc.add_argument("--json", action="store_true")
    common(rc)
    rc.set_defaults(func=cmd_recommend)

    sv = sub.add_parser("serve", help="the real-time recommendation API (follows the champion alias)")
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--port", type=int, default=8000)
    sv.add_argument("--alias", default=CHAMPION_ALIAS)
    sv.add_argument("--poll-seconds", type=float, default=10.0, help="how often to check whether the alias moved")
    sv.add_argument("--log-level", default="warning")
    common(sv)
    sv.set_defaults(func=cmd_serve)

    m = sub.add_parser("models", help="registered model versions, aliases and key metrics")
    m.add_argument("--json", action="store_true")
    common(m)
    m.set_defaults(func=cmd_models)
    return p


def _quiet_libraries() -> None:
    # Progress bars and advice meant for notebooks drown the summary in a terminal.
    import logging
    import warnings

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    import mlflow  # noqa: F401  (mlflow configures its logger on import; quiet it afterwards)

    for name in ("mlflow", "great_expectations", "alembic"):
        logging.getLogger(name).setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _quiet_libraries()
    try:
        return args.func(args)
    except UserError as exc:
        print(f"reco {args.command}: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
