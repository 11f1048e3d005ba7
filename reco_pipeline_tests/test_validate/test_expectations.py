import pandas as pd

from reco_pipeline.schema import Columns
from reco_pipeline.validate.expectations import entity_suite, interactions_suite, run_suite
from reco_pipeline.validate.rules import CleaningRules, clean_interactions
from reco_pipeline_tests.conftest import events

RULES = CleaningRules(now=pd.Timestamp("2024-06-01"))


def _by_name(outcome):
    return {(o.expectation, o.column): o for o in outcome.outcomes}


def test_suite_fails_on_raw_dirt_and_passes_after_cleaning():
    raw = events([
        ("u1", "i1", "2024-01-01", "purchase", 1, 2.0),
        (None, "i1", "2024-01-03", "purchase", 1, 2.0),
        ("u2", "i1", "2030-01-01", "view"),
        ("u2", "i1", "2024-01-04", "wishlist"),
        ("u1", "i1", "2024-01-01", "purchase", 1, 2.0),
    ])
    outcome = run_suite(raw, interactions_suite(RULES, list(raw.columns)))
    assert not outcome.success and not outcome.blocking_success
    got = _by_name(outcome)
    assert got[("expect_column_values_to_not_be_null", Columns.User)].unexpected_count == 1
    assert got[("expect_column_values_to_be_in_set", Columns.EventType)].unexpected_count == 1
    assert got[("expect_column_values_to_be_between", Columns.Datetime)].unexpected_count == 1
    assert not got[("expect_compound_columns_to_be_unique", "all columns")].success

    clean = clean_interactions(raw, RULES).valid
    assert run_suite(clean, interactions_suite(RULES, list(clean.columns))).success


def test_entity_suite_catches_duplicate_keys():
    users = pd.DataFrame({Columns.User: ["a", "a"]})
    out = run_suite(users, entity_suite("users", Columns.User))
    assert not out.success
    assert run_suite(users.drop_duplicates(), entity_suite("users", Columns.User)).success
    assert "expect_column_values_to_be_unique" in out.to_markdown()
