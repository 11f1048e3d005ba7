"""Turning an EvaluationReport into MLflow metrics, a markdown table and a plot."""

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


def plot_metric_curve(report: EvaluationReport, path: Path, metric: str = "ndcg") -> Path:
    import matplotlib

    matplotlib.use("Agg")  # headless: the pipeline runs without a display
    import matplotlib.pyplot as plt

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
