import pandas as pd
import pytest

from reco_pipeline.schema import Columns, SchemaError, canonical_interactions, frame_fingerprint, raw_column, require_columns


def test_require_columns_names_the_file_and_missing_columns():
    with pytest.raises(SchemaError, match=r"exports/x.csv: missing required column\(s\) \['item_id'\]"):
        require_columns(pd.DataFrame({"user_id": []}), ("user_id", "item_id"), "exports/x.csv")


def test_canonical_interactions_keeps_unparseable_values_beside_the_parsed_column():
    df = canonical_interactions(pd.DataFrame({
        Columns.User: [17850.0, None], Columns.Item: [" 85123A ", "x"], Columns.Datetime: ["2011-01-01 10:00", "yesterday"],
        Columns.EventType: ["purchase", "view"], Columns.Quantity: ["3", "three"]}))
    assert df[Columns.User].tolist()[0] == "17850"  # float ids from a CSV with blanks become clean strings
    assert df[Columns.Item].tolist()[0] == "85123A"
    assert pd.isna(df[Columns.Datetime][1]) and df[raw_column(Columns.Datetime)][1] == "yesterday"
    assert pd.isna(df[Columns.Quantity][1]) and df[raw_column(Columns.Quantity)][1] == "three"
    assert pd.isna(df[raw_column(Columns.Quantity)][0])


def test_fingerprint_depends_on_values_not_index():
    a = pd.DataFrame({"x": [1, 2]})
    b = pd.DataFrame({"x": [1, 2]}, index=[5, 6])
    assert frame_fingerprint(a) == frame_fingerprint(b)
    assert frame_fingerprint(a) != frame_fingerprint(pd.DataFrame({"x": [1, 3]}))
