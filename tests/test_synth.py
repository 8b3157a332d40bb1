"""The synthetic city: contract conformance, identity numbers, structure, determinism.

Assertions are on counts only: no identity number, name or phone is ever printed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl
import pytest

from pipelines import config
from pipelines.lib.contract_check import check_delivery
from pipelines.lib.manifest import list_deliveries, read_manifest
from pipelines.synth import PROFILES, generate


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("synth") / "landing"
    truth = generate("tiny", root, seed=7, progress=False)
    return root, truth


def test_truth_beside_landing_not_inside(tiny):
    root, truth = tiny
    assert truth == config.truth_dir(root)
    assert not truth.is_relative_to(root)
    assert {p.name for p in root.iterdir()} <= {"grid", "household", "housing", "party", "incident"}


def test_every_delivery_passes_the_contract_checker(tiny):
    root, _ = tiny
    deliveries = list_deliveries(root)
    sources = {s for s, _ in deliveries}
    assert sources == {"grid", "household", "housing", "party", "incident"}
    for source, did in deliveries:
        problems = check_delivery(root / source / did)
        assert problems == [], f"{source}/{did}: {len(problems)} problems, first: {problems[:1]}"
    # a full delivery for every source first, deltas after it
    for source in sources:
        kinds = [read_manifest(root / source / d).kind for s, d in deliveries if s == source]
        assert kinds[0] == "full"
        if source != "grid":
            assert len(kinds) >= 5 and set(kinds[1:]) == {"delta"}


def test_refuses_to_overwrite(tiny):
    root, _ = tiny
    with pytest.raises(FileExistsError):
        generate("tiny", root, seed=7, progress=False)


# --------------------------------------------------------------------------- identity numbers
BROKEN_ID = {"id_lower_x", "id_fullwidth", "id_spaces", "id_legacy15", "id_bad_check", "id_empty"}


def _read_csv(path: Path, encoding: str) -> pl.DataFrame:
    return pl.read_csv(path.read_bytes().decode(encoding).encode("utf-8"), infer_schema=False)


@pytest.mark.parametrize("source,file,encoding,col,prefix", [
    ("household", "persons.csv", "gb18030", "公民身份号码", ""),
    ("party", "members.csv", "utf-8-sig", "公民身份号码", ""),
])
def test_identity_numbers_validate_except_the_broken_ones(tiny, source, file, encoding, col, prefix):
    from stdnum.cn import ric

    root, truth = tiny
    did = sorted(p.name for p in (root / source).iterdir())[0]
    df = _read_csv(root / source / did / file, encoding)
    rid = df.columns[0]
    defects = pl.read_parquet(truth / "defects.parquet").filter(
        (pl.col("source") == source) & (pl.col("delivery_id") == did) & (pl.col("file") == file))
    broken = set(defects.filter(pl.col("kind").is_in(BROKEN_ID))["source_record_id"].to_list())
    ok_bad = bad_ok = checked = 0
    rows = int(df.height)
    for rec, number in zip(df[rid].to_list(), df[col].to_list()):
        valid = ric.is_valid(number or "")
        if rec in broken:
            bad_ok += valid and number is not None and not number.endswith("x") and len(number) == 18
        else:
            checked += 1
            ok_bad += not valid
    assert checked > 0.6 * rows
    assert ok_bad == 0, f"{ok_bad} numbers without an injected defect fail python-stdnum"
    # deliberately broken numbers (other than lower-case x / spaces, which stdnum may clean) fail
    assert bad_ok <= len(broken)


def test_wrong_check_characters_fail_stdnum(tiny):
    from stdnum.cn import ric

    root, truth = tiny
    did = sorted(p.name for p in (root / "household").iterdir())[0]
    df = _read_csv(root / "household" / did / "persons.csv", "gb18030")
    d = pl.read_parquet(truth / "defects.parquet").filter(
        (pl.col("delivery_id") == did) & (pl.col("file") == "persons.csv"))
    kinds = d.group_by("kind").len()
    for k in ("id_bad_check", "id_legacy15", "id_empty", "id_wrong_valid", "id_relative_copy",
              "name_typo", "duplicate_record", "date_format", "gender_code", "address_variant"):
        assert k in kinds["kind"].to_list(), f"no {k} defect injected"
    bad = set(d.filter(pl.col("kind").is_in(["id_bad_check", "id_legacy15", "id_empty"]))["source_record_id"])
    sub = df.filter(pl.col("人员编号").is_in(list(bad)))
    assert int(sub.height) == len(bad)
    assert sum(ric.is_valid(x or "") for x in sub["公民身份号码"].to_list()) == 0


# --------------------------------------------------------------------------- truth and counts
def test_truth_counts_are_consistent(tiny):
    _, truth = tiny
    counts = json.loads((truth / "counts.json").read_text(encoding="utf-8"))
    persons = pl.read_parquet(truth / "persons.parquet")
    city = counts["city"]
    assert city["residents"] == persons["is_resident"].sum() > 500
    assert city["registered_residents"] + city["floating_residents"] == city["residents"]
    assert city["floating_residents"] > 0
    gc = pl.read_parquet(truth / "grid_counts.parquet")
    assert gc.height == city["grids"] == 12
    assert gc["households"].sum() == city["households"]
    houses = pl.read_parquet(truth / "houses.parquet")
    assert city["houses"] == houses["is_current"].sum()
    rec = pl.read_parquet(truth / "records.parquet")
    assert rec.select(pl.struct("source", "table", "source_record_id").is_unique().all()).item()
    people = rec.filter(pl.col("source") == "household")
    # people registered twice, and people living outside the city (no dwelling, no grid)
    assert people["is_duplicate"].sum() > 0
    assert people.filter(pl.col("house_id").is_null() & pl.col("is_current")).height > 0
    assert not people.filter(pl.col("house_id").is_null() & pl.col("grid_code").is_not_null()).height
    # ended records exist after the deltas
    assert people.filter(~pl.col("is_current")).height > 0


def test_incidents(tiny):
    root, truth = tiny
    inc = pl.read_parquet(truth / "incidents.parquet")
    assert inc["returned_count"].sum() > 0
    assert 0 < inc["is_overdue"].sum() < inc.height
    assert set(inc["channel"].unique()) == {"网格员上报", "12345热线", "随手拍", "城管巡查"}
    assert inc.filter(~pl.col("has_coord") & pl.col("legacy_system").is_not_null()).height > 0
    assert inc.filter(~pl.col("has_coord") & pl.col("legacy_system").is_null()).height > 0
    # GCJ-02 points are a few hundred metres from the true WGS-84 position
    seen = {}
    for did in sorted(p.name for p in (root / "incident").iterdir()):
        for line in (root / "incident" / did / "events.jsonl").read_text(encoding="utf-8").splitlines():
            doc = json.loads(line)
            seen[doc["事件编号"]] = doc
    assert set(seen) == set(inc["incident_id"])
    t = inc.filter(pl.col("crs") == "GCJ02")
    import math
    dists = []
    for eid, lon, lat in zip(t["incident_id"], t["lon_wgs84"], t["lat_wgs84"]):
        c = seen[eid]["坐标"]
        dx = (c["经度"] - lon) * 111_320 * math.cos(math.radians(lat))
        dy = (c["纬度"] - lat) * 110_540
        dists.append(math.hypot(dx, dy))
    assert dists and 250 < min(dists) and max(dists) < 800
    # some events move through their workflow across deliveries
    statuses = [s for s in inc["status"].unique().to_list()]
    assert {"处置中", "已办结"} <= set(statuses)


def test_legacy_codes_reused_across_systems(tiny):
    root, _ = tiny
    m = pl.read_csv(root / "grid" / "20261101" / "legacy_grid_map.csv", infer_schema=False)
    assert set(m["原网格体系"]) == {"党建", "综治", "城管", "环卫"}
    assert m.select(pl.struct("原网格体系", "原网格编码").is_unique().all()).item()
    assert m.group_by("原网格编码").agg(pl.col("原网格体系").n_unique().alias("n")).filter(pl.col("n") > 1).height > 0


def test_grid_polygons_tile_each_community(tiny):
    import shapely
    from shapely.geometry import shape

    root, _ = tiny
    doc = json.loads((root / "grid" / "20261101" / "grids.geojson").read_text(encoding="utf-8"))
    geoms = [shape(f["geometry"]) for f in doc["features"]]
    codes = [f["properties"]["网格编码"] for f in doc["features"]]
    assert all(len(c) == 15 and c.isdigit() for c in codes)
    assert all(c.startswith(f["properties"]["社区编码"]) for c, f in zip(codes, doc["features"]))
    tree = shapely.STRtree(geoms)
    overlap = 0.0
    for i, g in enumerate(geoms):
        for j in tree.query(g):
            if j > i:
                overlap += g.intersection(geoms[j]).area
    total = sum(g.area for g in geoms)
    # only slivers from rounding coordinates to 1e-7 degrees (about 1 cm) along shared edges
    assert overlap < total * 1e-5
    # the grids of a community cover it without holes: the union is one polygon of equal area
    by_comm: dict[str, list] = {}
    for f, g in zip(doc["features"], geoms):
        by_comm.setdefault(f["properties"]["社区编码"], []).append(g)
    for gs in by_comm.values():
        u = shapely.union_all(gs)
        assert abs(u.area - sum(x.area for x in gs)) < 1e-5 * u.area
        assert u.geom_type == "Polygon" and len(u.interiors) == 0


# --------------------------------------------------------------------------- profiles' structure
@pytest.mark.parametrize("name", ["qianxinan", "jingdezhen"])
def test_profile_structure_is_exact(tmp_path, name):
    truth = generate(name, tmp_path / "landing", progress=False, structure_only=True)
    counts = json.loads((truth / "counts.json").read_text(encoding="utf-8"))["city"]
    prof = PROFILES[name]
    assert counts["streets"] == prof.streets
    assert counts["communities"] == prof.communities
    assert counts["grids"] == prof.grids
    assert counts["grid_party_branches"] == prof.grid_branches
    assert counts["party_groups"] == prof.party_groups
    if name == "qianxinan":
        assert (counts["streets"], counts["communities"], counts["grids"]) == (43, 178, 1359)
        assert (counts["grid_party_branches"], counts["party_groups"]) == (194, 1165)
    else:
        assert (counts["communities"], counts["grids"]) == (109, 1021)
    grids = pl.read_parquet(truth / "grids.parquet")
    assert grids["grid_code"].str.len_chars().unique().to_list() == [15]
    assert grids["grid_code"].is_unique().all()
    orgs = pl.read_parquet(truth / "orgs.parquet")
    covered = set(orgs.filter(pl.col("level").is_in(["branch", "group"]))["grid_codes"].explode().to_list())
    assert covered == set(grids["grid_code"])          # every grid has a branch or group
    # a branch lists every grid its groups cover
    br = dict(zip(orgs["org_code"], orgs["grid_codes"].to_list()))
    for parent, gl in zip(orgs.filter(pl.col("level") == "group")["parent_org_code"],
                          orgs.filter(pl.col("level") == "group")["grid_codes"].to_list()):
        assert set(gl) <= set(br[parent])
    # real division codes
    codes = set(grids["district_code"])
    assert codes >= ({"522301"} if name == "qianxinan" else {"360202", "360203", "360222", "360281"})
    if name == "qianxinan":
        assert "522301001" in set(grids["street_code"])
        assert grids.filter(pl.col("street_code") == "522301001")["street_name"][0] == "黄草街道"
    else:
        streets = set(grids.filter(pl.col("district_code") == "360203")["street_code"])
        assert streets == {f"360203{i:03d}" for i in range(1, 12)}
    # the grid delivery is written and conforms
    (did,) = [p.name for p in (tmp_path / "landing" / "grid").iterdir()]
    assert check_delivery(tmp_path / "landing" / "grid" / did) == []


# --------------------------------------------------------------------------- determinism
def _fingerprint(root: Path) -> str:
    h = hashlib.sha256()
    for m in sorted(root.glob("*/*/_manifest.json")):
        h.update(str(m.relative_to(root)).encode())
        h.update(m.read_bytes())
    return h.hexdigest()


def test_deterministic_for_a_seed(tiny, tmp_path):
    root, truth = tiny
    again = tmp_path / "a" / "landing"
    t2 = generate("tiny", again, seed=7, progress=False)
    assert _fingerprint(again) == _fingerprint(root)
    assert (t2 / "counts.json").read_text(encoding="utf-8") == (truth / "counts.json").read_text(encoding="utf-8")
    other = tmp_path / "b" / "landing"
    generate("tiny", other, seed=8, progress=False)
    assert _fingerprint(other) != _fingerprint(root)


# --------------------------------------------------------------------------- housing and calendar
def test_houses_lie_in_their_grid(tiny):
    import fastexcel
    import shapely

    root, truth = tiny
    df = fastexcel.read_excel(str(root / "housing" / "20261101" / "houses.xlsx")).load_sheet_by_name(
        "房屋", dtypes={"经度": "float", "纬度": "float"}).to_polars()
    rec = pl.read_parquet(truth / "records.parquet").filter(pl.col("source") == "housing")
    grids = pl.read_parquet(truth / "grids.parquet")
    geom = {c: shapely.from_wkt(w) for c, w in zip(grids["grid_code"], grids["wkt"])}
    j = df.select("房屋编码", "经度", "纬度").join(rec.select("source_record_id", "grid_code", "is_duplicate"),
                                              left_on="房屋编码", right_on="source_record_id")
    assert j.height == df.height
    inside = sum(shapely.contains_xy(geom[g], x, y) for g, x, y in zip(j["grid_code"], j["经度"], j["纬度"]))
    assert inside == j.height
    # some compounds have no property company, some dwellings are registered twice
    assert df["物业企业"].null_count() > 0
    assert j["is_duplicate"].sum() > 0


def test_houses_split_over_files_above_the_limit(tmp_path, monkeypatch):
    from pipelines.synth import core

    monkeypatch.setattr(core, "XLSX_MAX_ROWS", 400)
    root = tmp_path / "landing"
    generate("tiny", root, seed=3, progress=False)
    full = root / "housing" / "20261101"
    names = sorted(p.name for p in full.glob("*.xlsx"))
    assert names[:2] == ["houses_001.xlsx", "houses_002.xlsx"] and "houses.xlsx" not in names
    m = read_manifest(full)
    assert all(f.rows <= 400 for f in m.files)
    assert check_delivery(full) == []


def test_working_day_clock():
    import datetime as dt

    from pipelines.synth.incidents import WorkClock

    clock = WorkClock(dt.date(2026, 9, 1), 120)
    # dispatched on Saturday: the clock starts Monday 00:00, 24 working hours end Monday 24:00
    assert clock.deadline(dt.datetime(2026, 11, 7, 10, 0), 24) == dt.datetime(2026, 11, 10, 0, 0)
    # National Day holiday 2026-10-01..07 stops the clock
    assert clock.deadline(dt.datetime(2026, 9, 30, 12, 0), 24) > dt.datetime(2026, 10, 8, 0, 0)
    # within a working week the clock runs 24 hours a day
    assert clock.deadline(dt.datetime(2026, 11, 10, 9, 0), 5) == dt.datetime(2026, 11, 10, 14, 0)


def test_contract_checker_reports_breaches_without_values(tiny, tmp_path):
    import shutil

    root, _ = tiny
    ddir = tmp_path / "household" / "20261101"
    shutil.copytree(root / "household" / "20261101", ddir)
    csv_path = ddir / "persons.csv"
    text = csv_path.read_bytes().decode("gb18030")
    secret_row = text.splitlines()[1]
    csv_path.write_bytes(text.replace("人员编号", "人员ID", 1).encode("gb18030"))
    problems = check_delivery(ddir)
    assert any("sha256" in p for p in problems)
    assert any("header differs" in p and "人员编号" in p for p in problems)
    # messages never quote data values
    assert not any(v and v in p for p in problems for v in secret_row.split(",") if len(v) > 3)
    # a row count that disagrees with the manifest
    m = json.loads((ddir / "_manifest.json").read_text(encoding="utf-8"))
    m["files"][0]["rows"] += 1
    (ddir / "_manifest.json").write_text(json.dumps(m), encoding="utf-8")
    assert any("data rows, the manifest says" in p for p in check_delivery(ddir))
    # not decodable in the declared encoding
    csv_path.write_bytes(b"\xff\xfe\x00\x00" + text.encode("utf-8")[:50])
    assert any("not valid gb18030" in p for p in check_delivery(ddir))
