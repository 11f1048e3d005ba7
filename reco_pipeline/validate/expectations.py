"""Great Expectations 1.x suites for the canonical tables and a small runner that returns plain data.

The suites state the contract the *cleaned* tables must meet; run on raw tables they measure how far
the input is from it. Each expectation carries a ``blocking`` flag in its meta: those are the ones
that make training meaningless when they fail (keys, event types, time travel, duplicates).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from reco_pipeline.schema import Columns, EventType
from reco_pipeline.validate.rules import CleaningRules


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    column: str
    success: bool
    blocking: bool
    unexpected_count: int | None
    unexpected_percent: float | None
    error: str | None = None


@dataclass(frozen=True)
class SuiteOutcome:
    suite: str
    rows: int
    outcomes: tuple[ExpectationOutcome, ...]

    @property
    def success(self) -> bool:
        return all(o.success for o in self.outcomes)

    @property
    def blocking_success(self) -> bool:
        return all(o.success for o in self.outcomes if o.blocking)

    def failed(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([o.__dict__ for o in self.outcomes])

    def to_markdown(self) -> str:
        lines = ["| expectation | column | ok | blocking | unexpected | % |", "|---|---|---|---|---|---|"]
        for o in self.outcomes:
            pct = "" if o.unexpected_percent is None else f"{o.unexpected_percent:.3f}"
            lines.append(
                f"| {o.expectation} | {o.column} | {'yes' if o.success else 'NO'} | {'yes' if o.blocking else ''} "
                f"| {'' if o.unexpected_count is None else o.unexpected_count} | {pct} |"
            )
        return "\n".join(lines)


def _gx():
    # GX phones home unless told not to; the product runs offline and self-hosted.
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx

    return gx


@lru_cache(maxsize=1)
def _context():
    gx = _gx()
    ctx = gx.get_context(mode="ephemeral")
    try:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    except Exception:  # progress bars are cosmetic; an API change there must not stop validation
        pass
    return ctx


def _expect(gx_cls, blocking: bool, **kwargs):
    return gx_cls(**kwargs, meta={"blocking": blocking})


def interactions_suite(rules: CleaningRules, columns: list[str]):
    _context()  # GX 1.x binds new suites to the active context
    gx = _gx()
    E = gx.expectations
    suite = gx.ExpectationSuite(name="interactions")
    suite.add_expectation(_expect(E.ExpectTableColumnsToMatchSet, True, exact_match=False, column_set=[
        Columns.User, Columns.Item, Columns.Datetime, Columns.EventType, Columns.Quantity, Columns.Price, Columns.Rating]))
    suite.add_expectation(_expect(E.ExpectTableRowCountToBeBetween, True, min_value=1))
    for col in (Columns.User, Columns.Item, Columns.Datetime, Columns.EventType):
        suite.add_expectation(_expect(E.ExpectColumnValuesToNotBeNull, True, column=col))
    suite.add_expectation(_expect(E.ExpectColumnValuesToBeInSet, True, column=Columns.EventType,
                                  value_set=list(rules.allowed_event_types)))
    suite.add_expectation(_expect(E.ExpectColumnValuesToBeInTypeList, True, column=Columns.Datetime,
                                  type_list=["datetime64[ns]", "datetime64", "Timestamp"]))
    suite.add_expectation(_expect(E.ExpectColumnValuesToBeBetween, True, column=Columns.Datetime,
                                  max_value=rules.latest_allowed))
    suite.add_expectation(_expect(E.ExpectColumnValuesToBeBetween, False, column=Columns.Price, strict_min=True,
                                  min_value=0))
    suite.add_expectation(_expect(E.ExpectColumnValuesToBeBetween, False, column=Columns.Quantity, strict_min=True,
                                  min_value=0, row_condition=f'{Columns.EventType}=="{EventType.PURCHASE.value}"',
                                  condition_parser="pandas"))
    suite.add_expectation(_expect(E.ExpectColumnValuesToBeBetween, False, column=Columns.Rating,
                                  min_value=rules.rating_min, max_value=rules.rating_max))
    content = [c for c in columns if c != Columns.Row and not c.endswith("_raw")]
    suite.add_expectation(_expect(E.ExpectCompoundColumnsToBeUnique, True, column_list=content,
                                  ignore_row_if="never"))
    if Columns.EventId in columns:
        suite.add_expectation(_expect(E.ExpectColumnValuesToBeUnique, True, column=Columns.EventId))
    return suite


def entity_suite(name: str, key: str):
    _context()
    gx = _gx()
    E = gx.expectations
    suite = gx.ExpectationSuite(name=name)
    suite.add_expectation(_expect(E.ExpectColumnToExist, True, column=key))
    suite.add_expectation(_expect(E.ExpectColumnValuesToNotBeNull, True, column=key))
    suite.add_expectation(_expect(E.ExpectColumnValuesToBeUnique, True, column=key))
    return suite


def run_suite(df: pd.DataFrame, suite) -> SuiteOutcome:
    """Validate ``df`` against ``suite`` with a real GX batch; returns plain, picklable data."""
    ctx = _context()
    source_name = f"reco_{suite.name}"
    try:
        ds = ctx.data_sources.get(source_name)
    except Exception:
        ds = ctx.data_sources.add_pandas(source_name)
    try:
        asset = ds.get_asset(suite.name)
    except Exception:
        asset = ds.add_dataframe_asset(suite.name)
    try:
        batch_def = asset.get_batch_definition("whole")
    except Exception:
        batch_def = asset.add_batch_definition_whole_dataframe("whole")
    # GX's pandas metrics do not understand pandas' nullable string dtype in every expectation.
    frame = df.astype({c: object for c in df.columns if pd.api.types.is_string_dtype(df[c]) and df[c].dtype != object})
    result = batch_def.get_batch(batch_parameters={"dataframe": frame}).validate(suite)
    outcomes = []
    for r in result.results:
        cfg = r.expectation_config
        kwargs = cfg.kwargs
        column = kwargs.get("column") or ",".join(kwargs.get("column_list", []) or []) or ""
        raised = r.exception_info.get("raised_exception") if isinstance(r.exception_info, dict) else False
        outcomes.append(
            ExpectationOutcome(
                expectation=cfg.type,
                column=column if len(column) < 60 else "all columns",
                success=bool(r.success),
                blocking=bool((cfg.meta or {}).get("blocking", False)),
                unexpected_count=r.result.get("unexpected_count"),
                unexpected_percent=r.result.get("unexpected_percent"),
                error=str(r.exception_info.get("exception_message")) if raised else None,
            )
        )
    return SuiteOutcome(suite=suite.name, rows=len(df), outcomes=tuple(outcomes))
