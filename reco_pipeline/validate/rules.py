"""Row-level cleaning: every raw row ends up either valid or quarantined with the reason(s).

``len(raw) == len(valid) + len(quarantined)`` holds by construction and is checked again by an
asset check, so no row can silently disappear between the source and training.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from reco_pipeline.schema import BUILTIN_EVENT_TYPES, Columns, EventType, raw_column


class Reason:
    """Quarantine reasons. Stable strings: dashboards and notebooks filter on them."""

    MISSING_USER = "missing_user_id"
    MISSING_ITEM = "missing_item_id"
    MISSING_TIMESTAMP = "missing_timestamp"
    UNPARSEABLE_TIMESTAMP = "unparseable_timestamp"
    FUTURE_TIMESTAMP = "future_timestamp"
    UNKNOWN_EVENT = "unknown_event_type"
    NON_PRODUCT = "non_product_item"
    NON_POSITIVE_PRICE = "non_positive_price"
    NON_POSITIVE_QUANTITY = "non_positive_quantity"
    UNPARSEABLE_NUMBER = "unparseable_number"
    RATING_OUT_OF_RANGE = "rating_out_of_range"
    DUPLICATE_ROW = "duplicate_row"
    DUPLICATE_EVENT_ID = "duplicate_event_id"
    DUPLICATE_KEY = "duplicate_key"


@dataclass(frozen=True)
class CleaningRules:
    """What a valid row is. Built from the validate stage's Config."""

    allowed_event_types: tuple[str, ...] = BUILTIN_EVENT_TYPES
    rating_min: float = 1.0
    rating_max: float = 5.0
    future_tolerance: pd.Timedelta = pd.Timedelta(hours=1)
    now: pd.Timestamp = field(default_factory=lambda: pd.Timestamp.now(tz="UTC").tz_localize(None))

    @property
    def latest_allowed(self) -> pd.Timestamp:
        return self.now + self.future_tolerance


@dataclass(frozen=True)
class CleanResult:
    """Valid rows and quarantined rows (the original columns plus ``reason``)."""

    valid: pd.DataFrame
    quarantined: pd.DataFrame
    table: str

    @property
    def n_raw(self) -> int:
        return len(self.valid) + len(self.quarantined)

    def reason_counts(self) -> dict[str, int]:
        """Rows per reason; a row with two problems counts under both."""
        if self.quarantined.empty:
            return {}
        reasons = self.quarantined[Columns.Reason].str.split(";").explode()
        return {str(k): int(v) for k, v in reasons.value_counts().sort_index().items()}


def _split(df: pd.DataFrame, problems: dict[str, pd.Series], table: str) -> CleanResult:
    reasons = pd.Series("", index=df.index, dtype="object")
    for name, mask in problems.items():
        mask = mask.fillna(False).astype(bool)
        reasons[mask] = reasons[mask] + ";" + name
    bad = reasons != ""
    quarantined = df[bad].copy()
    quarantined[Columns.Reason] = reasons[bad].str.lstrip(";").astype("string")
    return CleanResult(valid=df[~bad].reset_index(drop=True), quarantined=quarantined.reset_index(drop=True), table=table)


def clean_interactions(
    raw: pd.DataFrame, rules: CleaningRules, non_product_items: Iterable[str] = ()
) -> CleanResult:
    ts = raw[Columns.Datetime]
    ts_raw = raw.get(raw_column(Columns.Datetime))
    unparseable_ts = ts.isna() & (ts_raw.notna() if ts_raw is not None else False)
    number_raw = [raw[raw_column(c)].notna() for c in (Columns.Quantity, Columns.Price, Columns.Rating)
                  if raw_column(c) in raw.columns]
    event = raw[Columns.EventType]
    price, qty, rating = raw[Columns.Price], raw[Columns.Quantity], raw[Columns.Rating]
    non_product = set(non_product_items)
    # Exact duplicates: everything the source said is equal (the row number is ours, not the source's).
    content = [c for c in raw.columns if c != Columns.Row]
    problems = {
        Reason.MISSING_USER: raw[Columns.User].isna(),
        Reason.MISSING_ITEM: raw[Columns.Item].isna(),
        Reason.MISSING_TIMESTAMP: ts.isna() & ~unparseable_ts,
        Reason.UNPARSEABLE_TIMESTAMP: unparseable_ts,
        Reason.FUTURE_TIMESTAMP: ts > rules.latest_allowed,
        Reason.UNKNOWN_EVENT: ~event.isin(rules.allowed_event_types) | event.isna(),
        Reason.NON_PRODUCT: raw[Columns.Item].isin(non_product) if non_product else pd.Series(False, index=raw.index),
        Reason.NON_POSITIVE_PRICE: price <= 0,
        Reason.NON_POSITIVE_QUANTITY: (event == EventType.PURCHASE.value) & (qty <= 0),
        Reason.UNPARSEABLE_NUMBER: pd.concat(number_raw, axis=1).any(axis=1) if number_raw else pd.Series(False, index=raw.index),
        Reason.RATING_OUT_OF_RANGE: rating.notna() & ((rating < rules.rating_min) | (rating > rules.rating_max)),
        Reason.DUPLICATE_ROW: raw.duplicated(subset=content, keep="first"),
    }
    if raw[Columns.EventId].notna().any():
        ids = raw[Columns.EventId]
        problems[Reason.DUPLICATE_EVENT_ID] = ids.notna() & ids.duplicated(keep="first") & ~problems[Reason.DUPLICATE_ROW]
    return _split(raw, problems, "interactions")


def clean_entities(raw: pd.DataFrame, key: str, table: str) -> CleanResult:
    """Users or items: a key is required and unique (the first row for a key wins)."""
    missing = Reason.MISSING_USER if key == Columns.User else Reason.MISSING_ITEM
    problems = {
        missing: raw[key].isna(),
        Reason.DUPLICATE_KEY: raw[key].notna() & raw[key].duplicated(keep="first"),
    }
    return _split(raw, problems, table)


def non_product_items(items: pd.DataFrame) -> set[str]:
    if Columns.IsProduct not in items.columns:
        return set()
    flag = items[Columns.IsProduct].astype("boolean")
    return set(items.loc[flag.eq(False).fillna(False), Columns.Item].dropna().astype(str))
