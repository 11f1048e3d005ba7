from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from reco_pipeline.schema import Columns


@dataclass(frozen=True)
class RawData:
    """The three canonical tables exactly as read from a source (nothing dropped, nothing fixed).

    ``source_row`` on interactions is the 0-based line of the source record, so a quarantined row
    can always be traced back to the file it came from.
    """

    interactions: pd.DataFrame
    users: pd.DataFrame
    items: pd.DataFrame
    source: str
    description: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, int]:
        return {
            "interactions": len(self.interactions),
            "users": len(self.users),
            "items": len(self.items),
            "distinct_users_in_events": int(self.interactions[Columns.User].nunique()),
            "distinct_items_in_events": int(self.interactions[Columns.Item].nunique()),
        }
