"""Address standardisation (int_addresses_standardised) on texts that exercise each step.

Prefixes (city, county, 街道, 社区), Chinese numerals in the road number and in the dwelling
ending, 幢 / 号楼, a missing unit or 室, spaces, texts with only an ending or none, and an ending
that parses only as part of the whole text (十2栋: 十 is no address number and stays in the
core). Any change to the standardisation must keep these results (a rewrite that standardised
the heads and endings of the texts separately was checked against them). The values are
invented.
"""

from __future__ import annotations

import datetime as dt

import pytest
from fixtures.make_bronze import HOUSE_SCHEMA, _write, make_bronze
from test_dbt_build import connect, run_dbt

# text → (is_parsed, core, road, compound, building, unit_given, unit, room, address_std,
#         has_division_prefix)
CASES = {
    # every prefix, a numeral 号楼 building
    "贵阳市云岩区甲街道甲社区幸福路8号幸福小区二号楼3单元502室":
        (True, "幸福路8号幸福小区", "幸福路8号", "幸福小区", "2", "3", "3", "502",
         "幸福路8号幸福小区2栋3单元502室", True),
    # 幢, no unit (unit 1), no 室
    "云岩区幸福路8号幸福小区5幢1201":
        (True, "幸福路8号幸福小区", "幸福路8号", "幸福小区", "5", None, "1", "1201",
         "幸福路8号幸福小区5栋1单元1201室", True),
    # numerals throughout the ending
    "幸福路8号幸福小区一栋二单元五零二室":
        (True, "幸福路8号幸福小区", "幸福路8号", "幸福小区", "1", "2", "2", "502",
         "幸福路8号幸福小区1栋2单元502室", False),
    # a numeral in the compound name that is not an address number stays; 二栋 converts
    "幸福路8号百花园二栋101":
        (True, "幸福路8号百花园", "幸福路8号", "百花园", "2", None, "1", "101",
         "幸福路8号百花园2栋1单元101室", False),
    # the road number in numerals (head), the room as 号
    "幸福路十二号幸福小区3号楼1单元101号":
        (True, "幸福路12号幸福小区", "幸福路12号", "幸福小区", "3", "1", "1", "101",
         "幸福路12号幸福小区3栋1单元101室", False),
    # spaces (ASCII and ideographic) removed
    "幸福路8号 幸福小区\u30003栋 1单元 101室":
        (True, "幸福路8号幸福小区", "幸福路8号", "幸福小区", "3", "1", "1", "101",
         "幸福路8号幸福小区3栋1单元101室", False),
    # street and community names stripped, no road number
    "甲街道乙社区老街楼院2栋201":
        (True, "老街楼院", None, "老街楼院", "2", None, "1", "201", "老街楼院2栋1单元201室", False),
    # only an ending: no core, not parsed
    "3栋2单元502室": (False, None, None, None, None, None, None, None, "3栋2单元502", False),
    # a prefix and an ending: no core left once the prefix goes
    "贵阳市云岩区3栋2单元502室": (False, None, None, None, None, None, None, None, "3栋2单元502",
                          True),
    # no dwelling ending at all
    "幸福路8号": (False, None, None, None, None, None, None, None, "幸福路8号", False),
    "幸福路8号幸福小区门口": (False, None, None, None, None, None, None, None, "幸福路8号幸福小区门口",
                    False),
    # an ending that parses only as part of the whole text: 十 is no address number here and
    # stays in the core
    "幸福小区十2栋1单元501室":
        (True, "幸福小区十", None, "幸福小区十", "2", "1", "1", "501", "幸福小区十2栋1单元501室", False),
}
COLUMNS = ("is_parsed", "core", "road", "compound", "building", "unit_given", "unit", "room",
           "address_std", "has_division_prefix")


@pytest.fixture(scope="module")
def standardised(tmp_path_factory):
    data = tmp_path_factory.mktemp("addresses")
    make_bronze(data)
    rows = [(f"X{i:02d}", "云岩区", "甲街道", "甲社区", None, text, None, None, None, None, None,
             "住宅", "自住", "业主", None, "empty", None, None, None, None, "新增", [])
            for i, text in enumerate(CASES)]
    _write(data, "housing", "houses", "20260301", "delta", dt.datetime(2026, 3, 1), "houses.xlsx",
           rows, HOUSE_SCHEMA)
    run_dbt(data, ["build", "-s", "+int_addresses_standardised"])
    con = connect(data)
    try:
        got = con.execute(
            "select address_raw, is_parsed, core, "
            "case when is_parsed then nullif(substr(core, 1, length(core) - length(compound)), '') end, "
            "compound, building, unit_given, unit, room, address_std, has_division_prefix, "
            "address_key "
            "from intermediate.int_addresses_standardised where address_raw in "
            f"({', '.join('?' for _ in CASES)})", list(CASES)).fetchall()
    finally:
        con.close()
    return {r[0]: r[1:] for r in got}


@pytest.mark.parametrize("text", list(CASES))
def test_address_is_standardised(standardised, text):
    assert text in standardised, "the text was not standardised"
    expected = dict(zip(COLUMNS, CASES[text]))
    # what dwellings and people are matched on
    expected["address_key"] = ("|".join(expected[c] for c in ("core", "building", "unit", "room"))
                               if expected["is_parsed"] else None)
    assert dict(zip((*COLUMNS, "address_key"), standardised[text])) == expected
