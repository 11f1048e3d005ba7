from __future__ import annotations

from typing import Literal

from reco_pipeline.collect.files import read_folder
from reco_pipeline.collect.online_retail import read_online_retail
from reco_pipeline.collect.raw import RawData
from reco_pipeline.collect.synthetic import SyntheticParams, generate
from reco_pipeline.schema import SchemaError

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
