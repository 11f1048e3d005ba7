"""The `reco` command through a real subprocess, as a user runs it."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from reco_pipeline_tests.conftest import online_retail_path, tiny_pipeline_settings


def reco(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "reco_pipeline.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def cli_home(tmp_path_factory):
    base = tmp_path_factory.mktemp("cli")
    cfg = base / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(tiny_pipeline_settings()))
    home = base / "home"
    proc = reco("run", "--config", str(cfg), "--home", str(home), "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return home, last_json(proc.stdout)


def test_run_json_has_rows_metrics_and_decision(cli_home):
    home, summary = cli_home
    assert summary["status"] == "success"
    assert summary["rows"]["raw"] == summary["rows"]["valid"] + summary["rows"]["quarantined"]
    assert summary["rows"]["reconciles"] is True
    assert set(summary["metrics"]["baselines"]) == {"popularity", "recent_popularity", "user_knn_50", "ease",
                                                    "lightfm_raw", "ease_reranked"}
    assert "buy_again" in summary["other_protocols"]
    report = summary["outputs"]["evaluation_report"]
    assert report.endswith("evaluation/report.html") and Path(report.removeprefix("file://")).is_file()
    assert summary["metrics"]["candidate"]["ndcg@10"] > 0
    assert summary["decision"]["promoted"] is True and summary["model"]["version"] == "1"
    assert (home / "dagster" / "dagster.yaml").is_file()  # the run landed in the project's Dagster instance
    assert any((home / "dagster").glob("**/*.db"))


def test_run_is_recorded_in_the_dagster_instance(cli_home):
    home, summary = cli_home
    code = ("import os,sys; os.environ['DAGSTER_HOME']=sys.argv[1]; from dagster import DagsterInstance; "
            "r=DagsterInstance.get().get_run_by_id(sys.argv[2]); print(r.job_name, r.status.value)")
    out = subprocess.run([sys.executable, "-c", code, str(home / "dagster"), summary["dagster_run_id"]],
                         capture_output=True, text=True)
    assert out.stdout.split() == ["reco_pipeline", "SUCCESS"], out.stderr[-2000:]


def test_models_and_recommend(cli_home):
    home, summary = cli_home
    models = reco("models", "--home", str(home), "--json")
    assert models.returncode == 0, models.stderr
    versions = last_json(models.stdout)["versions"]
    assert versions[0]["aliases"] == ["champion"]

    import pandas as pd

    user = pd.read_parquet(summary["outputs"]["batch_recommendations"])["user_id"].iloc[0]
    rec = reco("recommend", user, "--k", "5", "--home", str(home), "--json")
    assert rec.returncode == 0, rec.stderr
    body = last_json(rec.stdout)
    assert body["known_user"] is True and len(body["items"]) == 5 and body["model_version"] == "1"
    again = last_json(reco("recommend", user, "--k", "5", "--buy-again", "--home", str(home), "--json").stdout)
    assert again["mode"] == "buy_again" and len(again["items"]) == 5
    human = reco("recommend", "nobody-at-all", "--home", str(home))
    assert human.returncode == 0 and "popularity fallback" in human.stdout


@pytest.mark.parametrize("args,needle", [
    (["run", "--source", "online_retail"], "needs --data"),
    (["run", "--source", "files", "--data", "/no/such/folder"], "/no/such/folder: not found"),
    (["recommend", "u1", "--k", "0"], "--k must be at least 1"),
])
def test_user_mistakes_are_one_line_and_exit_2(tmp_path, args, needle):
    proc = reco(*args, "--home", str(tmp_path / "h"))
    assert proc.returncode == 2
    assert needle in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_recommend_without_a_model_says_what_to_do(tmp_path):
    proc = reco("recommend", "u1", "--home", str(tmp_path / "empty"))
    assert proc.returncode == 2 and "run `reco run` first" in proc.stderr and "Traceback" not in proc.stderr


def test_bad_config_file(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("train: [1, 2\n")
    proc = reco("run", "--config", str(cfg), "--home", str(tmp_path / "h"))
    assert proc.returncode == 2 and "not valid YAML" in proc.stderr


def test_online_retail_end_to_end_twice(tmp_path):
    """The issue's acceptance run: real data, JSON summary, identical metrics on a rerun, champion kept."""
    data = online_retail_path()
    home = tmp_path / "home"
    # A small search budget keeps the suite within minutes; the search's own tests cover the rest.
    cfg = tmp_path / "budget.yaml"
    cfg.write_text("search: {n_trials: 2, max_epochs: 20}\n")
    first = reco("run", "--source", "online_retail", "--data", str(data), "--home", str(home), "--json",
                 "--config", str(cfg))
    assert first.returncode == 0, first.stderr[-3000:]
    s1 = last_json(first.stdout)
    assert s1["rows"]["raw"] == 541_909 and s1["rows"]["reconciles"]
    reasons = s1["rows"]["quarantine_by_reason"]
    assert reasons["missing_user_id"] == 135_080 and reasons["non_positive_price"] == 2_517
    assert reasons["non_product_item"] > 0 and reasons["duplicate_row"] == 5_268
    assert s1["decision"]["promoted"] and s1["metrics"]["candidate"]["ndcg@10"] > \
        s1["metrics"]["baselines"]["popularity"]["ndcg@10"]

    second = reco("run", "--source", "online_retail", "--data", str(data), "--home", str(home), "--json",
                  "--config", str(cfg))
    assert second.returncode == 0, second.stderr[-3000:]
    s2 = last_json(second.stdout)
    assert s2["metrics"]["candidate"] == s1["metrics"]["candidate"]
    assert s2["decision"]["promoted"] is False and s2["model"]["champion_version"] == "1"


def test_notebook_cells_run_against_the_store(cli_home, monkeypatch):
    """Executes every code cell of the notebook, in order, against the home `reco run` just filled."""
    from pathlib import Path

    home, summary = cli_home
    monkeypatch.setenv("RECO_HOME", str(home))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / "runs_and_models.ipynb").read_text())
    scope: dict = {}
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), "runs_and_models.ipynb", "exec"), scope)
    assert scope["table"]["decision"].tolist() == ["champion"]
    assert len(scope["batch"]) > 0 and list(scope["versions"]["version"].astype(str)) == ["1"]
    assert {"popularity", "user_knn_50", "ease", "lightfm_raw", "ease_reranked"} <= set(scope["baselines"])
    assert len(scope["fig"].axes[0].patches) == 1 + len(scope["baselines"])  # the one run: candidate + each baseline


def test_mlflow_models_serve_answers_for_the_champion(cli_home):
    """MLflow's own scoring server loads the registered pyfunc by alias and returns recommendations."""
    import os
    import socket
    import time
    import urllib.request
    from pathlib import Path

    home, summary = cli_home
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bindir = Path(sys.executable).parent
    env = {**os.environ, "MLFLOW_TRACKING_URI": summary["outputs"]["mlflow_tracking_uri"],
           "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.Popen([str(bindir / "mlflow"), "models", "serve", "-m", "models:/reco-lightfm@champion",
                             "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2)
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
                time.sleep(0.5)
        payload = json.dumps({"dataframe_split": {"columns": ["user_id"], "data": [["nobody"]]},
                              "params": {"k": 3}}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=payload,
                                     headers={"Content-Type": "application/json"})
        preds = json.loads(urllib.request.urlopen(req, timeout=30).read())["predictions"]
        assert [p["rank"] for p in preds] == [1, 2, 3] and preds[0]["source"] == "popularity"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
