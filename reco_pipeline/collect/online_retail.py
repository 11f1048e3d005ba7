"""The ``online_retail`` source: the UCI Online Retail layout (Chen, 2015, CC BY 4.0).

Accepts the layouts users have in hand: gzip or plain CSV (UTF-8 or ISO-8859-1, ISO dates or the
Kaggle ``12/1/2010 8:26`` style), Parquet, and the original Excel file when ``openpyxl`` is installed.

Mapping onto the canonical schema, keeping every line:

- an invoice line is a ``purchase`` (quantity, unit price); an invoice starting with ``C`` is a
  cancellation and becomes a ``return`` event (kept, never a positive signal);
- ``CustomerID`` is the user (empty on guest checkouts: kept here, quarantined by validation);
- ``Country`` becomes a user attribute (the customer's most frequent country);
- ``StockCode`` is the item, ``Description`` its title; postage, fees, manual adjustments and
  vouchers are flagged ``is_product = False`` so validation can keep them out of training.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from reco_pipeline.collect.files import _read_csv_any_encoding
from reco_pipeline.collect.raw import RawData
from reco_pipeline.schema import (
    Columns,
    EventType,
    SchemaError,
    canonical_interactions,
    canonical_items,
    canonical_users,
    raw_column,
)

SOURCE_COLUMNS = ("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country")

# Stock codes that are services or bookkeeping, not products a customer could be recommended.
NON_PRODUCT_CODES = frozenset(
    {"POST", "DOT", "M", "C2", "D", "S", "B", "BANK CHARGES", "AMAZONFEE", "CRUK", "PADS", "CHECK", "ADJUST"}
)
_NON_PRODUCT_PATTERN = re.compile(r"^(gift_\d+_\d+|ADJUST\d*)$", re.IGNORECASE)


def is_product_code(code: str | None) -> bool:
    if code is None or pd.isna(code):
        return False
    code = str(code).strip()
    return code.upper() not in NON_PRODUCT_CODES and not _NON_PRODUCT_PATTERN.match(code)


def read_source_table(path: str | Path) -> pd.DataFrame:
    """Read the file as strings, exactly as written, whatever the supported layout."""
    path = Path(path)
    if not path.is_file():
        raise SchemaError(
            f"{path}: file not found. Download 'Online Retail' from the UCI repository "
            "(doi:10.24432/C5BW33) or pass --data with the path to your copy."
        )
    name = path.name.lower()
    try:
        if name.endswith(".parquet"):
            df = pd.read_parquet(path).astype("string")
        elif name.endswith((".xlsx", ".xls")):
            df = pd.read_excel(path, dtype=str)
        else:
            df = _read_csv_any_encoding(path)
    except SchemaError:
        raise
    except ImportError as exc:
        raise SchemaError(f"{path}: reading Excel needs openpyxl (pip install openpyxl), or convert it to CSV.") from exc
    except Exception as exc:
        raise SchemaError(f"{path}: cannot be read ({type(exc).__name__}: {exc})") from exc
    missing = [c for c in SOURCE_COLUMNS if c not in df.columns]
    if missing:
        raise SchemaError(f"{path}: not the Online Retail layout; missing column(s) {missing}, found {list(df.columns)}.")
    return df


def parse_invoice_dates(s: pd.Series) -> pd.Series:
    """ISO ``2010-12-01 08:26:00`` or US ``12/1/2010 8:26`` (the Kaggle CSV); unparseable -> NaT."""
    s = s.astype("string").str.strip()
    iso = pd.to_datetime(s, format="%Y-%m-%d %H:%M:%S", errors="coerce")
    todo = iso.isna() & s.notna()
    if todo.any():
        us = pd.to_datetime(s[todo], format="%m/%d/%Y %H:%M", errors="coerce")
        iso.loc[todo] = us
        todo = iso.isna() & s.notna()
    if todo.any():
        iso.loc[todo] = pd.to_datetime(s[todo], errors="coerce", format="mixed")
    return iso


def to_canonical(src: pd.DataFrame, path: str = "online_retail") -> RawData:
    invoice = src["InvoiceNo"].astype("string").str.strip()
    is_cancel = invoice.str.upper().str.startswith("C").fillna(False)
    interactions = pd.DataFrame(
        {
            # Exports that went through Excel or pandas write ids as "17850.0".
            Columns.User: src["CustomerID"].astype("string").str.strip().str.replace(r"\.0+$", "", regex=True),
            Columns.Item: src["StockCode"],
            Columns.Datetime: parse_invoice_dates(src["InvoiceDate"]),
            Columns.EventType: pd.Series(EventType.PURCHASE.value, index=src.index).where(~is_cancel, EventType.RETURN.value),
            Columns.Quantity: src["Quantity"],
            Columns.Price: src["UnitPrice"],
            Columns.Order: invoice,
        }
    )
    interactions = canonical_interactions(interactions)
    bad_time = interactions[Columns.Datetime].isna() & src["InvoiceDate"].notna()
    if bad_time.any():
        interactions[raw_column(Columns.Datetime)] = src["InvoiceDate"].astype("string").where(bad_time, pd.NA)
    interactions["country"] = src["Country"].astype("string").str.strip()
    # Kept on the line so "exact duplicate" means the whole source line, as the data set's notes count it.
    interactions["description"] = src["Description"].astype("string")
    interactions[Columns.Row] = range(len(interactions))

    users = _users_from_lines(interactions)
    items = _items_from_lines(interactions, src["Description"])
    return RawData(interactions=interactions, users=users, items=items, source="online_retail",
                   description={"interactions": path})


def _users_from_lines(interactions: pd.DataFrame) -> pd.DataFrame:
    known = interactions.dropna(subset=[Columns.User])
    # A customer's country is the one on most of their lines (a handful of customers have two).
    country = (
        known.groupby([Columns.User, "country"], observed=True).size().rename("n").reset_index()
        .sort_values([Columns.User, "n", "country"], ascending=[True, False, True])
        .drop_duplicates(Columns.User)[[Columns.User, "country"]]
    )
    return canonical_users(country.reset_index(drop=True))


def _items_from_lines(interactions: pd.DataFrame, description: pd.Series) -> pd.DataFrame:
    lines = pd.DataFrame(
        {
            Columns.Item: interactions[Columns.Item],
            Columns.Title: description.astype("string").str.strip(),
            Columns.Price: interactions[Columns.Price],
        }
    ).dropna(subset=[Columns.Item])
    # One code can carry several spellings; take the most frequent non-empty one.
    titles = (
        lines.dropna(subset=[Columns.Title]).groupby([Columns.Item, Columns.Title]).size().rename("n").reset_index()
        .sort_values([Columns.Item, "n", Columns.Title], ascending=[True, False, True])
        .drop_duplicates(Columns.Item).set_index(Columns.Item)[Columns.Title]
    )
    price = lines[lines[Columns.Price] > 0].groupby(Columns.Item)[Columns.Price].median()
    items = pd.DataFrame({Columns.Item: lines[Columns.Item].drop_duplicates().sort_values().to_numpy()})
    items[Columns.Title] = items[Columns.Item].map(titles)
    items[Columns.Price] = items[Columns.Item].map(price)
    items[Columns.IsProduct] = items[Columns.Item].map(is_product_code)
    return canonical_items(items)


def read_online_retail(path: str | Path) -> RawData:
    return to_canonical(read_source_table(path), str(path))
