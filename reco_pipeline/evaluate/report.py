"""Turning an EvaluationReport into MLflow metrics, a markdown table and a plot."""

from __future__ import annotations

from pathlib import Path

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
