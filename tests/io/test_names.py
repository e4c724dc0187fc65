import pandas as pd
import pytest

from eoxr.io.names import date_from_name, parse_product_name, platform_from_tags

SAFE = "S2A_MSIL2A_20200501T101031_N0214_R022_T33UUU_20200501T120000.SAFE"


@pytest.mark.parametrize(
    ("path", "label", "platform", "time"),
    [
        ("T33UUU_20170216T102101_B02.jp2", "B02", "sentinel-2", "2017-02-16 10:21:01"),
        ("T33UUU_20170216T102101_B8A_20m.jp2", "B8A", "sentinel-2", "2017-02-16 10:21:01"),
        (f"{SAFE}/GRANULE/x/IMG_DATA/R20m/T33UUU_20200501T101031_SCL_20m.jp2", "SCL",
         "sentinel-2a", "2020-05-01 10:10:31"),
        ("S2A_OPER_MSI_L1C_TL_SGS__20160101T101010_A002813_T33UUU_B12.jp2", "B12",
         "sentinel-2a", "2016-01-01 10:10:10"),
        ("S2C_33UUU_20250501_0_L2A/B04.tif", "B04", "sentinel-2c", "2025-05-01"),
        ("LC08_L1TP_044034_20170105_20170218_01_T1_B4.TIF", "B4", "landsat-8", "2017-01-05"),
        ("LC08_L1TP_044034_20170105_20170218_01_T1_BQA.TIF", "BQA", "landsat-8", "2017-01-05"),
        ("LC09_L2SP_044034_20220105_20220218_02_T1_QA_PIXEL.TIF", "QA_PIXEL", "landsat-9",
         "2022-01-05"),
        ("LE07_L2SP_044034_20020105_20200218_02_T1_SR_B1.tif", "SR_B1", "landsat-7", "2002-01-05"),
        ("LT04_L1TP_044034_19890105_20170218_01_T1_B1.TIF", "B1", "landsat-4", "1989-01-05"),
        ("LC08_L2SP_044034_20200105_20200823_02_T1_ST_B10.TIF", "ST_B10", "landsat-8",
         "2020-01-05"),
        ("LE70350322008118EDC00_b3.tif", "b3", "landsat-7", "2008-04-27"),
    ],
)  # fmt: skip
def test_product_names(path, label, platform, time):
    got = parse_product_name(path)
    assert (got.label, got.platform, got.time) == (label, platform, pd.Timestamp(time))
    assert date_from_name(path) == pd.Timestamp(time)


@pytest.mark.parametrize("name", ["s2_B04.tif", "B04.tif", "my_T33_B02.tif", "LC08.tif"])
def test_plain_names_tell_nothing(name):
    assert parse_product_name(name).platform is None


@pytest.mark.parametrize(
    ("tags", "platform"),
    [
        ({"SPACECRAFT_ID": "LANDSAT_9"}, "landsat-9"),
        ({"SPACECRAFT_NAME": "Sentinel-2B"}, "sentinel-2b"),
        ({"LANDSAT_PRODUCT_ID": '"LT05_L1TP_044034_19990105_20170218_01_T1"'}, "landsat-5"),
        ({"sensor_type": "Landsat ETM"}, "landsat-7"),
        ({"sensor_type": "Landsat TM"}, None),  # Landsat 4 or 5: not guessed
        ({}, None),
    ],
)
def test_platform_from_tags(tags, platform):
    assert platform_from_tags(tags) == platform
