
from dagster import AssetExecutionContext, AssetOut, MetadataValue, Output, multi_asset

from reco_pipeline.collect.resources import DataSource, LandingZone
from reco_pipeline.collect.sources import with_landed_events
from reco_pipeline.schema import Columns

GROUP = "collect"


@multi_asset(
    group_name=GROUP,
    outs={
        "raw_interactions": AssetOut(description="Interaction events exactly as read from the source, in canonical "
                                                 "columns; source_row points back at the record.", kinds={"pandas"}),
        "raw_users": AssetOut(description="Customers and their attributes, as read.", kinds={"pandas"}),
        "raw_items": AssetOut(description="The product catalogue, as read.", kinds={"pandas"}),
    },
)
def collect_raw(context: AssetExecutionContext, data_source: DataSource, landing: LandingZone):
    """Read the configured source once (plus events posted to the service) and emit its three tables."""
    raw = data_source.load()
    landed = landing.area().read() if landing.include_in_training else None
    if landed is not None and len(landed):
        raw = with_landed_events(raw, landed)
    ev = raw.interactions
    span = (f"{ev[Columns.Datetime].min()} .. {ev[Columns.Datetime].max()}" if len(ev) else "empty")
    common = {"source": raw.source,
              **{f"source_{k}": v for k, v in raw.description.items() if k in ("interactions", "seed", "landed_events")}}
    yield Output(ev, "raw_interactions", metadata={
        **common,
        "dagster/row_count": len(ev),
        "distinct_users": int(ev[Columns.User].nunique()),
        "distinct_items": int(ev[Columns.Item].nunique()),
        "time_span": span,
        "events_by_type": MetadataValue.md(ev[Columns.EventType].value_counts(dropna=False).to_frame("rows").to_markdown()),
        "preview": MetadataValue.md(ev.head(5).to_markdown()),
    })
    yield Output(raw.users, "raw_users", metadata={**common, "dagster/row_count": len(raw.users),
                                                   "columns": ", ".join(map(str, raw.users.columns))})
    yield Output(raw.items, "raw_items", metadata={**common, "dagster/row_count": len(raw.items),
                                                   "columns": ", ".join(map(str, raw.items.columns))})
    context.log.info(f"read {raw.summary()} from {raw.source}")
