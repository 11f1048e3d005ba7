
from dagster import AssetExecutionContext, AssetIn, AssetOut, MetadataValue, Output, multi_asset

from reco_pipeline.schema import Columns
from reco_pipeline.validate.resources import ValidationRules
from reco_pipeline.validate.rules import CleanResult, clean_entities, clean_interactions, non_product_items

GROUP = "validate"


def _reason_table(result: CleanResult) -> str:
    counts = result.reason_counts()
    if not counts:
        return "no rows quarantined"
    lines = ["| reason | rows |", "|---|---|"] + [f"| {k} | {v} |" for k, v in counts.items()]
    return "\n".join(lines)


def _outputs(result: CleanResult, valid_name: str, quarantine_name: str):
    meta = {
        "raw_rows": result.n_raw,
        "valid_rows": len(result.valid),
        "quarantined_rows": len(result.quarantined),
        "reconciles": result.n_raw == len(result.valid) + len(result.quarantined),
        "quarantine_by_reason": MetadataValue.md(_reason_table(result)),
    }
    yield Output(result.valid, valid_name, metadata={**meta, "dagster/row_count": len(result.valid)})
    q_meta = {**meta, "dagster/row_count": len(result.quarantined)}
    if len(result.quarantined):
        q_meta["preview"] = MetadataValue.md(result.quarantined.head(10).to_markdown())
    yield Output(result.quarantined, quarantine_name, metadata=q_meta)


@multi_asset(
    group_name=GROUP,
    ins={"raw_interactions": AssetIn(), "raw_items": AssetIn()},
    outs={
        "valid_interactions": AssetOut(description="Interactions that passed every row rule: the only ones "
                                                   "training ever sees.", kinds={"pandas"}),
        "quarantined_interactions": AssetOut(description="Rejected interactions, original columns plus `reason` "
                                                         "(';'-separated when several rules failed).", kinds={"pandas"}),
    },
)
def validate_interactions(context: AssetExecutionContext, validation: ValidationRules, raw_interactions, raw_items):
    """Split raw interactions into valid and quarantined rows; raw = valid + quarantined, always."""
    result = clean_interactions(raw_interactions, validation.rules(), non_product_items(raw_items))
    context.log.info(f"interactions: {len(result.valid)} valid, {len(result.quarantined)} quarantined "
                     f"{result.reason_counts()}")
    yield from _outputs(result, "valid_interactions", "quarantined_interactions")


@multi_asset(
    group_name=GROUP,
    ins={"raw_users": AssetIn()},
    outs={
        "valid_users": AssetOut(description="Customers with a unique, non-empty id.", kinds={"pandas"}),
        "quarantined_users": AssetOut(description="Rejected customer rows with `reason`.", kinds={"pandas"}),
    },
)
def validate_users(raw_users):
    yield from _outputs(clean_entities(raw_users, Columns.User, "users"), "valid_users", "quarantined_users")


@multi_asset(
    group_name=GROUP,
    ins={"raw_items": AssetIn()},
    outs={
        "valid_items": AssetOut(description="Catalogue rows with a unique, non-empty id.", kinds={"pandas"}),
        "quarantined_items": AssetOut(description="Rejected catalogue rows with `reason`.", kinds={"pandas"}),
    },
)
def validate_items(raw_items):
    yield from _outputs(clean_entities(raw_items, Columns.Item, "items"), "valid_items", "quarantined_items")
