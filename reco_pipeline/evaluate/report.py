"""Turning an EvaluationReport into MLflow metrics, plots and one report per run (markdown and HTML)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from reco_pipeline.evaluate.protocol import BASELINE, CANDIDATE, CHAMPION, EvaluationReport


def metric_key(name: str) -> str:
    """``ndcg@10`` -> ``ndcg_at_10`` (MLflow metric names cannot hold '@')."""
    return name.replace("@", "_at_")


def flat_metrics(report: EvaluationReport) -> dict[str, float]:
    """Candidate metrics unprefixed, baselines as ``baseline_<name>_...``, champion as ``champion_...``."""
    out: dict[str, float] = {}
    for m in report.models:
        prefix = {CANDIDATE: "", BASELINE: f"baseline_{m.name}_", CHAMPION: "champion_"}[m.role]
        for key, value in m.metrics.items():
            out[prefix + metric_key(key)] = value
    out["eval_users"] = float(report.n_users)
    out["eval_relevant_items"] = float(report.n_relevant)
    for name, other in report.others.items():
        out.update({f"{name}_{k}": v for k, v in flat_metrics(other).items()})
    for name, frame in report.slices.items():
        for row in frame.to_dict("records"):
            for key, value in row.items():
                if "@" in key:
                    out[f"{name}_{row['model']}_{metric_key(key)}"] = float(value)
        out[f"{name}_users"] = float(frame["users"].iloc[0])
    return out


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # headless: the pipeline runs without a display
    import matplotlib.pyplot as plt

    return plt


def plot_metric_curve(report: EvaluationReport, path: Path, metric: str = "ndcg") -> Path:
    plt = _pyplot()

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for m in report.models:
        ks = sorted(m.curve)
        style = "-" if m.role == CANDIDATE else ("--" if m.role == CHAMPION else ":")
        ax.plot(ks, [m.curve[k][metric] for k in ks], style, marker="o", label=f"{m.name} ({m.role})")
    ax.set_xscale("log")
    ax.set_xlabel("k")
    ax.set_ylabel(f"{metric.upper()}@k")
    ax.set_title(f"{metric.upper()}@k on the {report.protocol} holdout ({report.n_users} users)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def popularity_bias_frame(report: EvaluationReport, item_popularity, item_ids) -> pd.DataFrame:
    """Mean popularity rank percentile of recommended items per model (0 = the most popular item)."""
    order = np.argsort(np.argsort(-np.asarray(item_popularity)))  # 0 = most popular
    pct = pd.Series(order / max(len(order) - 1, 1), index=list(item_ids))
    return pd.DataFrame([{"model": m.name, "coverage": m.metrics[f"coverage@{report.k}"],
                          "mean_popularity_percentile": float(pct.reindex(m.recommended_items).mean())
                          if m.recommended_items else float("nan")} for m in report.models])


def plot_popularity_bias(bias: pd.DataFrame, report: EvaluationReport, path: Path) -> Path:
    """Accuracy against popularity bias: where each model sits between "recommends the best sellers to
    everyone" (low percentile, low coverage) and "spreads over the catalogue"."""
    plt = _pyplot()
    key = f"ndcg@{report.k}"
    roles = {m.name: m.role for m in report.models}
    ndcg = {m.name: m.metrics[key] for m in report.models}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.3))
    for ax, x, label in ((axes[0], "mean_popularity_percentile", "mean popularity percentile of recommended items "
                          "(0 = best seller)"), (axes[1], "coverage", f"catalogue coverage@{report.k}")):
        for _, r in bias.iterrows():
            role = roles.get(r["model"], BASELINE)
            ax.scatter(r[x], ndcg[r["model"]], s=70 if role == CANDIDATE else 40,
                       marker={CANDIDATE: "*", CHAMPION: "D"}.get(role, "o"))
            ax.annotate(r["model"], (r[x], ndcg[r["model"]]), fontsize=8, xytext=(4, 3), textcoords="offset points")
        ax.set_xlabel(label)
        ax.set_ylabel(key.upper())
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"Accuracy vs popularity bias ({report.protocol} holdout)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def render_html_report(report: EvaluationReport, figures: dict[str, Path], decision=None, search=None,
                       bias: pd.DataFrame | None = None, ranker=None) -> str:
    """The same content as :func:`render_report` as one self-contained HTML page (plots embedded),
    so it opens straight from the MLflow UI's artifact view or a Dagster metadata link."""
    import base64
    import html

    def table(frame: pd.DataFrame) -> str:
        return frame.to_html(index=False, float_format=lambda v: f"{v:.4f}", border=0, classes="t")

    def section(title: str, body: str) -> str:
        return f"<h2>{html.escape(title)}</h2>\n{body}\n"

    parts = [f"<p>Holdout: <b>{report.protocol}</b> protocol, {report.n_users} customers, {report.n_relevant} "
             f"relevant items, catalogue {report.catalogue_size}, k = {report.k}.</p>"]
    if decision is not None:
        body = f"<p><b>{html.escape(decision.alias)}</b>: {html.escape(decision.reason)}</p>"
        items = ""
        if decision.interval is not None:
            i = decision.interval
            items += (f"<li>paired bootstrap over {i.users} customers, {i.resamples} resamples: mean difference "
                      f"{i.mean_difference:+.5f}, {i.confidence:.0%} interval [{i.low:+.5f}, {i.high:+.5f}]</li>")
        for g in decision.guardrails:
            items += (f"<li>guardrail {html.escape(g.name)}: candidate {g.candidate:.4f} vs champion {g.champion:.4f} "
                      f"(margin {g.margin}): {'pass' if g.passed else '<b>FAIL</b>'}</li>")
        parts.append(section("Promotion decision", body + (f"<ul>{items}</ul>" if items else "")))
    parts.append(section("Discovery (products bought before the cutoff excluded)", table(report.table())))
    for name, other in report.others.items():
        parts.append(section(f"{name.replace('_', '-').capitalize()} ({other.n_users} customers)", table(other.table())))
    for name, frame in report.slices.items():
        parts.append(section(f"Slice: {name.replace('_', ' ')}", table(frame)))
    if bias is not None:
        parts.append(section("Popularity bias (0 = the best-selling product)", table(bias)))
    for name, path in figures.items():
        data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
        parts.append(f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,{data}">'
                     f"<figcaption>{html.escape(name)}</figcaption></figure>")
    notes = [f"<li>{html.escape(m.name)}: {html.escape(m.note)}</li>" for m in report.models if m.note]
    if notes:
        parts.append(section("Notes", "<ul>" + "".join(notes) + "</ul>"))
    if ranker is not None:
        weights = pd.DataFrame([{"protocol": mode, **w} for mode, w in ranker.describe().items()])
        parts.append(section("Ranking stage weights (fitted on the validation window)", table(weights)))
    if search is not None:
        parts.append(section("Hyper-parameter search", f"<p>{len(search.trials)} trials, best validation NDCG@10 "
                             f"{search.best_value:.4f} (defaults {search.default_value:.4f}); chosen: "
                             f"{html.escape(str(search.params()))}</p>" + table(search.trials)))
    style = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}table.t{border-collapse:collapse;"
             "font-size:13px}table.t td,table.t th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}"
             "img{max-width:100%}figcaption{color:#555;font-size:12px}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Evaluation report</title><style>{style}"
            f"</style></head><body><h1>Evaluation report</h1>{''.join(parts)}</body></html>")


def render_report(report: EvaluationReport, decision=None, search=None) -> str:
    """One markdown report per run: protocols, slices, the gate's statistics, the search."""
    lines = ["# Evaluation report", "", f"Holdout: {report.protocol} protocol, {report.n_users} users, "
             f"{report.n_relevant} relevant items, catalogue {report.catalogue_size}, k = {report.k}.", "",
             "## Discovery (items bought before the cutoff excluded)", "", report.to_markdown(), ""]
    for name, other in report.others.items():
        lines += [f"## {name.replace('_', '-').capitalize()} ({other.n_users} users)", "", other.to_markdown(), ""]
    for name, frame in report.slices.items():
        lines += [f"## Slice: {name.replace('_', ' ')}", "", frame.round(4).to_markdown(index=False), ""]
    notes = [f"- {m.name}: {m.note}" for m in report.models if m.note]
    if notes:
        lines += ["## Notes", "", *notes, ""]
    if decision is not None:
        lines += ["## Promotion decision", "", f"**{decision.alias}**: {decision.reason}", ""]
        if decision.interval is not None:
            i = decision.interval
            lines.append(f"- paired bootstrap over {i.users} users, {i.resamples} resamples: mean difference "
                         f"{i.mean_difference:+.5f}, {i.confidence:.0%} interval [{i.low:+.5f}, {i.high:+.5f}]")
        for g in decision.guardrails:
            lines.append(f"- guardrail {g.name}: candidate {g.candidate:.4f} vs champion {g.champion:.4f} "
                         f"(margin {g.margin}): {'pass' if g.passed else 'FAIL'}")
        lines.append("")
    if search is not None:
        lines += ["## Hyper-parameter search", "", f"{len(search.trials)} trials, best validation NDCG@10 "
                  f"{search.best_value:.4f} (defaults {search.default_value:.4f}); chosen: {search.params()}", "",
                  search.trials.round(5).to_markdown(index=False), ""]
    lines += ["![NDCG@k](ndcg_at_k.png)", ""]
    return "\n".join(lines)
