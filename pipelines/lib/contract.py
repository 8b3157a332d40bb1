"""The departmental extract contract (shared/contracts/extracts.md) as data.

One place names every source, its files and their columns, and the English bronze column
each contract column becomes. The generator writes exactly these columns, the contract
checker and ingestion accept exactly these (plus operator-configured aliases), and the dbt
sources read the bronze names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

DELIVERY_ID_RE = re.compile(r"^\d{8}(T\d{6})?$")
FORMATS = ("csv", "xlsx", "jsonl", "geojson")
ENCODINGS = ("utf-8", "utf-8-sig", "gb18030")
KINDS = ("full", "delta")

# Columns shared by person-like records.
PERSON_ENDINGS = {"迁出", "死亡"}


@dataclass(frozen=True)
class FileSpec:
    """One logical file of a source. ``pattern`` matches the delivered file name(s)."""

    table: str                      # bronze table name
    pattern: str                    # regex on the file name
    format: str
    encoding: str | None
    columns: dict[str, str]         # contract column (Chinese) -> bronze column
    record_id: str                  # contract column holding the source record id
    multi: bool = False             # may be split over several files (houses_001.xlsx …)
    sheet: str | None = None        # xlsx sheet name
    required: bool = True           # must be present in a full delivery


@dataclass(frozen=True)
class SourceSpec:
    name: str
    files: tuple[FileSpec, ...]
    kinds: tuple[str, ...] = KINDS
    # 变动类型 values that end a record (the record is no longer current afterwards)
    ending_changes: frozenset[str] = field(default_factory=frozenset)

    def file_for(self, filename: str) -> FileSpec | None:
        for spec in self.files:
            if re.fullmatch(spec.pattern, filename):
                return spec
        return None


GRID = SourceSpec(
    name="grid",
    kinds=("full",),
    files=(
        FileSpec(
            table="grids",
            pattern=r"grids\.geojson",
            format="geojson",
            encoding="utf-8",
            record_id="网格编码",
            columns={
                "网格编码": "grid_code",
                "网格名称": "grid_name",
                "网格类型": "grid_type",
                "社区编码": "community_code",
                "社区名称": "community_name",
                "街道编码": "street_code",
                "街道名称": "street_name",
                "区县编码": "district_code",
                "区县名称": "district_name",
                "网格员": "grid_worker",
                "网格员电话": "grid_worker_phone",
            },
        ),
        FileSpec(
            table="legacy_grid_map",
            pattern=r"legacy_grid_map\.csv",
            format="csv",
            encoding="utf-8",
            record_id="原网格编码",
            columns={
                "原网格体系": "legacy_system",
                "原网格编码": "legacy_code",
                "统一网格编码": "grid_code",
            },
        ),
    ),
)

HOUSEHOLD = SourceSpec(
    name="household",
    ending_changes=frozenset({"迁出", "死亡"}),
    files=(
        FileSpec(
            table="persons",
            pattern=r"persons\.csv",
            format="csv",
            encoding="gb18030",
            record_id="人员编号",
            columns={
                "人员编号": "record_id",
                "公民身份号码": "id_number_raw",
                "姓名": "name",
                "性别": "gender",
                "民族": "ethnicity",
                "出生日期": "birth_date",
                "户号": "household_no",
                "与户主关系": "relation",
                "户籍地址": "registered_address",
                "现住址": "current_address",
                "人户状态": "residency_status",
                "联系电话": "phone",
                "变动类型": "change_type",
                "变动日期": "change_date",
            },
        ),
    ),
)

HOUSING = SourceSpec(
    name="housing",
    ending_changes=frozenset({"注销"}),
    files=(
        FileSpec(
            table="houses",
            pattern=r"houses(_\d{3})?\.xlsx",
            format="xlsx",
            encoding=None,
            sheet="房屋",
            multi=True,
            record_id="房屋编码",
            columns={
                "房屋编码": "record_id",
                "区县": "district_name",
                "街道": "street_name",
                "社区": "community_name",
                "小区名称": "compound",
                "地址": "address",
                "楼栋": "building",
                "单元": "unit",
                "楼层": "floor",
                "房号": "room",
                "建筑面积": "floor_area_m2",
                "房屋用途": "use",
                "房屋状态": "status",
                "产权人": "owner_name",
                "产权人证件号码": "owner_id_number_raw",
                "物业企业": "property_company",
                "经度": "lon",
                "纬度": "lat",
                "变动类型": "change_type",
            },
        ),
    ),
)

PARTY = SourceSpec(
    name="party",
    ending_changes=frozenset({"转出", "死亡", "撤销"}),
    files=(
        FileSpec(
            table="members",
            pattern=r"members\.csv",
            format="csv",
            encoding="utf-8-sig",
            record_id="党员编号",
            required=False,
            columns={
                "党员编号": "record_id",
                "姓名": "name",
                "公民身份号码": "id_number_raw",
                "性别": "gender",
                "出生日期": "birth_date",
                "民族": "ethnicity",
                "学历": "education",
                "入党日期": "joined_date",
                "转正日期": "full_member_date",
                "党员类别": "member_category",
                "人员状态": "member_status",
                "所在党组织编码": "org_code",
                "工作单位": "employer",
                "居住地址": "home_address",
                "双报到社区": "dual_registration_community",
                "联系电话": "phone",
                "变动类型": "change_type",
            },
        ),
        FileSpec(
            table="orgs",
            pattern=r"orgs\.csv",
            format="csv",
            encoding="utf-8-sig",
            record_id="组织编码",
            required=False,
            columns={
                "组织编码": "record_id",
                "组织名称": "org_name",
                "组织类别": "org_type",
                "上级组织编码": "parent_org_code",
                "覆盖网格编码": "covered_grid_codes",
                "书记": "secretary",
                "成立日期": "founded_date",
                "变动类型": "change_type",
            },
        ),
    ),
)

# JSON Lines: nested objects are flattened to these bronze columns; 流转记录 becomes the
# separate bronze table incident/steps (record_id, step_seq, step, step_at, department).
INCIDENT = SourceSpec(
    name="incident",
    kinds=("delta", "full"),
    files=(
        FileSpec(
            table="events",
            pattern=r"events\.jsonl",
            format="jsonl",
            encoding="utf-8",
            record_id="事件编号",
            columns={
                "事件编号": "record_id",
                "来源渠道": "channel",
                "上报时间": "reported_at",
                "事件大类": "category_major",
                "事件小类": "category_minor",
                "描述": "description",
                "地址": "address",
                "坐标": "coord",            # {经度, 纬度, 坐标系} -> lon, lat, crs
                "原网格编码": "legacy_grid",  # {体系, 编码} -> legacy_system, legacy_code
                "流转记录": "steps",         # [{环节, 时间, 部门}] -> bronze incident/steps
                "处置时限小时": "time_limit_hours",
                "当前状态": "status",
                "满意度": "satisfaction",
            },
        ),
    ),
)

SOURCE_SPECS: dict[str, SourceSpec] = {
    s.name: s for s in (GRID, HOUSEHOLD, HOUSING, PARTY, INCIDENT)
}

# Value domains the generator emits and quality checks expect.
LEGACY_SYSTEMS = ("党建", "综治", "城管", "环卫")
GRID_TYPES = ("综合网格", "专属网格")
RELATIONS = ("户主", "配偶", "子", "女", "父亲", "母亲", "孙子", "孙女", "兄弟姐妹", "其他")
RESIDENCY_STATUSES = ("人户一致", "人在户不在", "户在人不在", "流入人口")
HOUSE_USES = ("住宅", "商铺", "办公", "其他")
HOUSE_STATUSES = ("自住", "出租", "空置", "其他")
ORG_TYPES = ("党工委", "党委", "党总支", "党支部", "党小组")
CHANNELS = ("网格员上报", "12345热线", "随手拍", "城管巡查")
INCIDENT_STEPS = ("受理", "立案", "派遣", "处置", "反馈", "核查", "结案", "退回")
INCIDENT_STATUSES = ("待受理", "处置中", "已办结", "已关闭")
SATISFACTION = ("满意", "基本满意", "不满意", "未评价")
