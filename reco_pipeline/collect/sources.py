from __future__ import annotations

from typing import Literal

import pandas as pd

from reco_pipeline.collect.files import read_folder
from reco_pipeline.collect.online_retail import read_online_retail
from reco_pipeline.collect.raw import RawData
from reco_pipeline.collect.synthetic import SyntheticParams, generate
from reco_pipeline.schema import Columns, SchemaError

SourceKind = Literal["synthetic", "online_retail", "files"]
SOURCES: tuple[str, ...] = ("synthetic", "online_retail", "files")


def load_source(kind: str, path: str | None, synthetic: SyntheticParams) -> RawData:
    if kind == "synthetic":
        return generate(synthetic)
    if kind not in SOURCES:
        raise SchemaError(f"unknown source '{kind}'; choose one of {', '.join(SOURCES)}")
    if not path:
        what = "the Online Retail file" if kind == "online_retail" else "a folder with interactions.csv|parquet"
        raise SchemaError(f"source '{kind}' needs a path: pass --data with {what}")
    return read_online_retail(path) if kind == "online_retail" else read_folder(path)


def with_landed_events(raw: RawData, landed: pd.DataFrame) -> RawData:
    """Append events from the landing area to the source's interactions.

    They go through the same validation gate as everything else; ``origin`` tells them apart and
    ``source_row`` keeps counting so every row stays traceable.
    """
    if landed.empty:
        return raw
    base = raw.interactions.assign(origin="source")
    extra = landed.assign(origin="landing")
    extra[Columns.Row] = range(len(base), len(base) + len(extra))
    merged = pd.concat([base, extra], ignore_index=True)
    description = {**raw.description, "landed_events": str(len(extra))}
    return RawData(merged, raw.users, raw.items, raw.source, description)
