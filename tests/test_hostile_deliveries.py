"""Hostile deliveries (issue 8): each ends in a rejection or quarantine with a stated reason,
every row accounted for (rows in = bronze + quarantined), the landing root byte-identical.

Assertions are on statuses, reasons and counts only: no test prints a name, number or phone.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import polars as pl
import pytest

from delivery_builder import (
    DeliveryBuilder, columns, csv_bytes, as_rows, events, grid_features, houses, legacy_map,
    members, orgs, persons,
)
from pipelines import config
from pipelines.ingestion import ingest_delivery, ingest_pending

ID_LIKE = re.compile(r"\d{15,18}|[\u4e00-\u9fff]*测试\d|1[3-9]\d{9}")


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def env(onegrid_env):
    landing = onegrid_env["landing"]
    before = {}

    class E:
        b = DeliveryBuilder(landing)
        data = onegrid_env["data"]

        @staticmethod
        def snapshot():
            before.update(tree_digest(landing))

    yield E
    # whatever a test did, nothing was written into the landing root
    if before:
        assert tree_digest(landing) == before
    assert not any((E.data / "bronze" / ".tmp").glob("*")), "temporary bronze left behind"


def issues(source: str) -> pl.DataFrame:
    files = sorted((config.issues_dir() / source).glob("*.parquet"))
    return pl.concat([pl.read_parquet(f) for f in files]) if files else pl.DataFrame()


def assert_private(df: pl.DataFrame) -> None:
    for d in df["detail"].drop_nulls():
        assert not ID_LIKE.search(d), "issue detail exposes a value"


def assert_rejected(res, *fragments: str) -> None:
    assert res.status == "rejected", res.status
    for frag in fragments:
        assert frag in res.reason, f"{frag!r} not in reason"
    bronze = config.bronze_dir() / res.source
    assert not list(bronze.glob(f"*/delivery_id={res.delivery_id}")), "rejected data in bronze"
    iss = issues(res.source).filter((pl.col("delivery_id") == res.delivery_id)
                                    & (pl.col("rule") == "delivery_rejected"))
    assert iss.height >= 1 and iss["action"][0] == "rejected" and iss["severity"][0] == "error"
    assert iss["source_record_id"].null_count() == iss.height
    ledger = config.ledger_dir() / res.source
    assert any(json.loads(p.read_text())["status"] == "rejected" for p in ledger.glob(
        f"{res.delivery_id}*.json"))


def assert_accounted(res) -> None:
    assert res.status == "accepted", (res.status, res.reason)
    assert res.accounted
    for f in res.files:
        assert f.rows_in == f.rows_manifest == f.rows_bronze + f.rows_quarantined
    # and on disk
    for table, n in res.tables.items():
        p = config.bronze_dir() / res.source / table / f"delivery_id={res.delivery_id}"
        assert pl.read_parquet(p / "part-0.parquet").height == n


# --- verification failures: the whole delivery is rejected --------------------------------
def test_truncated_file_rejected_on_manifest_count(env):
    recs = persons(20)
    h = columns("household", "persons")
    full = csv_bytes(h, as_rows(recs, h), "gb18030")
    cut = full[: full.rfind(b"\r\n", 0, len(full) // 2) + 2]  # whole lines, half the file
    env.b.write("household", "20261101", {"persons.csv": cut}, row_counts={"persons.csv": 20})
    env.snapshot()
    res = ingest_delivery("household", "20261101")
    assert_rejected(res, "persons.csv", "data rows, the manifest says 20")


def test_sha256_mismatch_rejected(env):
    env.b.household("20261101", persons(5), sha256={"persons.csv": "0" * 64})
    env.snapshot()
    res = ingest_delivery("household", "20261101")
    assert_rejected(res, "persons.csv", "sha256 differs from the manifest")


def test_corrupt_gb18030_bytes_rejected_naming_line(env):
    h = columns("household", "persons")
    data = bytearray(csv_bytes(h, as_rows(persons(6), h), "gb18030"))
    lines = data.split(b"\r\n")
    lines[4] = lines[4] + b"\x81\x20\xff"          # not a gb18030 sequence, on line 5
    env.b.write("household", "20261101", {"persons.csv": bytes(b"\r\n".join(lines))},
                row_counts={"persons.csv": 6})
    env.snapshot()
    res = ingest_delivery("household", "20261101")
    assert_rejected(res, "persons.csv", "cannot be decoded as gb18030", "line 5")


def _renamed(env, did="20261101"):
    h = columns("household", "persons")
    recs = persons(4)
    h2 = ["证件号码" if c == "公民身份号码" else c for c in h]
    data = csv_bytes(h2, as_rows(recs, h), "gb18030")
    env.b.write("household", did, {"persons.csv": data}, row_counts={"persons.csv": 4})


def test_renamed_column_rejected_without_alias(env, tmp_path, monkeypatch):
    cfg = tmp_path / "ingestion.yaml"
    cfg.write_text("aliases: {}\n", encoding="utf-8")
    monkeypatch.setenv("ONEGRID_INGESTION_CONFIG", str(cfg))
    _renamed(env)
    env.snapshot()
    res = ingest_delivery("household", "20261101")
    assert_rejected(res, "missing column(s) 公民身份号码", "unknown column(s) 证件号码", "alias")


def test_renamed_column_accepted_with_alias(env, tmp_path, monkeypatch):
    cfg = tmp_path / "ingestion.yaml"
    cfg.write_text("aliases:\n  household:\n    证件号码: 公民身份号码\n", encoding="utf-8")
    monkeypatch.setenv("ONEGRID_INGESTION_CONFIG", str(cfg))
    _renamed(env)
    env.snapshot()
    res = ingest_delivery("household", "20261101")
    assert_accounted(res)
    df = pl.read_parquet(config.bronze_dir() / "household/persons/*/part-0.parquet")
    assert df["id_status"].to_list() == ["valid"] * 4


def test_unknown_extra_column_rejected(env):
    h = columns("party", "orgs") + ["备注"]
    rows = [r + ["x"] for r in as_rows(orgs(), columns("party", "orgs"))]
    env.b.write("party", "20261101", {"orgs.csv": csv_bytes(h, rows, "utf-8-sig")},
                row_counts={"orgs.csv": 3})
    env.snapshot()
    res = ingest_delivery("party", "20261101")
    assert_rejected(res, "orgs.csv", "unknown column(s) 备注")


def test_missing_column_rejected(env):
    h = [c for c in columns("grid", "legacy_grid_map") if c != "统一网格编码"]
    rows = [[r["原网格体系"], r["原网格编码"]] for r in legacy_map(2)]
    from delivery_builder import geojson_bytes
    env.b.write("grid", "20261101", {"grids.geojson": geojson_bytes(grid_features(2)),
                                     "legacy_grid_map.csv": csv_bytes(h, rows)},
                row_counts={"grids.geojson": 2, "legacy_grid_map.csv": 4})
    env.snapshot()
    res = ingest_delivery("grid", "20261101")
    assert_rejected(res, "legacy_grid_map.csv", "missing column(s) 统一网格编码")


def test_empty_file_rejected(env):
    env.b.write("household", "20261101", {"persons.csv": b""}, row_counts={"persons.csv": 0})
    env.snapshot()
    res = ingest_delivery("household", "20261101")
    assert_rejected(res, "persons.csv", "file is empty")


def test_header_only_delta_is_an_empty_change(env):
    env.b.household("20261101", persons(3))
    env.b.household("20261108", [], kind="delta")
    env.snapshot()
    ingest_delivery("household", "20261101")
    res = ingest_delivery("household", "20261108")
    assert_accounted(res)
    assert res.tables == {"persons": 0}


def test_resend_identical_is_noop_and_different_is_conflict(env, tmp_path):
    env.b.household("20261101", persons(5))
    first = ingest_delivery("household", "20261101")
    assert_accounted(first)
    bronze = config.bronze_dir() / "household"
    before = tree_digest(bronze)
    # the very same delivery again
    again = ingest_delivery("household", "20261101")
    assert again.status == "unchanged-resend"
    assert tree_digest(bronze) == before
    # a resend with different content under the same delivery_id
    import shutil
    shutil.rmtree(env.b.landing / "household" / "20261101")
    env.b.household("20261101", persons(6))
    env.snapshot()
    conflict = ingest_delivery("household", "20261101")
    assert conflict.status == "rejected" and "conflicts with the accepted delivery" in conflict.reason
    assert tree_digest(bronze) == before, "the first delivery must stand"
    standing = json.loads((config.ledger_dir() / "household" / "20261101.json").read_text())
    assert standing["status"] == "accepted" and standing["fingerprint"] == first.fingerprint
    assert issues("household").filter(pl.col("rule") == "delivery_rejected").height == 1


def test_delta_older_than_applied_rejected(env):
    env.b.household("20261101", persons(5))
    env.b.household("20261115", persons(1, start=6), kind="delta")
    env.b.household("20261108", persons(1, start=7), kind="delta")
    env.snapshot()
    assert ingest_delivery("household", "20261101").status == "accepted"
    assert ingest_delivery("household", "20261115").status == "accepted"
    res = ingest_delivery("household", "20261108")
    assert_rejected(res, "delta is older than the already applied delivery 20261115")


def test_manifest_problems_rejected(env):
    d = env.b.household("20261101", persons(2))
    doc = json.loads((d / "_manifest.json").read_text())
    doc["files"][0]["encoding"] = "latin-1"
    (d / "_manifest.json").write_text(json.dumps(doc, ensure_ascii=False))
    d2 = env.b.household("20261108", persons(2), kind="delta")
    (d2 / "_manifest.json").write_text("{not json")
    d3 = env.b.household("20261115", persons(2), kind="delta", formats={"persons.csv": "xlsx"})
    env.snapshot()
    assert_rejected(ingest_delivery("household", "20261101"), "declared encoding 'latin-1'")
    assert_rejected(ingest_delivery("household", "20261108"), "not valid UTF-8 JSON")
    assert_rejected(ingest_delivery("household", "20261115"), "declared format 'xlsx'")
    assert d3.exists()


# --- row rules: loaded with a flag, or quarantined ----------------------------------------
def test_impossible_values_loaded_as_missing_and_flagged(env):
    p = persons(4)
    p[1]["出生日期"] = "2099-01-01"          # future
    p[2]["出生日期"] = "1850/1/1"            # before 1900
    p[3]["出生日期"] = "去年"                 # unparseable
    env.b.household("20261101", p)
    hs = houses(4)
    hs[0]["建筑面积"] = -35.0
    hs[1]["建筑面积"] = 0
    hs[2]["经度"], hs[2]["纬度"] = 2.35, 48.85     # Paris
    env.b.housing("20261101", hs)
    ev = events(3)
    ev[0]["坐标"] = {"经度": 150.0, "纬度": 25.0, "坐标系": "WGS84"}
    env.b.incident("20261101T080000", ev)
    env.snapshot()
    for source, did in (("household", "20261101"), ("housing", "20261101"),
                        ("incident", "20261101T080000")):
        assert_accounted(ingest_delivery(source, did))

    per = pl.read_parquet(config.bronze_dir() / "household/persons/*/*.parquet").sort("_row_number")
    assert per["birth_date"].null_count() == 3
    assert [sorted(x) for x in per["_invalid_fields"].to_list()] == [[], ["birth_date"]] * 2 \
        or per["_invalid_fields"].list.len().to_list() == [0, 1, 1, 1]
    iss = issues("household")
    assert sorted(iss["rule"].to_list()) == ["birth_date_impossible", "birth_date_impossible",
                                             "date_unparseable"]
    assert set(iss["action"]) == {"flagged"}
    assert_private(iss)

    hou = pl.read_parquet(config.bronze_dir() / "housing/houses/*/*.parquet").sort("_row_number")
    assert hou["floor_area_m2"].null_count() == 2 and hou["lon"].null_count() == 1
    assert hou["_invalid_fields"][2].to_list() == ["lon", "lat"]
    hi = issues("housing")
    assert sorted(hi["rule"].to_list()) == ["coordinates_outside_china",
                                            "floor_area_impossible", "floor_area_impossible"]
    evs = pl.read_parquet(config.bronze_dir() / "incident/events/*/*.parquet").sort("_row_number")
    assert evs["lon"].null_count() == 1 and evs["lon_wgs84"].null_count() == 1
    assert issues("incident")["rule"].to_list() == ["coordinates_outside_china"]


def test_duplicate_and_missing_record_ids_quarantined(env):
    p = persons(6)
    p[3]["人员编号"] = p[1]["人员编号"]      # duplicate of row 2: row 4 quarantined
    p[5]["人员编号"] = p[1]["人员编号"]      # and row 6
    p[4]["人员编号"] = "  "                  # no usable record id
    env.b.household("20261101", p)
    env.snapshot()
    res = ingest_delivery("household", "20261101")
    assert_accounted(res)
    f = res.files[0]
    assert (f.rows_in, f.rows_bronze, f.rows_quarantined) == (6, 3, 3)
    q = pl.read_parquet(config.quarantine_dir() / "household/delivery_id=20261101/persons.parquet")
    assert sorted(q["_row_number"].to_list()) == [4, 5, 6]
    assert dict(zip(q["_row_number"], q["_reason"])) == {
        4: "duplicate_record_id", 5: "missing_record_id", 6: "duplicate_record_id"}
    assert "公民身份号码" in q.columns          # the delivered text is kept (restricted zone)
    bronze = pl.read_parquet(config.bronze_dir() / "household/persons/*/*.parquet")
    assert bronze["_row_number"].to_list() == [1, 2, 3]  # the first row stands
    iss = issues("household")
    assert sorted(iss.filter(pl.col("action") == "quarantined")["rule"].to_list()) == [
        "duplicate_record_id", "duplicate_record_id", "missing_record_id"]
    assert_private(iss)


def test_duplicate_across_split_xlsx_files(env):
    hs = houses(5)
    hs[4]["房屋编码"] = hs[0]["房屋编码"]
    env.b.housing("20261101", hs, split=3)
    env.snapshot()
    res = ingest_delivery("housing", "20261101")
    assert_accounted(res)
    assert res.rows_quarantined == 1 and res.tables["houses"] == 4


def test_very_long_field_with_newlines_and_quotes(env):
    p = persons(3)
    long = ('他说:"门牌,在哪里?"\r\n第二行 "引号""两个"\n' * 3000)[:60000]
    p[1]["现住址"] = long
    env.b.household("20261101", p)
    env.snapshot()
    res = ingest_delivery("household", "20261101")
    assert_accounted(res)
    assert res.rows_bronze == 3 and res.rows_quarantined == 0
    df = pl.read_parquet(config.bronze_dir() / "household/persons/*/*.parquet").sort("_row_number")
    val = df["current_address"][1]
    assert val.count('"') == long.count('"') and len(val) > 50000  # quotes kept, whitespace folded
    assert df["record_id"].to_list() == [r["人员编号"] for r in p]


def test_delta_ending_a_record_that_never_existed_is_flagged(env):
    env.b.household("20261101", persons(4))
    d = persons(2, start=3)
    d[0]["变动类型"], d[0]["变动日期"] = "迁出", "2026-11-05"      # P3 exists: fine
    d[1]["人员编号"] = "P99999999"
    d[1]["变动类型"], d[1]["变动日期"] = "死亡", "20261106"       # never existed
    env.b.household("20261108", d, kind="delta")
    env.snapshot()
    ingest_delivery("household", "20261101")
    res = ingest_delivery("household", "20261108")
    assert_accounted(res)
    iss = issues("household").filter(pl.col("delivery_id") == "20261108")
    assert iss["rule"].to_list() == ["ends_unknown_record"]
    assert iss["source_record_id"].to_list() == ["P99999999"] and iss["row_number"][0] == 2


def test_invalid_json_line_quarantined(env):
    from delivery_builder import jsonl_bytes
    body = jsonl_bytes(events(3)).split(b"\n")
    body[1] = b'{"\xe4\xba\x8b\xe4\xbb\xb6\xe7\xbc\x96\xe5\x8f\xb7": "E1", broken'
    env.b.write("incident", "20261101T080000", {"events.jsonl": b"\n".join(body)},
                kind="delta", row_counts={"events.jsonl": 3})
    env.snapshot()
    res = ingest_delivery("incident", "20261101T080000")
    assert_accounted(res)
    assert (res.rows_bronze, res.rows_quarantined) == (2, 1)
    q = pl.read_parquet(config.quarantine_dir() / "incident/delivery_id=20261101T080000/events.parquet")
    assert q["_reason"].to_list() == ["invalid_json"] and q["_row_number"].to_list() == [2]


def test_bad_identity_numbers_flagged_never_guessed(env):
    p = persons(5)
    good = p[0]["公民身份号码"]
    p[1]["公民身份号码"] = good[:17] + ("0" if good[17] != "0" else "1")   # wrong check char
    p[2]["公民身份号码"] = good[:6] + good[8:17]                            # legacy 15 digits
    p[3]["公民身份号码"] = "12345"
    p[4]["公民身份号码"] = ""
    env.b.household("20261101", p)
    env.snapshot()
    assert_accounted(ingest_delivery("household", "20261101"))
    df = pl.read_parquet(config.bronze_dir() / "household/persons/*/*.parquet").sort("_row_number")
    assert df["id_status"].to_list() == ["valid", "bad_check", "repaired", "malformed", "empty"]
    assert df["id_number"].null_count() == 3 and df["id_hash"].null_count() == 3
    assert "id_number_raw" not in df.columns
    iss = issues("household")
    assert sorted(iss["rule"].to_list()) == ["id_number_invalid"] * 2
    assert_private(iss)


def test_one_rejection_does_not_stop_the_rest(env):
    env.b.tiny_city()
    env.b.household("20261108", persons(2), kind="delta", sha256={"persons.csv": "1" * 64})
    env.snapshot()
    results = ingest_pending()
    status = {(r.source, r.delivery_id): r.status for r in results}
    assert status.pop(("household", "20261108")) == "rejected"
    assert set(status.values()) == {"accepted"} and len(status) == 5
    assert all(r.accounted for r in results)
    assert ingest_pending() == []   # everything processed once
