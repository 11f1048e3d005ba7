"""The landing area: interaction events posted to the service, waiting for the next retrain.

A SQLite database (``<home>/landing/events.sqlite``) in WAL mode with ``synchronous=FULL``: an
event is on disk before the service answers 2xx, readers only ever see committed transactions (no
half-written file can be read), and the ``event_id`` primary key makes a repeated post a no-op.
Rows carry a monotonically increasing ``seq``, which is the sensor's cursor.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from reco_pipeline.schema import Columns, canonical_interactions

LANDING_DB = "events.sqlite"
_COLUMNS = (Columns.EventId, Columns.User, Columns.Item, Columns.Datetime, Columns.EventType, Columns.Quantity,
            Columns.Price, Columns.Rating)
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    {Columns.EventId} TEXT NOT NULL UNIQUE,
    {Columns.User} TEXT, {Columns.Item} TEXT, {Columns.Datetime} TEXT, {Columns.EventType} TEXT,
    {Columns.Quantity} REAL, {Columns.Price} REAL, {Columns.Rating} REAL,
    received_at REAL NOT NULL
)"""


@dataclass(frozen=True)
class LandingStatus:
    max_seq: int
    new_events: int
    oldest_new_received_at: float | None


class LandingArea:
    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.path = self.folder / LANDING_DB

    def _connect(self) -> sqlite3.Connection:
        self.folder.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")  # durable at commit, not at the next checkpoint
        conn.execute(_SCHEMA)
        return conn

    def append(self, events: Iterable[Mapping[str, object]]) -> tuple[list[str], list[str]]:
        """Store events in one transaction. Returns ``(accepted ids, duplicate ids)``."""
        rows = [tuple(_sql_value(e.get(c)) for c in _COLUMNS) for e in events]
        now = time.time()
        accepted, duplicates = [], []
        with closing(self._connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for row in rows:
                    cur = conn.execute(
                        f"INSERT OR IGNORE INTO events ({', '.join(_COLUMNS)}, received_at) VALUES (?,?,?,?,?,?,?,?,?)",
                        (*row, now))
                    (accepted if cur.rowcount == 1 else duplicates).append(row[0])
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return accepted, duplicates

    def status(self, after_seq: int = 0) -> LandingStatus:
        if not self.path.exists():
            return LandingStatus(0, 0, None)
        with closing(self._connect()) as conn:
            conn.execute("BEGIN")  # one snapshot for both reads: the count must match max_seq
            max_seq, = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
            n, oldest = conn.execute("SELECT COUNT(*), MIN(received_at) FROM events WHERE seq > ? AND seq <= ?",
                                     (after_seq, max_seq)).fetchone()
            conn.execute("COMMIT")
        return LandingStatus(int(max_seq), int(n), oldest)

    def read(self, up_to_seq: int | None = None) -> pd.DataFrame:
        """Landed events in canonical form (committed rows only), oldest first."""
        if not self.path.exists():
            return pd.DataFrame(columns=[*_COLUMNS, "landing_seq"])
        with closing(self._connect()) as conn:
            q = f"SELECT seq AS landing_seq, {', '.join(_COLUMNS)} FROM events"
            params: tuple = ()
            if up_to_seq is not None:
                q += " WHERE seq <= ?"
                params = (up_to_seq,)
            df = pd.read_sql_query(q + " ORDER BY seq", conn, params=params)
        return canonical_interactions(df)


def _sql_value(v):
    if v is None:
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if hasattr(v, "isoformat"):
        return v.isoformat()
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return v
