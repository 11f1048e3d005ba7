from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from reco_pipeline.schema import Columns


@dataclass(frozen=True)
class TemporalSplit:
    """Events before ``cutoff`` train the model; events from ``cutoff`` on are the holdout."""

    train: pd.DataFrame
    holdout: pd.DataFrame
    cutoff: pd.Timestamp
    end: pd.Timestamp

    def summary(self) -> dict[str, object]:
        return {
            "cutoff": str(self.cutoff),
            "end": str(self.end),
            "train_events": len(self.train),
            "holdout_events": len(self.holdout),
            "train_users": int(self.train[Columns.User].nunique()),
            "holdout_users": int(self.holdout[Columns.User].nunique()),
        }


def temporal_split(events: pd.DataFrame, holdout_days: float) -> TemporalSplit:
    """Hold out the last ``holdout_days`` before the latest timestamp.

    The split is by time, never random: a model is always judged on a future it did not see.
    """
    if events.empty:
        raise ValueError("temporal_split: no valid interactions to split")
    end = events[Columns.Datetime].max()
    cutoff = end - pd.Timedelta(days=holdout_days)
    is_train = events[Columns.Datetime] < cutoff
    train, holdout = events[is_train], events[~is_train]
    if train.empty:
        raise ValueError(
            f"temporal_split: all {len(events)} events fall in the {holdout_days}-day holdout window "
            f"(from {cutoff} to {end}); shorten holdout_days or supply a longer history."
        )
    return TemporalSplit(train.reset_index(drop=True), holdout.reset_index(drop=True), cutoff, end)
