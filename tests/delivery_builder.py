"""Write small contract-conforming deliveries (with correct manifests) for tests.

    b = DeliveryBuilder(landing)
    b.household("20261101", persons(5))                       # a full delivery
    b.household("20261108", rows, kind="delta")
    b.write("household", "20261115", {"persons.csv": raw_bytes}, rows={"persons.csv": 3})

Every value is synthetic. ``rows``/``sha256`` overrides let a test break a manifest on purpose.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

from pipelines.lib.contract import SOURCE_SPECS
from pipelines.lib.idnumber import check_char

SYSTEMS = {"grid": "综治中心网格底图", "household": "公安实有人口管理系统",
           "housing": "住建实有房屋系统", "party": "智慧党建系统", "incident": "网格事件系统"}


def columns(source: str, table: str) -> list[str]:
    for f in SOURCE_SPECS[source].files:
        if f.table == table:
            return list(f.columns)
    raise KeyError(table)


def id_number(i: int, born: str = "19850312") -> str:
    body = f"522301{born}{i % 1000:03d}"
    return body + check_char(body)


def csv_bytes(header: list[str], rows: list[list], encoding: str = "utf-8",
              newline: str = "\r\n") -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator=newline, quoting=csv.QUOTE_MINIMAL)
    w.writerow(header)
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    return buf.getvalue().encode(encoding)


def xlsx_bytes(header: list[str], rows: list[list], sheet: str = "房屋") -> bytes:
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_numbers": False})
    ws = wb.add_worksheet(sheet)
    ws.write_row(0, 0, header)
    for i, r in enumerate(rows, start=1):
        for j, v in enumerate(r):
            if v is None or v == "":
                continue
            if isinstance(v, (int, float)):
                ws.write_number(i, j, v)
            else:
                ws.write_string(i, j, str(v))
    wb.close()
    return buf.getvalue()


def jsonl_bytes(objs: list[dict]) -> bytes:
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs).encode("utf-8")


def geojson_bytes(features: list[dict]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": features},
                      ensure_ascii=False).encode("utf-8")


# --- sample records (synthetic) -----------------------------------------------------------
def persons(n: int, start: int = 1) -> list[dict]:
    out = []
    for i in range(start, start + n):
        out.append({
            "人员编号": f"P{i:08d}", "公民身份号码": id_number(i), "姓名": f"测试{i}",
            "性别": "1" if i % 2 else "女", "民族": "汉族",
            "出生日期": ["19850312", "1985-03-12", "1985/3/12", "1985年3月12日"][i % 4],
            "户号": f"H{(i + 1) // 2:07d}", "与户主关系": "户主" if i % 2 else "配偶",
            "户籍地址": "兴义市桔山街道 三栋 2单元 301室", "现住址": "兴義市桔山街道3栋301",
            "人户状态": "人户一致", "联系电话": f"1380000{i:04d}", "变动类型": "",
            "变动日期": ""})
    return out


def houses(n: int, start: int = 1) -> list[dict]:
    return [{
        "房屋编码": f"{i:011d}", "区县": "兴义市", "街道": "桔山街道", "社区": "测试社区",
        "小区名称": "测试小区", "地址": f"兴义市桔山街道测试小区{i}栋101", "楼栋": f"{i}",
        "单元": "", "楼层": 1, "房号": "101", "建筑面积": 88.5 + i, "房屋用途": "住宅",
        "房屋状态": "自住", "产权人": f"业主{i}", "产权人证件号码": id_number(i, "19700101"),
        "物业企业": "", "经度": 104.9 + i / 1000, "纬度": 25.08, "变动类型": ""}
        for i in range(start, start + n)]


def members(n: int) -> list[dict]:
    return [{
        "党员编号": f"D{i:06d}", "姓名": f"党员{i}", "公民身份号码": id_number(i, "19700101"),
        "性别": "男", "出生日期": "1970-01-01", "民族": "汉族", "学历": "大学本科",
        "入党日期": "2000-07-01", "转正日期": "2001-07-01", "党员类别": "正式党员",
        "人员状态": "在职", "所在党组织编码": "ORG003", "工作单位": "测试单位",
        "居住地址": "测试地址", "双报到社区": "", "联系电话": "13900000000", "变动类型": ""}
        for i in range(1, n + 1)]


def orgs() -> list[dict]:
    return [
        {"组织编码": "ORG001", "组织名称": "桔山街道党工委", "组织类别": "党工委",
         "上级组织编码": "", "覆盖网格编码": "", "书记": "书记甲", "成立日期": "2001-07-01",
         "变动类型": ""},
        {"组织编码": "ORG002", "组织名称": "测试社区党委", "组织类别": "党委",
         "上级组织编码": "ORG001", "覆盖网格编码": "", "书记": "书记乙", "成立日期": "2005-07-01",
         "变动类型": ""},
        {"组织编码": "ORG003", "组织名称": "第一网格党支部", "组织类别": "党支部",
         "上级组织编码": "ORG002", "覆盖网格编码": "522301001001001;DJ-0001", "书记": "书记丙",
         "成立日期": "2018/7/1", "变动类型": ""}]


def events(n: int, start: int = 1) -> list[dict]:
    out = []
    for i in range(start, start + n):
        out.append({
            "事件编号": f"E2026110100{i:03d}", "来源渠道": "网格员上报",
            "上报时间": "2026-11-01 08:12:05", "事件大类": "市容环境", "事件小类": "暴露垃圾",
            "描述": "路边有垃圾", "地址": "桔山街道测试路",
            "坐标": {"经度": 104.9061, "纬度": 25.0894, "坐标系": "GCJ02" if i % 2 else "WGS84"},
            "原网格编码": {"体系": "城管", "编码": f"CG{i:04d}"} if i % 3 else None,
            "流转记录": [{"环节": "受理", "时间": "2026-11-01 08:12:05", "部门": "街道"},
                         {"环节": "派遣", "时间": "2026-11-01 08:40:00", "部门": "区城管局"}],
            "处置时限小时": 72, "当前状态": "处置中", "满意度": None})
    return out


def grid_features(n: int) -> list[dict]:
    out = []
    for i in range(1, n + 1):
        x, y = 104.9 + i * 0.01, 25.08
        out.append({"type": "Feature", "properties": {
            "网格编码": f"522301001001{i:03d}", "网格名称": f"第{i}网格", "网格类型": "综合网格",
            "社区编码": "522301001001", "社区名称": "测试社区", "街道编码": "522301001",
            "街道名称": "桔山街道", "区县编码": "522301", "区县名称": "兴义市",
            "网格员": f"网格员{i}", "网格员电话": "13800000000"},
            "geometry": {"type": "Polygon", "coordinates": [[[x, y], [x + 0.01, y],
                                                              [x + 0.01, y + 0.01], [x, y]]]}})
    return out


def legacy_map(n: int) -> list[dict]:
    return [{"原网格体系": s, "原网格编码": f"X{i:04d}", "统一网格编码": f"522301001001{i:03d}"}
            for i in range(1, n + 1) for s in ("党建", "城管")]


def as_rows(records: list[dict], header: list[str]) -> list[list]:
    return [[r.get(c) for c in header] for r in records]


class DeliveryBuilder:
    """Writes deliveries under ``landing/<source>/<delivery_id>/`` with a correct manifest."""

    def __init__(self, landing: Path):
        self.landing = Path(landing)

    def write(self, source: str, delivery_id: str, files: dict[str, bytes], kind: str = "full",
              extracted_at: str | None = None, rows: dict[str, int] | None = None,
              sha256: dict[str, str] | None = None, encodings: dict[str, str] | None = None,
              formats: dict[str, str] | None = None, row_counts: dict[str, int] | None = None
              ) -> Path:
        d = self.landing / source / delivery_id
        d.mkdir(parents=True, exist_ok=True)
        entries = []
        for name, data in files.items():
            (d / name).write_bytes(data)
            spec = SOURCE_SPECS[source].file_for(name)
            fmt = (formats or {}).get(name, spec.format if spec else name.rsplit(".", 1)[-1])
            enc = (encodings or {}).get(name, spec.encoding if spec else "utf-8")
            n = (rows or {}).get(name, (row_counts or {}).get(name, 0))
            entries.append({"name": name, "format": fmt, "encoding": enc, "rows": n,
                            "sha256": (sha256 or {}).get(name, hashlib.sha256(data).hexdigest())})
        ts = extracted_at or f"{delivery_id[:4]}-{delivery_id[4:6]}-{delivery_id[6:8]}T02:00:00+08:00"
        doc = {"source": source, "system": SYSTEMS[source], "delivery_id": delivery_id,
               "extracted_at": ts, "kind": kind, "files": entries}
        (d / "_manifest.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1),
                                          encoding="utf-8")
        return d

    # convenience writers: records → files with correct row counts
    def household(self, did: str, recs: list[dict], kind: str = "full", header=None, **kw):
        header = header or columns("household", "persons")
        data = csv_bytes(header, as_rows(recs, header), "gb18030")
        return self.write("household", did, {"persons.csv": data}, kind,
                          row_counts={"persons.csv": len(recs)}, **kw)

    def housing(self, did: str, recs: list[dict], kind: str = "full", split: int = 0, **kw):
        header = columns("housing", "houses")
        if split:
            files = {f"houses_{k + 1:03d}.xlsx": recs[k * split:(k + 1) * split]
                     for k in range((len(recs) + split - 1) // split)}
        else:
            files = {"houses.xlsx": recs}
        return self.write("housing", did,
                          {n: xlsx_bytes(header, as_rows(r, header)) for n, r in files.items()},
                          kind, row_counts={n: len(r) for n, r in files.items()}, **kw)

    def party(self, did: str, mem: list[dict] | None, org: list[dict] | None, kind="full", **kw):
        files, counts = {}, {}
        if mem is not None:
            h = columns("party", "members")
            files["members.csv"] = csv_bytes(h, as_rows(mem, h), "utf-8-sig", "\n")
            counts["members.csv"] = len(mem)
        if org is not None:
            h = columns("party", "orgs")
            files["orgs.csv"] = csv_bytes(h, as_rows(org, h), "utf-8-sig", "\n")
            counts["orgs.csv"] = len(org)
        return self.write("party", did, files, kind, row_counts=counts, **kw)

    def incident(self, did: str, evs: list[dict], kind: str = "delta", **kw):
        return self.write("incident", did, {"events.jsonl": jsonl_bytes(evs)}, kind,
                          row_counts={"events.jsonl": len(evs)}, **kw)

    def grid(self, did: str, feats: list[dict], legacy: list[dict], **kw):
        h = columns("grid", "legacy_grid_map")
        return self.write("grid", did, {"grids.geojson": geojson_bytes(feats),
                                        "legacy_grid_map.csv": csv_bytes(h, as_rows(legacy, h))},
                          "full", row_counts={"grids.geojson": len(feats),
                                              "legacy_grid_map.csv": len(legacy)}, **kw)

    def tiny_city(self) -> None:
        """One accepted delivery of every source."""
        self.grid("20261101", grid_features(3), legacy_map(3))
        self.household("20261101", persons(10))
        self.housing("20261101", houses(6), split=4)
        self.party("20261101", members(4), orgs())
        self.incident("20261101T080000", events(5))
