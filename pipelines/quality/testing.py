"""A tiny synthetic warehouse and data dir for the quality/publish tests (no dbt needed).

``build_sample_warehouse(path, variant=0, broken=False)`` writes the mart tables of the contract
into schemas ``marts`` / ``marts_restricted`` with comments (as dbt ``persist_docs`` would).
``variant`` changes the number of persons (so consecutive publishes differ); ``broken`` makes a
blocking check fail (an identity number shared by two persons).
``build_sample_bronze()`` writes a bronze delivery, a quarantine file and ledger entries under
``config.data_dir()``. Identity numbers here are synthetic (valid check character only).
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

from pipelines import config
from pipelines.lib.idnumber import check_char


def synthetic_id(i: int) -> str:
    body = f"522301{1950 + i % 50:04d}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
    return body + check_char(body)


GRIDS = [f"52230100100{c}{g:03d}" for c in (1, 2) for g in (1, 2, 3)]


def build_sample_warehouse(path: Path, variant: int = 0, broken: bool = False,
                           persons: int = 60) -> Path:
    import duckdb

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    n = persons + 7 * variant
    houses = max(30, n // 2)
    incidents = max(12, n // 20)
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA marts; CREATE SCHEMA marts_restricted;")
    con.execute("""
        CREATE TABLE marts.dim_grid AS
        SELECT g AS grid_code, '网格' || right(g, 3) AS grid_name, '综合网格' AS grid_type,
               left(g, 12) AS community_code, '社区' || substr(g, 12, 1) AS community_name,
               left(g, 9) AS street_code, '黄草街道' AS street_name, left(g, 6) AS district_code,
               '兴义市' AS district_name, 0.5::DOUBLE AS area_km2
          FROM unnest($grids) t(g)""", {"grids": GRIDS})
    con.execute("""
        CREATE TABLE marts.dim_house AS
        SELECT 'h' || lpad(i::VARCHAR, 31, '0') AS house_key, '兴义市某路' || i || '号' AS address_std,
               '某小区' AS compound, '1栋' AS building, '1单元' AS unit, i::VARCHAR AS room,
               '住宅' AS use, '自住' AS status, 80.0 + i AS floor_area_m2,
               104.9 + i / 1000 AS lon, 25.09 + i / 1000 AS lat,
               $grids[1 + i % 6] AS grid_code, 2 AS residents
          FROM range($houses) t(i)""", {"grids": GRIDS, "houses": houses})
    ids = [synthetic_id(i) for i in range(n)]
    if broken:
        ids[1] = ids[0]
    con.execute("""
        CREATE TABLE marts_restricted.dim_person AS
        SELECT 'p' || lpad(i::VARCHAR, 31, '0') AS person_key,
               'k' || lpad((i // 3)::VARCHAR, 31, '0') AS household_key,
               'h' || lpad((i % $houses)::VARCHAR, 31, '0') AS house_key,
               $grids[1 + (i % $houses) % 6] AS grid_code, '张' || i AS name,
               $ids[i + 1] AS id_number, CASE WHEN i % 2 = 0 THEN '男' ELSE '女' END AS gender,
               DATE '1980-01-01' + (i % 20000)::INTEGER AS birth_date, '汉族' AS ethnicity,
               '人户一致' AS residency_status, i % 10 = 0 AS is_party_member
          FROM range($n) t(i)""", {"grids": GRIDS, "ids": ids, "n": n, "houses": houses})
    con.execute("""
        CREATE TABLE marts.dim_household AS
        SELECT household_key, min(person_key) AS head_person_key, count(*) AS members,
               min(house_key) AS house_key, min(grid_code) AS grid_code
          FROM marts_restricted.dim_person GROUP BY household_key""")
    con.execute("""
        CREATE TABLE marts.xref_source_record AS
        SELECT 'household' AS source, 'R' || lpad(i::VARCHAR, 8, '0') AS source_record_id,
               'person' AS entity_type, 'p' || lpad(i::VARCHAR, 31, '0') AS entity_key,
               $grids[1 + (i % 30) % 6] AS grid_code, 'id_exact' AS match_rule, 1.0 AS match_score
          FROM range($n) t(i)""", {"grids": GRIDS, "n": n})
    con.execute("""
        CREATE TABLE marts.fct_incident AS
        SELECT 'E20261101' || lpad(i::VARCHAR, 7, '0') AS incident_id, '网格员上报' AS channel,
               '市容环境' AS category_major, '暴露垃圾' AS category_minor,
               TIMESTAMP '2026-11-01 08:00:00' + INTERVAL (i % 2000) HOUR AS reported_at,
               TIMESTAMP '2026-11-01 09:00:00' + INTERVAL (i % 2000) HOUR AS dispatched_at,
               TIMESTAMP '2026-11-02 09:00:00' + INTERVAL (i % 2000) HOUR AS closed_at,
               '已办结' AS status, TIMESTAMP '2026-11-04 09:00:00' AS deadline_at,
               false AS is_overdue, 0 AS returned_count, '区城管局' AS department,
               '满意' AS satisfaction, $grids[1 + i % 6] AS grid_code,
               'point_in_grid' AS grid_match_rule, 104.9 AS lon_wgs84, 25.09 AS lat_wgs84
          FROM range($k) t(i)""", {"grids": GRIDS, "k": incidents})
    con.execute("""
        CREATE TABLE marts.mart_grid_profile AS
        SELECT g.grid_code, count(p.person_key) AS residents, count(p.person_key) AS registered_residents,
               0 AS floating_residents, count(DISTINCT p.household_key) AS households,
               5 AS houses, 0 AS vacant_houses, count(p.person_key) FILTER (WHERE p.is_party_member) AS party_members,
               1 AS party_branches, 2 AS party_groups, 0 AS incidents_open, 2 AS incidents_closed_90d,
               1.0 AS on_time_rate_90d, 1.0 AS satisfaction_rate_90d
          FROM marts.dim_grid g LEFT JOIN marts_restricted.dim_person p USING (grid_code)
         GROUP BY g.grid_code""")
    con.execute("""
        CREATE TABLE marts.mart_city_summary AS
        SELECT 'district' AS level, district_code, count(DISTINCT street_code) AS streets,
               count(DISTINCT community_code) AS communities, count(*) AS grids,
               2 AS community_party_orgs, 6 AS grid_party_branches, 12 AS party_groups,
               (SELECT count(*) FROM marts_restricted.dim_person) AS residents,
               (SELECT count(*) FROM marts.dim_household) AS households, 30 AS houses,
               (SELECT count(*) FROM marts_restricted.dim_person WHERE is_party_member) AS party_members
          FROM marts.dim_grid GROUP BY district_code""")
    con.execute("""INSERT INTO marts.mart_city_summary
        SELECT 'city', NULL, streets, communities, grids, community_party_orgs, grid_party_branches,
               party_groups, residents, households, houses, party_members FROM marts.mart_city_summary""")
    con.execute("""
        CREATE TABLE marts.quality_issues AS
        SELECT 'household' AS source, 'R9' || lpad(i::VARCHAR, 7, '0') AS source_record_id,
               '20261101' AS delivery_id, 'duplicate_record_id' AS rule, 'warning' AS severity,
               'duplicate source record id in persons.csv: first row kept' AS detail
          FROM range(3) t(i)
        UNION ALL SELECT 'housing', NULL, '20261102', 'delivery_rejected', 'error',
               'sha256 mismatch for houses.xlsx'""")
    con.execute("COMMENT ON TABLE marts.dim_grid IS 'Unified grids (统一网格)'")
    con.execute("COMMENT ON COLUMN marts.dim_grid.grid_code IS 'Unified 15-digit grid code (网格编码)'")
    con.execute("COMMENT ON TABLE marts_restricted.dim_person IS 'Real persons (实有人口)'")
    con.close()
    return path


def write_ledger(source: str, delivery_id: str, status: str = "accepted", rows: int | None = None,
                 extracted_at: str | None = None, reason: str | None = None) -> Path:
    d = config.ledger_dir() / source
    d.mkdir(parents=True, exist_ok=True)
    doc = {"source": source, "delivery_id": delivery_id, "status": status,
           "kind": "full", "extracted_at": extracted_at or "2026-11-01T02:00:00+08:00"}
    if rows is not None:
        doc["files"] = [{"name": "persons.csv", "rows": rows}]
    if reason:
        doc["reason"] = reason
    path = d / f"{delivery_id}.json"
    path.write_text(json.dumps(doc, ensure_ascii=False))
    return path


def build_sample_bronze(persons: int = 40, quarantined: int = 2, lost: int = 0) -> None:
    """household/persons bronze + quarantine for one delivery; the ledger says rows in."""
    import polars as pl

    did = "20261101"
    ids = [synthetic_id(i) for i in range(persons)]
    df = pl.DataFrame({
        "record_id": [f"R{i:08d}" for i in range(persons)],
        "id_number": ids,
        "id_status": ["valid"] * persons,
        "name": [f"张{i}" for i in range(persons)],
        "gender": ["男", "女"] * (persons // 2),
        "birth_date": [_dt.date(1980, 1, 1) + _dt.timedelta(days=i) for i in range(persons)],
        "household_no": [f"H{i // 3:06d}" for i in range(persons)],
        "residency_status": ["人户一致"] * persons,
        "_delivery_id": [did] * persons,
    })
    b = config.bronze_dir() / "household" / "persons" / f"delivery_id={did}"
    b.mkdir(parents=True, exist_ok=True)
    df.write_parquet(b / "part-0.parquet")
    q = config.quarantine_dir() / "household" / f"delivery_id={did}"
    q.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"record_id": [None] * quarantined, "reason": ["no record id"] * quarantined},
                 schema={"record_id": pl.String, "reason": pl.String}).write_parquet(
        q / "persons.parquet")
    write_ledger("household", did, rows=persons + quarantined + lost)
    write_ledger("housing", "20261102", status="rejected", reason="sha256 mismatch")


def sample_dagster_defs():
    """The quality and publish defs plus a stub for the dbt build (writes the sample warehouse;
    ``STUB_BROKEN=1`` makes it break a blocking check). Job: ``build_and_publish_test``."""
    import os

    import dagster as dg

    from pipelines.defs import publish as publish_defs
    from pipelines.defs import quality as quality_defs

    keys = [dg.AssetKey(list(k)) for k in publish_defs.REQUIRED_MARTS]

    @dg.multi_asset(specs=[dg.AssetSpec(k) for k in keys], name="stub_dbt_build")
    def stub_marts():
        build_sample_warehouse(config.warehouse_path(),
                               broken=os.environ.get("STUB_BROKEN") == "1")
        for k in keys:
            yield dg.MaterializeResult(asset_key=k)

    job = dg.define_asset_job("build_and_publish_test", selection=dg.AssetSelection.all())
    return dg.Definitions.merge(
        dg.Definitions(assets=[stub_marts], jobs=[job]), quality_defs.defs, publish_defs.defs
    )
