
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


def _entity_validation(table: str, key: str, noun: str):
    """Users and items follow one rule (a present, unique key), so one definition serves both."""

    @multi_asset(
        name=f"validate_{table}",
        group_name=GROUP,
        ins={f"raw_{table}": AssetIn()},
        outs={
            f"valid_{table}": AssetOut(description=f"{noun} with a unique, non-empty id.", kinds={"pandas"}),
            f"quarantined_{table}": AssetOut(description=f"Rejected {noun.lower()} rows with `reason`.", kinds={"pandas"}),
        },
    )
    def _validate(**raw):
        yield from _outputs(clean_entities(raw[f"raw_{table}"], key, table), f"valid_{table}", f"quarantined_{table}")

    return _validate


validate_users = _entity_validation("users", Columns.User, "Customers")
validate_items = _entity_validation("items", Columns.Item, "Catalogue entries")
