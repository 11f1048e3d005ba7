import gzip

import pandas as pd
import pytest

from reco_pipeline.collect.online_retail import is_product_code, read_online_retail
from reco_pipeline.schema import Columns, SchemaError
from reco_pipeline_tests.conftest import online_retail_path

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
ISO_ROWS = (
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
    "536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850,United Kingdom\n"
    "C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,14527,United Kingdom\n"
    "C536383,35004C,SET OF 3 COLOURED  FLYING DUCKS,-1,2010-12-01 09:49:00,4.65,15311,United Kingdom\n"
    "536414,22139,,56,2010-12-01 11:52:00,0,,United Kingdom\n"
    "536544,POST,POSTAGE,1,2010-12-01 14:32:00,18.0,,United Kingdom\n"
)


def test_iso_csv_gz_maps_to_canonical_events(tmp_path):
    path = tmp_path / "or.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(HEADER + ISO_ROWS)
    raw = read_online_retail(path)
    ev = raw.interactions
    assert len(ev) == 6 and ev[Columns.Row].tolist() == list(range(6))
    assert ev[Columns.EventType].tolist() == ["purchase", "purchase", "return", "return", "purchase", "purchase"]
    assert ev[Columns.User].tolist()[0] == "17850" and pd.isna(ev[Columns.User][4])
    assert ev[Columns.Datetime][0] == pd.Timestamp("2010-12-01 08:26:00")
    is_product = dict(zip(raw.items[Columns.Item], raw.items[Columns.IsProduct]))
    assert not is_product["POST"] and not is_product["D"] and is_product["85123A"]
    assert set(raw.users[Columns.User]) == {"17850", "14527", "15311"}
    assert raw.users.set_index(Columns.User).loc["17850", "country"] == "United Kingdom"


def test_kaggle_layout_us_dates_and_latin1(tmp_path):
    path = tmp_path / "kaggle.csv"
    text = HEADER + "536365,85123A,CAF\xc9 MUG,6,12/1/2010 8:26,2.55,17850.0,France\n"
    path.write_bytes(text.encode("ISO-8859-1"))
    raw = read_online_retail(path)
    assert raw.interactions[Columns.Datetime][0] == pd.Timestamp("2010-12-01 08:26:00")
    assert raw.items[Columns.Title][0] == "CAF\xc9 MUG"
    assert raw.interactions[Columns.User][0] == "17850"


def test_parquet_layout(tmp_path):
    src = pd.read_csv(pd.io.common.StringIO(HEADER + ISO_ROWS), dtype=str)
    src.to_parquet(tmp_path / "or.parquet")
    assert len(read_online_retail(tmp_path / "or.parquet").interactions) == 6


def test_wrong_layout_and_missing_file_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(SchemaError, match=r"bad.csv: not the Online Retail layout; missing column"):
        read_online_retail(bad)
    with pytest.raises(SchemaError, match="file not found"):
        read_online_retail(tmp_path / "nope.csv")


@pytest.mark.parametrize("code,expected", [("85123A", True), ("POST", False), ("BANK CHARGES", False),
                                           ("gift_0001_20", False), ("DCGS0003", True), ("m", False)])
def test_non_product_codes(code, expected):
    assert is_product_code(code) is expected


def test_shared_file_counts():
    raw = read_online_retail(online_retail_path())
    ev = raw.interactions
    assert len(ev) == 541_909
    assert (ev[Columns.EventType] == "return").sum() == 9_288
    assert ev[Columns.User].isna().sum() == 135_080
    assert ev[Columns.User].nunique() == 4_372 and ev[Columns.Item].nunique() == 4_070
