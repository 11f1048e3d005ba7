#!/usr/bin/env bash
# README command (1): set everything up, then run the whole pipeline on the embedded default data
# (the synthetic shop) into ./.reco, and print the summary. Extra arguments go to `reco run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/reco run "$@"
