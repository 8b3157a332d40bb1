"""dagster-dbt wiring of the warehouse (pipelines/defs/warehouse).

Asset keys per layer, dependencies on the ingestion assets ["bronze", <source>], dbt tests as
asset checks, the concurrency pool. (A real materialisation runs in tests/test_dbt_build.py.)
"""

from __future__ import annotations


def test_asset_keys_groups_and_deps():
    from pipelines.defs.warehouse import WAREHOUSE_POOL, defs, warehouse_dbt_assets as a

    keys = {k.to_user_string() for k in a.keys}
    assert {"marts/dim_grid", "marts/fct_incident", "marts/xref_source_record",
            "marts/mart_city_summary", "marts/quality_issues"} <= keys
    assert "marts_restricted/dim_person" in keys
    assert "warehouse/stg_household__persons" in keys
    assert "warehouse/int_person_records_latest" in keys
    assert not any(k.startswith("onegrid") for k in keys)
    specs = {s.key.to_user_string(): s for s in a.specs}
    deps = {d.asset_key.to_user_string() for d in specs["warehouse/stg_household__persons"].deps}
    assert deps == {"bronze/household"}
    assert specs["marts/dim_grid"].group_name == "marts"
    assert specs["warehouse/stg_grid__grids"].group_name == "warehouse_staging"
    checks = {c.key.name for c in a.check_specs}
    assert any(n.startswith("unique_dim_grid_grid_code") for n in checks)
    assert a.op.pool == WAREHOUSE_POOL
    assert defs.resources and "dbt" in defs.resources


def test_a_big_city_is_built_one_model_at_a_time(monkeypatch, tmp_path):
    """Side by side, two entity-resolution models of a big city spill out of the one DuckDB
    memory budget: from SERIAL_BUILD_PERSON_ROWS bronze person rows to build dbt runs one model
    at a time, unless the operator set ONEGRID_DBT_THREADS; an incremental build counts only
    the deliveries the warehouse does not hold yet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.defs import warehouse as wh

    monkeypatch.setenv("ONEGRID_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ONEGRID_DBT_THREADS", raising=False)
    assert wh._dbt_thread_args() == []  # nothing ingested yet
    for delivery, n in (("20260101", 3), ("20260102", 2)):
        d = tmp_path / "bronze" / "household" / "persons" / f"delivery_id={delivery}"
        d.mkdir(parents=True)
        pq.write_table(pa.table({"record_id": [str(i) for i in range(n)]}), d / "part-0.parquet")
    monkeypatch.setattr(wh, "SERIAL_BUILD_PERSON_ROWS", 6)
    assert wh._dbt_thread_args() == []
    monkeypatch.setattr(wh, "SERIAL_BUILD_PERSON_ROWS", 5)
    assert wh._dbt_thread_args() == ["--threads", "1"]

    # an incremental build reads only the deliveries newer than those in the warehouse
    import duckdb

    from pipelines import config

    config.warehouse_path().parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(config.warehouse_path()))
    con.execute("create schema intermediate; create table "
                "intermediate.int_person_record_versions as select '20260101' as _delivery_id")
    con.close()
    assert wh._person_rows_to_build(full_refresh=False) == 2
    assert wh._dbt_thread_args() == []
    assert wh._dbt_thread_args(full_refresh=True) == ["--threads", "1"]
    monkeypatch.setenv("ONEGRID_DBT_THREADS", "2")
    assert wh._dbt_thread_args(full_refresh=True) == []
