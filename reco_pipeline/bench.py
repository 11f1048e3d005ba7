"""Benchmarks (scripts, not tests): ``python -m reco_pipeline.bench serve`` and ``... quality``.

Trains one champion (on the shared Online Retail file when present, else on the synthetic shop),
then measures, in the same run and on the same model:

- our service (`reco serve`) vs `mlflow models serve` on single-user top-10 over HTTP on loopback,
  sequential (p50/p99 latency) and with concurrent clients (throughput);
- batch top-10 for every user: our scoring path vs LightFM ``predict`` per user vs a bare numpy
  matrix product + ``argpartition`` (the physical floor).

Every number is printed next to a ratio against the others measured in this run, never against a
constant: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import pickle
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "online_retail" / "online_retail.csv.gz"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(port: int, path: str, timeout: float = 180.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"nothing answered on 127.0.0.1:{port}{path} within {timeout}s")


def _request_fn(kind: str):
    if kind == "ours":
        def req(conn, user):
            conn.request("GET", f"/recommendations/{user}?k=10")
            r = conn.getresponse()
            body = r.read()
            assert r.status == 200, body
    else:
        def req(conn, user):
            payload = json.dumps({"dataframe_split": {"columns": ["user_id"], "data": [[user]]}, "params": {"k": 10}})
            conn.request("POST", "/invocations", body=payload, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            body = r.read()
            assert r.status == 200, body
    return req


def measure_http(port: int, kind: str, users: list[str], n_seq: int, n_conc: int, clients: int) -> dict:
    req = _request_fn(kind)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for u in users[:50]:  # warm-up: connection, caches, lazy imports
        req(conn, u)
    lat = []
    for i in range(n_seq):
        t = time.perf_counter()
        req(conn, users[i % len(users)])
        lat.append((time.perf_counter() - t) * 1000)
    lat.sort()

    per_client = max(1, n_conc // clients)
    errors: list[str] = []

    def worker(offset: int):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            for i in range(per_client):
                req(c, users[(offset + i) % len(users)])
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(i * 997,)) for i in range(clients)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t
    return {"p50_ms": statistics.median(lat), "p99_ms": lat[int(0.99 * (len(lat) - 1))],
            "mean_ms": statistics.fmean(lat), "seq_rps": 1000.0 / statistics.fmean(lat),
            "conc_rps": clients * per_client / wall, "clients": clients, "errors": len(errors)}


def measure_batch(rec, dataset, k: int = 10, repeats: int = 3) -> dict:
    """Top-k for every known user: our path, LightFM ``predict`` per user (with the real hybrid
    feature matrices, and again with precomputed representations), and the numpy floor."""
    import scipy.sparse as sp

    users = list(rec.user_map.external_ids)
    n_users, n_items = rec.user_map.size, rec.item_map.size
    predictor = _predict_model(rec)
    user_ids = sp.identity(n_users, format="csr", dtype=np.float32)
    item_ids = sp.identity(n_items, format="csr", dtype=np.float32)
    items = np.arange(n_items, dtype=np.int32)

    def ours():
        return rec.recommend(users, k)

    def floor():
        scores = rec.user_vectors @ rec.item_vectors.T
        return np.argpartition(scores, n_items - k, axis=1)[:, n_items - k:]

    def lightfm_predict(model, uf, itf):
        out = np.empty((n_users, k), dtype=np.int64)
        for u in range(n_users):
            s = model.predict(u, items, user_features=uf, item_features=itf, num_threads=1)
            s[rec.purchased.indices[rec.purchased.indptr[u]:rec.purchased.indptr[u + 1]]] = -np.inf
            part = np.argpartition(-s, k - 1)[:k]
            out[u] = part[np.argsort(-s[part])]
        return out

    def best_of(fn, n):
        times = []
        for _ in range(n):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return min(times)

    return {"users": n_users, "items": n_items, "ours_s": best_of(ours, repeats), "floor_s": best_of(floor, repeats),
            "lightfm_predict_s": best_of(lambda: lightfm_predict(rec.model, dataset.user_features,
                                                                 dataset.item_features), 1),
            "lightfm_predict_precomputed_s": best_of(lambda: lightfm_predict(predictor, user_ids, item_ids), 1)}


def _predict_model(rec):
    """A LightFM model whose parameters are the artefact's per-user and per-item representations.

    With identity feature matrices, ``predict`` then does exactly the per-pair work it does in
    production (lookup, dot product, biases) but skips summing several feature embeddings per
    entity, so this baseline is, if anything, faster than LightFM on the real feature matrices.
    """
    import copy

    m = copy.copy(rec.model)
    d = rec.item_vectors.shape[1] - 2
    m.user_embeddings = np.ascontiguousarray(rec.user_vectors[:, :d])
    m.user_biases = np.ascontiguousarray(rec.user_vectors[:, d])
    m.item_embeddings = np.ascontiguousarray(rec.item_vectors[:, :d])
    m.item_biases = np.ascontiguousarray(rec.item_vectors[:, d + 1])
    return m


def train_champion(home: Path, data: Path | None) -> str:
    from dagster import DagsterInstance

    from reco_pipeline.runner import run_pipeline

    settings = {"source": "online_retail", "data": str(data)} if data else {"source": "synthetic"}
    out = run_pipeline(settings, home=home, instance=DagsterInstance.ephemeral(), log_level="WARNING")
    if not out.success:
        raise SystemExit(f"training the benchmark model failed: {out.errors}")
    return "online_retail" if data else "synthetic"


def bench_serve(args) -> dict:
    from reco_pipeline.publish.registry import load_alias
    from reco_pipeline.publish.store import MlflowStore

    home = Path(args.home or tempfile.mkdtemp(prefix="reco-bench-"))
    data = Path(args.data) if args.data else (DEFAULT_DATA if DEFAULT_DATA.is_file() else None)
    store = MlflowStore.for_home(home)
    if args.existing:
        if load_alias(store) is None:
            raise SystemExit(f"--existing: no champion in {home}; run `reco run --home {home}` first")
        source = f"existing champion in {home}"
    else:
        print(f"[bench] training the champion on {'Online Retail' if data else 'synthetic data'} into {home}",
              file=sys.stderr)
        source = train_champion(home, data)
    rec, mv = load_alias(store)
    with open(home / "storage" / "interaction_dataset.pkl", "rb") as fh:  # the matrices this model trained on
        dataset = pickle.load(fh)
    users = [str(u) for u in rec.user_map.external_ids]
    rng = np.random.default_rng(0)
    sample = [users[i] for i in rng.permutation(len(users))]

    print("[bench] batch top-10 for every user", file=sys.stderr)
    batch = measure_batch(rec, dataset)

    results = {"source": source, "model_version": str(mv.version), "batch": batch,
               "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"}
    bindir = Path(sys.executable).parent
    env = {**os.environ, "RECO_HOME": str(home), "MLFLOW_TRACKING_URI": store.tracking_uri,
           "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    servers = {
        "ours": ([str(bindir / "reco"), "serve", "--home", str(home), "--port", "{port}", "--poll-seconds", "0"],
                 "/health"),
        "mlflow": ([str(bindir / "mlflow"), "models", "serve", "-m", store.model_uri(), "--env-manager", "local",
                    "-h", "127.0.0.1", "-p", "{port}"], "/ping"),
    }
    for kind, (cmd, ready) in servers.items():
        port = _free_port()
        print(f"[bench] {kind}: starting on port {port}", file=sys.stderr)
        proc = subprocess.Popen([c.replace("{port}", str(port)) for c in cmd], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_http(port, ready)
            results[kind] = measure_http(port, kind, sample, args.requests, args.requests, args.clients)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    return results


def format_serve(r: dict) -> str:
    o, m, b = r["ours"], r["mlflow"], r["batch"]
    lines = [
        f"benchmark: {r['source']} champion v{r['model_version']}, {b['users']} users x {b['items']} items; {r['machine']}",
        "",
        "| single-user top-10 over HTTP (loopback) | p50 ms | p99 ms | sequential req/s | "
        f"req/s with {o['clients']} clients |",
        "|---|---|---|---|---|",
        f"| reco serve | {o['p50_ms']:.2f} | {o['p99_ms']:.2f} | {o['seq_rps']:.0f} | {o['conc_rps']:.0f} |",
        f"| mlflow models serve | {m['p50_ms']:.2f} | {m['p99_ms']:.2f} | {m['seq_rps']:.0f} | {m['conc_rps']:.0f} |",
        f"| ratio (mlflow / ours) | {m['p50_ms'] / o['p50_ms']:.1f}x | {m['p99_ms'] / o['p99_ms']:.1f}x | "
        f"{o['seq_rps'] / m['seq_rps']:.1f}x | {o['conc_rps'] / m['conc_rps']:.1f}x |",
        "",
        "| batch top-10 for every user | seconds | vs ours |",
        "|---|---|---|",
        f"| ours (Recommender.recommend: exclusions, sort, table) | {b['ours_s']:.3f} | 1.0x |",
        f"| LightFM predict per user (the model's hybrid feature matrices) | {b['lightfm_predict_s']:.3f} | "
        f"{b['lightfm_predict_s'] / b['ours_s']:.1f}x slower |",
        f"| LightFM predict per user (precomputed representations) | {b['lightfm_predict_precomputed_s']:.3f} | "
        f"{b['lightfm_predict_precomputed_s'] / b['ours_s']:.1f}x slower |",
        f"| bare numpy matmul + argpartition (floor) | {b['floor_s']:.3f} | {b['ours_s'] / b['floor_s']:.1f}x faster than ours |",
    ]
    errors = o["errors"] + m["errors"]
    if errors:
        lines.append(f"\nWARNING: {errors} requests failed during the concurrent phase")
    return "\n".join(lines)


def bench_quality(args) -> str:
    """The Online Retail protocol end to end: every model, protocol and slice, and each stage's wall time."""
    from dagster import DagsterInstance

    from reco_pipeline.runner import run_pipeline

    data = Path(args.data) if args.data else DEFAULT_DATA
    if not data.is_file():
        raise SystemExit(f"{data}: not found; pass --data with the Online Retail file")
    home = Path(args.home or tempfile.mkdtemp(prefix="reco-quality-"))
    settings = {"source": "online_retail", "data": str(data), "search": {"n_trials": args.trials}}
    out = run_pipeline(settings, home=home, instance=DagsterInstance.ephemeral(), log_level="WARNING")
    if not out.success:
        raise SystemExit(f"pipeline failed: {out.errors}")
    ev = out.evaluation
    lines = [f"Online Retail, cutoff {out.materializations['training_split']['cutoff']}, search trials {args.trials}", ""]
    for name, report in [(ev.protocol, ev), *ev.others.items()]:
        lines += [f"{name} protocol ({report.n_users} users)", "", report.to_markdown(), ""]
    for name, frame in ev.slices.items():
        lines += [f"{name} slice", "", frame.round(4).to_markdown(index=False), ""]
    lines += ["| stage (Dagster step) | seconds |", "|---|---|"]
    lines += [f"| {step} | {sec:.1f} |" for step, sec in out.step_seconds.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m reco_pipeline.bench")
    sub = p.add_subparsers(dest="what", required=True)
    s = sub.add_parser("serve", help="service latency/throughput vs mlflow models serve; batch top-k paths")
    s.add_argument("--data", help="Online Retail file (default: the shared copy when present, else synthetic)")
    s.add_argument("--home", help="project home to train into (default: a new temporary folder)")
    s.add_argument("--existing", action="store_true", help="measure the champion already in --home (no training)")
    s.add_argument("--requests", type=int, default=2000, help="requests per phase and server")
    s.add_argument("--clients", type=int, default=8, help="concurrent clients in the throughput phase")
    s.add_argument("--json", action="store_true")
    q = sub.add_parser("quality", help="the Online Retail protocol: every model, protocol, slice and stage time")
    q.add_argument("--data", help="Online Retail file (default: the shared copy)")
    q.add_argument("--home", help="project home to run in (default: a new temporary folder)")
    q.add_argument("--trials", type=int, default=6, help="hyper-parameter search budget")
    args = p.parse_args(argv)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    if args.what == "quality":
        print(bench_quality(args))
        return 0
    results = bench_serve(args)
    print(json.dumps(results) if args.json else format_serve(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
