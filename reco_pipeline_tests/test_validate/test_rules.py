import pandas as pd

from reco_pipeline.schema import Columns
from reco_pipeline.validate.rules import CleaningRules, Reason, clean_entities, clean_interactions, non_product_items
from reco_pipeline_tests.conftest import events

RULES = CleaningRules(now=pd.Timestamp("2024-06-01"))


def test_planted_bad_rows_are_quarantined_with_their_reasons_and_counts_reconcile():
    raw = events([
        ("u1", "i1", "2024-01-01", "purchase", 1, 2.0),  # good
        ("u1", "i2", "2024-01-02", "view"),  # good
        (None, "i1", "2024-01-03", "purchase", 1, 2.0),  # missing user
        ("u2", "i1", "2030-01-01", "view"),  # future
        ("u2", "i1", "2024-01-04", "wishlist"),  # unknown event
        ("u2", "POST", "2024-01-04", "purchase", 1, 5.0),  # non-product
        ("u2", "i1", "2024-01-05", "purchase", 1, 0.0),  # non-positive price
        ("u2", "i1", "2024-01-05", "purchase", -2, 1.0),  # non-positive quantity
        ("u2", "i1", "2024-01-05", "review", None, None, 9),  # rating out of range
        ("u1", "i1", "2024-01-01", "purchase", 1, 2.0),  # exact duplicate of row 0
        (None, "i9", "2031-01-01", "purchase", 1, -1.0),  # three problems at once
    ])
    items = pd.DataFrame({Columns.Item: ["i1", "POST"], Columns.IsProduct: [True, False]})
    res = clean_interactions(raw, RULES, non_product_items(items))
    assert res.valid[Columns.Row].tolist() == [0, 1]
    reasons = dict(zip(res.quarantined[Columns.Row], res.quarantined[Columns.Reason]))
    assert reasons[2] == Reason.MISSING_USER
    assert reasons[3] == Reason.FUTURE_TIMESTAMP
    assert reasons[4] == Reason.UNKNOWN_EVENT
    assert reasons[5] == Reason.NON_PRODUCT
    assert reasons[6] == Reason.NON_POSITIVE_PRICE
    assert reasons[7] == Reason.NON_POSITIVE_QUANTITY
    assert reasons[8] == Reason.RATING_OUT_OF_RANGE
    assert reasons[9] == Reason.DUPLICATE_ROW
    assert set(reasons[10].split(";")) == {Reason.MISSING_USER, Reason.FUTURE_TIMESTAMP, Reason.NON_POSITIVE_PRICE}
    assert res.n_raw == len(raw) == len(res.valid) + len(res.quarantined)
    assert res.reason_counts()[Reason.MISSING_USER] == 2
    # Quarantined rows keep every original column.
    assert set(raw.columns) <= set(res.quarantined.columns)


def test_unparseable_timestamp_is_its_own_reason():
    raw = events([("u1", "i1", "not a date", "view"), ("u1", "i1", None, "view")])
    res = clean_interactions(raw, RULES)
    assert res.quarantined[Columns.Reason].tolist() == [Reason.UNPARSEABLE_TIMESTAMP, Reason.MISSING_TIMESTAMP]


def test_extra_event_types_are_configurable():
    raw = events([("u1", "i1", "2024-01-01", "wishlist")])
    rules = CleaningRules(allowed_event_types=(*RULES.allowed_event_types, "wishlist"), now=RULES.now)
    assert len(clean_interactions(raw, rules).valid) == 1


def test_duplicate_event_ids_are_accepted_once():
    raw = events([("u1", "i1", "2024-01-01", "view"), ("u1", "i2", "2024-01-02", "view")])
    raw[Columns.EventId] = pd.array(["e1", "e1"], dtype="string")
    res = clean_interactions(raw, RULES)
    assert len(res.valid) == 1 and res.quarantined[Columns.Reason].tolist() == [Reason.DUPLICATE_EVENT_ID]


def test_entities_need_unique_keys():
    users = pd.DataFrame({Columns.User: ["a", None, "a", "b"], "country": ["x", "y", "z", "w"]})
    res = clean_entities(users, Columns.User, "users")
    assert res.valid[Columns.User].tolist() == ["a", "b"]
    assert sorted(res.quarantined[Columns.Reason]) == [Reason.DUPLICATE_KEY, Reason.MISSING_USER]
