import re
from pathlib import Path

from reco_pipeline.config_reference import render

ROOT = Path(__file__).resolve().parents[1]


def test_config_reference_in_readme_is_current():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- config-reference:start -->\n(.*)<!-- config-reference:end -->", readme, re.S)
    assert block, "README.md lost its config-reference markers"
    assert block.group(1) == render(), "README is stale: python -m reco_pipeline.config_reference"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "bash scripts/quickstart.sh" in readme and "bash scripts/test.sh" in readme
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()
