import pandas as pd
import pytest

from reco_pipeline.collect.files import read_folder
from reco_pipeline.collect.sources import load_source
from reco_pipeline.collect.synthetic import SyntheticParams
from reco_pipeline.schema import Columns, SchemaError


def test_folder_of_csv_and_parquet(tmp_path):
    pd.DataFrame({"user_id": ["u1", "u2"], "item_id": ["i1", "i2"], "timestamp": ["2024-01-01", "2024-01-02"],
                  "event_type": ["view", "purchase"], "quantity": ["", "2"]}).to_csv(tmp_path / "interactions.csv", index=False)
    pd.DataFrame({"user_id": ["u1"], "country": ["FR"]}).to_parquet(tmp_path / "users.parquet")
    raw = read_folder(tmp_path)
    assert len(raw.interactions) == 2 and raw.interactions[Columns.Quantity].tolist()[1] == 2.0
    assert raw.users["country"].tolist() == ["FR"]
    assert raw.items.empty and list(raw.items.columns) == [Columns.Item]


def test_missing_column_names_the_file(tmp_path):
    pd.DataFrame({"user_id": ["u1"], "timestamp": ["2024-01-01"], "event_type": ["view"]}).to_csv(
        tmp_path / "interactions.csv", index=False)
    with pytest.raises(SchemaError, match=r"interactions.csv: missing required column\(s\) \['item_id'\]"):
        read_folder(tmp_path)


def test_two_files_for_one_table_is_an_error(tmp_path):
    df = pd.DataFrame({"user_id": ["u1"], "item_id": ["i"], "timestamp": ["2024-01-01"], "event_type": ["view"]})
    df.to_csv(tmp_path / "interactions.csv", index=False)
    df.to_parquet(tmp_path / "interactions.parquet")
    with pytest.raises(SchemaError, match="more than one file"):
        read_folder(tmp_path)


def test_source_selection_errors():
    with pytest.raises(SchemaError, match="needs a path"):
        load_source("online_retail", None, SyntheticParams())
    with pytest.raises(SchemaError, match="unknown source"):
        load_source("kafka", None, SyntheticParams())
