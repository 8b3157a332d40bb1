"""City profiles for the synthetic generator.

A profile fixes the administrative structure exactly (districts, streets, communities, grids,
grid party branches, party groups); ``scale`` multiplies only the population, the housing
stock and the incident volume.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class District:
    code: str                       # 6-digit GB/T 2260 county-level code
    name: str
    streets: tuple[str, ...]        # street (街道) names; codes are code + 001, 002, …
    communities: int                # communities in this district
    grids: int                      # unified grids in this district
    center: tuple[float, float]     # lon, lat (WGS-84)


@dataclass(frozen=True)
class Profile:
    name: str
    province_code: str
    province_name: str
    city_code: str
    city_name: str
    districts: tuple[District, ...]
    grid_branches: int              # 网格党支部 under community organisations
    party_groups: int               # 党小组
    residents: int                  # about this many residents at scale 1
    grid_km2: float = 0.12          # typical grid area
    base_date: dt.date = dt.date(2026, 11, 1)
    days: int = 10                  # deliveries on base_date … base_date + days - 1
    backlog_days: int = 5           # incidents reported before the first delivery
    events_per_grid_day: float = 0.35
    # defect and variation rates (fractions of records)
    rates: dict = field(default_factory=dict)

    @property
    def streets(self) -> int:
        return sum(len(d.streets) for d in self.districts)

    @property
    def communities(self) -> int:
        return sum(d.communities for d in self.districts)

    @property
    def grids(self) -> int:
        return sum(d.grids for d in self.districts)


DEFAULT_RATES = {
    # identity numbers (per person record)
    "id_lower_x": 0.6,          # of numbers whose check character is X
    "id_fullwidth": 0.01,
    "id_spaces": 0.005,
    "id_legacy15": 0.01,        # of people born 1900-1999
    "id_bad_check": 0.006,
    "id_empty": 0.004,          # plus most 流入人口 without a number
    "id_wrong_valid": 0.003,    # mistyped digit, check character recomputed
    "id_relative_copy": 0.002,  # a household member's number copied
    "floating_no_id": 0.08,     # of 流入人口
    # names and text
    "name_typo": 0.01,
    "name_traditional": 0.01,
    "address_traditional": 0.02,
    "address_fullwidth": 0.03,
    "gender_code": 0.3,          # 1/2 instead of 男/女
    "duplicate_person": 0.006,   # registered twice
    "duplicate_house": 0.01,
    # structure of the population
    "hh_separated": 0.08,        # 人在户不在 households
    "hh_floating": 0.14,         # 流入人口 households
    "hh_away": 0.02,             # whole household 户在人不在
    "member_away": 0.05,         # members of local households living outside the city
    "party_share": 0.07,         # of adults
    "party_outside": 0.03,       # members living outside the city (not in the registry)
    "no_property_company": 0.3,  # compounds without a property company (无主管楼院)
    # deltas per delta day, as fractions of persons / houses / members
    "moves": 0.0006,
    "deaths": 0.0002,
    "births": 0.0003,
    "move_out": 0.0002,
    "new_floating": 0.0004,
    "house_cancel": 0.0002,
    "house_change": 0.0005,
    "member_new": 0.0008,
    "member_transfer": 0.0005,
}


def _rates(**over) -> dict:
    r = dict(DEFAULT_RATES)
    r.update(over)
    return r


XINGYI_STREETS = (
    "黄草街道", "兴泰街道", "丰都街道", "桔山街道", "坪东街道", "木贾街道",
    "下五屯街道", "洒金街道", "栖霞街道", "万峰林街道", "马岭街道", "敬南街道",
)

QIANXINAN = Profile(
    name="qianxinan",
    province_code="520000",
    province_name="贵州省",
    city_code="522300",
    city_name="黔西南布依族苗族自治州",
    districts=(
        District("522301", "兴义市", XINGYI_STREETS, 62, 480, (104.90, 25.09)),
        District("522302", "兴仁市", ("东湖街道", "城北街道", "城南街道", "真武山街道", "陆官街道", "巴铃街道"), 26, 196, (105.19, 25.43)),
        District("522323", "普安县", ("南湖街道", "茶源街道", "盘水街道", "江西坡街道"), 14, 108, (104.95, 25.78)),
        District("522324", "晴隆县", ("莲城街道", "东观街道", "三宝街道", "光照街道"), 14, 104, (105.22, 25.83)),
        District("522325", "贞丰县", ("珉谷街道", "永丰街道", "双峰街道", "者相街道", "鲁贡街道"), 17, 128, (105.65, 25.39)),
        District("522326", "望谟县", ("王母街道", "平洞街道", "蔗香街道", "新屯街道"), 14, 103, (106.10, 25.18)),
        District("522327", "册亨县", ("者楼街道", "高洛街道", "冗渡街道", "秧坝街道"), 13, 100, (105.81, 24.98)),
        District("522328", "安龙县", ("栖凤街道", "春潭街道", "钱相街道", "招堤街道"), 18, 140, (105.47, 25.10)),
    ),
    grid_branches=194,
    party_groups=1165,
    residents=1_200_000,
    rates=_rates(),
)

JINGDEZHEN = Profile(
    name="jingdezhen",
    province_code="360000",
    province_name="江西省",
    city_code="360200",
    city_name="景德镇市",
    districts=(
        District("360202", "昌江区", ("西郊街道", "新枫街道", "鲇鱼山街道", "荷塘街道"), 26, 250, (117.12, 29.30)),
        District("360203", "珠山区", (
            "周路口街道", "新村街道", "新厂街道", "石狮埠街道", "里村街道", "昌江街道",
            "太白园街道", "珠山街道", "昌河街道", "竟成街道", "金鱼街道",
        ), 55, 520, (117.21, 29.30)),
        District("360222", "浮梁县", ("浮梁街道",), 8, 70, (117.21, 29.40)),
        District("360281", "乐平市", ("洎阳街道", "塔山街道", "涌山街道", "礼林街道"), 20, 181, (117.13, 28.96)),
    ),
    grid_branches=150,
    party_groups=820,
    residents=800_000,
    rates=_rates(),
)

TINY = Profile(
    name="tiny",
    province_code="520000",
    province_name="贵州省",
    city_code="522300",
    city_name="黔西南布依族苗族自治州",
    districts=(
        District("522301", "兴义市", ("黄草街道", "兴泰街道"), 4, 12, (104.90, 25.09)),
    ),
    grid_branches=5,
    party_groups=8,
    residents=1_000,
    rates=_rates(
        # a small city needs higher rates to show every kind of defect
        id_fullwidth=0.03, id_spaces=0.02, id_legacy15=0.03, id_bad_check=0.02, id_empty=0.02,
        id_wrong_valid=0.015, id_relative_copy=0.015, name_typo=0.03, name_traditional=0.03,
        duplicate_person=0.02, duplicate_house=0.03,
    ),
    events_per_grid_day=1.0,
)

PROFILES: dict[str, Profile] = {p.name: p for p in (TINY, QIANXINAN, JINGDEZHEN)}

for _p in PROFILES.values():
    assert all(len(d.streets) <= 99 for d in _p.districts)
assert QIANXINAN.streets == 43 and QIANXINAN.communities == 178 and QIANXINAN.grids == 1359
assert JINGDEZHEN.communities == 109 and JINGDEZHEN.grids == 1021
