"""The data contract every stage speaks: column names, event types and canonical dtypes.

Every module refers to columns through :class:`Columns` so a rename is one edit and a typo is an
``AttributeError`` instead of a silent ``KeyError`` three stages later.
"""

from __future__ import annotations

from enum import StrEnum

import pandas as pd


class Columns:
    """Column names of the canonical tables (interactions, users, items) and of recommendation tables."""

    # interactions
    User = "user_id"
    Item = "item_id"
    Datetime = "timestamp"
    EventType = "event_type"
    Quantity = "quantity"
    Price = "price"
    Rating = "rating"
    Order = "order_id"
    EventId = "event_id"
    # users: user_id + any demographic columns
    # items
    Title = "title"
    Category = "category"
    IsProduct = "is_product"
    # derived
    Weight = "weight"
    Rank = "rank"
    Score = "score"
    Reason = "reason"
    Row = "source_row"


class EventType(StrEnum):
    """Event types the pipeline knows out of the box. Users may configure extra types."""

    VIEW = "view"
    ADD_TO_CART = "add_to_cart"
    PURCHASE = "purchase"
    REVIEW = "review"
    RETURN = "return"


BUILTIN_EVENT_TYPES: tuple[str, ...] = tuple(e.value for e in EventType)

INTERACTION_REQUIRED: tuple[str, ...] = (Columns.User, Columns.Item, Columns.Datetime, Columns.EventType)
INTERACTION_OPTIONAL: tuple[str, ...] = (
    Columns.Quantity,
    Columns.Price,
    Columns.Rating,
    Columns.Order,
    Columns.EventId,
)
USER_REQUIRED: tuple[str, ...] = (Columns.User,)
ITEM_REQUIRED: tuple[str, ...] = (Columns.Item,)
ITEM_OPTIONAL: tuple[str, ...] = (Columns.Title, Columns.Category, Columns.Price, Columns.IsProduct)


class SchemaError(ValueError):
    """Input that cannot be mapped onto the canonical schema (a missing column, an unreadable file)."""


def require_columns(df: pd.DataFrame, required: tuple[str, ...], where: str) -> None:
    """Raise :class:`SchemaError` naming ``where`` and every missing column."""
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{where}: missing required column(s) {missing}; found {list(df.columns)}. "
            f"Rename the columns to the canonical names ({', '.join(required)})."
        )


def canonical_interactions(df: pd.DataFrame) -> pd.DataFrame:
    """Give an interactions frame its canonical dtypes without dropping or coercing away bad values.

    IDs become strings (nullable), quantities/prices/ratings floats. Unparseable timestamps are kept
    as ``NaT`` so that validation can quarantine them with a reason instead of a read failing.
    Optional columns that are absent are added empty so every later stage can rely on them.
    """
    out = df.copy()
    for col in INTERACTION_OPTIONAL:
        if col not in out.columns:
            out[col] = pd.NA
    for col in (Columns.User, Columns.Item, Columns.EventType, Columns.Order, Columns.EventId):
        out[col] = _as_string(out[col])
    out[Columns.Datetime] = _keep_unparsed(out, Columns.Datetime, _as_datetime)
    for col in (Columns.Quantity, Columns.Price, Columns.Rating):
        out[col] = _keep_unparsed(out, col, lambda s: pd.to_numeric(s, errors="coerce").astype("float64"))
    return out


def raw_column(col: str) -> str:
    """Name of the column that keeps the original text of values that ``col`` could not parse."""
    return f"{col}_raw"


def _keep_unparsed(df: pd.DataFrame, col: str, parse) -> pd.Series:
    # A value that does not parse becomes NA, but the original text is kept beside it so the
    # quarantine can show what was actually in the file.
    parsed = parse(df[col])
    lost = parsed.isna() & df[col].notna()
    if lost.any():
        df[raw_column(col)] = df[col].astype("string").where(lost, pd.NA)
    return parsed


def canonical_users(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out[Columns.User] = _as_string(out[Columns.User])
    for col in out.columns:
        if col != Columns.User and out[col].dtype == object:
            out[col] = _as_string(out[col])
    return out


def canonical_items(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out[Columns.Item] = _as_string(out[Columns.Item])
    for col in (Columns.Title, Columns.Category):
        if col in out.columns:
            out[col] = _as_string(out[col])
    if Columns.Price in out.columns:
        out[Columns.Price] = pd.to_numeric(out[Columns.Price], errors="coerce").astype("float64")
    if Columns.IsProduct in out.columns:
        out[Columns.IsProduct] = out[Columns.IsProduct].astype("boolean")
    return out


def frame_fingerprint(df: pd.DataFrame) -> str:
    """sha256 of a frame's values (not its index): equal data gives an equal fingerprint."""
    import hashlib

    h = hashlib.sha256()
    h.update(",".join(map(str, df.columns)).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()


def empty_users() -> pd.DataFrame:
    return pd.DataFrame({Columns.User: pd.Series([], dtype="string")})


def empty_items() -> pd.DataFrame:
    return pd.DataFrame({Columns.Item: pd.Series([], dtype="string")})


def _as_string(s: pd.Series) -> pd.Series:
    # Integer-like floats (e.g. CustomerID 17850.0 after a CSV read with blanks) become "17850".
    if pd.api.types.is_float_dtype(s):
        as_int = s.dropna()
        if (as_int == as_int.round()).all():
            return s.astype("Int64").astype("string")
    out = s.astype("string").str.strip()
    return out.mask(out == "", pd.NA)


def _as_datetime(s: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s
    else:
        out = pd.to_datetime(s, errors="coerce", format="mixed")
    if getattr(out.dt, "tz", None) is not None:
        # Canonical time is naive UTC: retailer exports mix zones, and comparisons must not fail.
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return out.astype("datetime64[ns]")
