"""Asset checks. Blocking checks stop the run before featurize/train when the data would make
training meaningless; the others warn in the UI."""


import pandas as pd
from dagster import AssetCheckResult, AssetCheckSeverity, AssetIn, MetadataValue, asset_check

from reco_pipeline.schema import Columns, EventType
from reco_pipeline.validate.expectations import SuiteOutcome, entity_suite, interactions_suite, run_suite
from reco_pipeline.validate.resources import ValidationRules


def _result(outcome: SuiteOutcome, severity=AssetCheckSeverity.ERROR) -> AssetCheckResult:
    failed = outcome.failed()
    return AssetCheckResult(
        passed=outcome.success,
        severity=severity,
        description=("all expectations met" if not failed else
                     "failed: " + ", ".join(f"{o.expectation}({o.column})" for o in failed)),
        metadata={
            "rows": outcome.rows,
            "expectations": len(outcome.outcomes),
            "failed_expectations": len(failed),
            "great_expectations_results": MetadataValue.md(outcome.to_markdown()),
        },
    )


@asset_check(asset="raw_interactions", description="How far the raw input is from the contract (informational: "
             "row-level cleaning quarantines what fails).")
def raw_interactions_meet_contract(validation: ValidationRules, raw_interactions: pd.DataFrame) -> AssetCheckResult:
    suite = interactions_suite(validation.rules(), list(raw_interactions.columns))
    return _result(run_suite(raw_interactions, suite), AssetCheckSeverity.WARN)


@asset_check(asset="valid_interactions", blocking=True,
             description="Great Expectations suite on the cleaned interactions: keys present, known event types, "
                         "no future timestamps, no duplicates, sane prices/quantities/ratings.")
def valid_interactions_meet_contract(validation: ValidationRules, valid_interactions: pd.DataFrame) -> AssetCheckResult:
    return _result(run_suite(valid_interactions, interactions_suite(validation.rules(), list(valid_interactions.columns))))


@asset_check(asset="valid_interactions", blocking=True,
             additional_ins={"raw_interactions": AssetIn(), "quarantined_interactions": AssetIn()},
             description="Every raw row is either valid or quarantined, exactly once.")
def valid_interactions_reconcile_with_raw(valid_interactions: pd.DataFrame, raw_interactions: pd.DataFrame,
                                          quarantined_interactions: pd.DataFrame) -> AssetCheckResult:
    raw_rows = set(raw_interactions[Columns.Row])
    valid_rows = set(valid_interactions[Columns.Row])
    q_rows = set(quarantined_interactions[Columns.Row])
    lost = raw_rows - valid_rows - q_rows
    both = valid_rows & q_rows
    passed = (len(raw_interactions) == len(valid_interactions) + len(quarantined_interactions)
              and not lost and not both)
    return AssetCheckResult(
        passed=passed,
        metadata={"raw_rows": len(raw_interactions), "valid_rows": len(valid_interactions),
                  "quarantined_rows": len(quarantined_interactions), "rows_lost": len(lost),
                  "rows_in_both": len(both)},
    )


@asset_check(asset="valid_interactions", blocking=True,
             description="Enough valid positive events, users and items to learn anything.")
def valid_interactions_are_enough_to_train(validation: ValidationRules,
                                           valid_interactions: pd.DataFrame) -> AssetCheckResult:
    positives = int((valid_interactions[Columns.EventType] == EventType.PURCHASE.value).sum())
    users = int(valid_interactions[Columns.User].nunique())
    items = int(valid_interactions[Columns.Item].nunique())
    passed = positives >= validation.min_positive_events and users >= 2 and items >= 2
    return AssetCheckResult(passed=passed, metadata={"purchase_events": positives, "users": users, "items": items,
                                                     "min_positive_events": validation.min_positive_events})


@asset_check(asset="quarantined_interactions", additional_ins={"raw_interactions": AssetIn()},
             description="Warns when an unusual share of the input is rejected (a broken export, a changed format).")
def quarantine_share_is_acceptable(validation: ValidationRules, quarantined_interactions: pd.DataFrame,
                                   raw_interactions: pd.DataFrame) -> AssetCheckResult:
    share = len(quarantined_interactions) / max(len(raw_interactions), 1)
    return AssetCheckResult(passed=share <= validation.max_quarantine_share, severity=AssetCheckSeverity.WARN,
                            metadata={"quarantined_share": round(share, 5),
                                      "max_quarantine_share": validation.max_quarantine_share})


@asset_check(asset="valid_users", blocking=True, description="Customer ids present and unique.")
def valid_users_meet_contract(valid_users: pd.DataFrame) -> AssetCheckResult:
    if valid_users.empty:
        return AssetCheckResult(passed=True, description="no customer table supplied (identity features only)")
    return _result(run_suite(valid_users, entity_suite("users", Columns.User)))


@asset_check(asset="valid_items", blocking=True, description="Product ids present and unique.")
def valid_items_meet_contract(valid_items: pd.DataFrame) -> AssetCheckResult:
    if valid_items.empty:
        return AssetCheckResult(passed=True, description="no catalogue supplied (identity features only)")
    return _result(run_suite(valid_items, entity_suite("items", Columns.Item)))


CHECKS = [raw_interactions_meet_contract, valid_interactions_meet_contract, valid_interactions_reconcile_with_raw,
          valid_interactions_are_enough_to_train, quarantine_share_is_acceptable, valid_users_meet_contract,
          valid_items_meet_contract]
