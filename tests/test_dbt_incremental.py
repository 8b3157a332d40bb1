"""Incremental builds equal full rebuilds (issue 7).

On the hand-made bronze fixture: build with only the first delivery of every table, add the
later deliveries (deltas with endings, invalid fields, new incident states) plus a newer *full*
household delivery, build again incrementally, then rebuild with --full-refresh and compare the
current-state models and the incident workflow summary row for row.
"""

from __future__ import annotations

import shutil

import duckdb
import polars as pl

from fixtures.make_bronze import make_bronze
from test_dbt_build import connect, run_dbt

TABLES = [
    "intermediate.int_person_record_versions",
    "intermediate.int_house_record_versions",
    "intermediate.int_member_record_versions",
    "intermediate.int_org_record_versions",
    "intermediate.int_event_record_versions",
    "intermediate.int_person_records_latest",
    "intermediate.int_incident_steps_summary",
    "intermediate.int_addresses_standardised",
    "intermediate.int_person_records_prepared",
]
# the incremental models and what reads them directly (kept small: the test budget is ~90 s)
SELECT = ["+int_incident_steps_summary", "+int_person_records_latest", "+int_house_records_latest",
          "+int_member_records_latest", "+int_org_records_latest", "+int_addresses_standardised",
          "+int_person_records_prepared"]
VARS: dict = {}


def snapshot(data_dir) -> dict[str, list[tuple]]:
    con = connect(data_dir)
    try:
        out = {}
        for t in TABLES:
            rows = con.execute(f"select * from {t}").fetchall()
            out[t] = sorted(rows, key=lambda r: tuple(str(v) for v in r))
        return out
    finally:
        con.close()


def test_incremental_equals_full_refresh(tmp_path):
    data = tmp_path / "data"
    make_bronze(data)
    held = tmp_path / "held"
    for table_dir in sorted((data / "bronze").glob("*/*")):
        parts = sorted(table_dir.glob("delivery_id=*"))
        for p in parts[1:]:
            dest = held / table_dir.relative_to(data / "bronze")
            dest.mkdir(parents=True, exist_ok=True)
            shutil.move(str(p), str(dest / p.name))
    run_dbt(data, ["build", "-s", *SELECT], VARS)
    first = snapshot(data)
    assert len(first["intermediate.int_person_record_versions"]) == 5

    for table_dir in sorted(held.glob("*/*")):
        for p in table_dir.iterdir():
            shutil.move(str(p), str(data / "bronze" / table_dir.relative_to(held) / p.name))
    run_dbt(data, ["build", "-s", *SELECT], VARS)
    incremental = snapshot(data)

    run_dbt(data, ["build", "-s", *SELECT, "--full-refresh"], VARS)
    rebuilt = snapshot(data)
    for t in TABLES:
        assert incremental[t] == rebuilt[t], t
    persons = {r[0] for r in incremental["intermediate.int_person_records_latest"]}
    assert persons == {"P001", "P003", "P004", "P006"}   # 死亡, 迁出 ended
    assert len(incremental["intermediate.int_event_record_versions"]) == 6

    # a newer full household delivery supersedes everything before it (the model is reset)
    base = data / "bronze" / "household" / "persons"
    full = (pl.read_parquet(base / "delivery_id=20260101" / "part-0.parquet")
            .filter(pl.col("record_id").is_in(["P001", "P004"]))
            .with_columns(pl.lit("20260301").alias("_delivery_id")))
    (base / "delivery_id=20260301").mkdir()
    full.write_parquet(base / "delivery_id=20260301" / "part-0.parquet")
    run_dbt(data, ["build", "-s", "+int_person_records_latest", "int_addresses_standardised",
                   "int_person_records_prepared"], VARS)
    after_full = snapshot(data)
    ids = {r[0] for r in after_full["intermediate.int_person_records_latest"]}
    assert ids == {"P001", "P004"}   # absent from the latest full delivery: not current
    prepared = after_full["intermediate.int_person_records_prepared"]
    assert {(r[0], r[1]) for r in prepared if r[0] == "household"} == {("household", "P001"),
                                                                          ("household", "P004")}
    run_dbt(data, ["build", "-s", "int_person_records_prepared", "--full-refresh"], VARS)
    assert snapshot(data)["intermediate.int_person_records_prepared"] == prepared

    # texts no current record uses are gone, as in a full rebuild; texts standardised against
    # other base-map names are standardised again
    con = duckdb.connect(str(data / "warehouse" / "onegrid.duckdb"))
    try:
        con.execute("update intermediate.int_addresses_standardised set base_map_names = 'old', "
                    "address_key = 'stale' where address_raw in (select address_raw from "
                    "intermediate.int_addresses_standardised limit 2)")
        con.execute("insert into intermediate.int_addresses_standardised select * replace "
                    "('无人路1号' as address_raw) from intermediate.int_addresses_standardised "
                    "limit 1")
    finally:
        con.close()
    run_dbt(data, ["build", "-s", "int_addresses_standardised"], VARS)
    again = snapshot(data)["intermediate.int_addresses_standardised"]
    run_dbt(data, ["build", "-s", "int_addresses_standardised", "--full-refresh"], VARS)
    rebuilt = snapshot(data)["intermediate.int_addresses_standardised"]
    assert again == rebuilt
    assert "无人路1号" not in {r[0] for r in again}

    # person records prepared against other base-map names are all prepared again
    con = duckdb.connect(str(data / "warehouse" / "onegrid.duckdb"))
    try:
        con.execute("update intermediate.int_person_records_prepared set _inputs_hash = 'old', "
                    "live_key = 'stale' where source_record_id = 'P001'")
    finally:
        con.close()
    run_dbt(data, ["build", "-s", "int_person_records_prepared"], VARS)
    again = snapshot(data)["intermediate.int_person_records_prepared"]
    assert "stale" not in {str(v) for r in again for v in r}
    run_dbt(data, ["build", "-s", "int_person_records_prepared", "--full-refresh"], VARS)
    assert again == snapshot(data)["intermediate.int_person_records_prepared"]
