"""The ``files`` source: a folder of canonical CSV or Parquet exports, how a retailer plugs in their data.

Expected files (``.csv``, ``.csv.gz`` or ``.parquet``): ``interactions`` (required), ``users`` and
``items`` (optional). Column names are the canonical ones from :class:`reco_pipeline.schema.Columns`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from reco_pipeline.collect.raw import RawData
from reco_pipeline.schema import (
    INTERACTION_REQUIRED,
    ITEM_REQUIRED,
    USER_REQUIRED,
    Columns,
    SchemaError,
    canonical_interactions,
    canonical_items,
    canonical_users,
    empty_items,
    empty_users,
    require_columns,
)

_SUFFIXES = (".parquet", ".csv", ".csv.gz")


def find_table(folder: Path, name: str) -> Path | None:
    """The file holding table ``name`` in ``folder``, or None. Two candidates is an error, not a guess."""
    found = [folder / f"{name}{s}" for s in _SUFFIXES if (folder / f"{name}{s}").is_file()]
    if len(found) > 1:
        raise SchemaError(f"{folder}: more than one file for table '{name}': {[p.name for p in found]}; keep one.")
    return found[0] if found else None


def read_table(path: Path) -> pd.DataFrame:
    """Read one CSV/Parquet file with every column as written (IDs stay strings)."""
    try:
        if path.name.endswith(".parquet"):
            return pd.read_parquet(path)
        return _read_csv_any_encoding(path)
    except SchemaError:
        raise
    except Exception as exc:  # pandas/pyarrow raise many types; the user needs the file name and the cause
        raise SchemaError(f"{path}: cannot be read as a table ({type(exc).__name__}: {exc})") from exc


def _read_csv_any_encoding(path: Path, **kwargs) -> pd.DataFrame:
    # UTF-8 first; exports from Excel on Windows are often Latin-1 (the Kaggle Online Retail CSV is).
    for encoding in ("utf-8", "ISO-8859-1"):
        try:
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding=encoding, **kwargs)
        except UnicodeDecodeError:
            continue
    raise SchemaError(f"{path}: neither UTF-8 nor ISO-8859-1 text")


def read_folder(folder: str | Path) -> RawData:
    folder = Path(folder)
    if not folder.is_dir():
        raise SchemaError(f"{folder}: not a folder. The 'files' source expects a folder with interactions.csv|parquet.")
    ipath = find_table(folder, "interactions")
    if ipath is None:
        raise SchemaError(f"{folder}: no interactions.csv, interactions.csv.gz or interactions.parquet found.")
    interactions = read_table(ipath)
    require_columns(interactions, INTERACTION_REQUIRED, str(ipath))
    interactions = canonical_interactions(interactions)
    interactions[Columns.Row] = range(len(interactions))

    upath = find_table(folder, "users")
    users = empty_users() if upath is None else read_table(upath)
    if upath is not None:
        require_columns(users, USER_REQUIRED, str(upath))
        users = canonical_users(users)

    tpath = find_table(folder, "items")
    items = empty_items() if tpath is None else read_table(tpath)
    if tpath is not None:
        require_columns(items, ITEM_REQUIRED, str(tpath))
        items = canonical_items(items)

    return RawData(
        interactions=interactions,
        users=users,
        items=items,
        source="files",
        description={"interactions": str(ipath), "users": str(upath or "-"), "items": str(tpath or "-")},
    )
