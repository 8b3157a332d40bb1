"""dbt project on a hand-made bronze fixture (tests/fixtures/make_bronze.py).

Builds the warehouse once per module and checks: the build passes with its dbt tests, current-state
semantics (deltas, endings, invalid fields, a later full delivery), the working-day SLA (holidays,
调休 working weekends, 突发事件, rest-day dispatch), incident placement rules, grid validation,
the party tree, enforced and documented mart contracts, and a build with sources never delivered.
Nothing here prints identifiers: the fixture holds invented values only.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from fixtures.make_bronze import G1, G2, G3, make_bronze

ROOT = Path(__file__).resolve().parent.parent
# ONEGRID_TEST_DBT_DIR: run the tests against another copy of the project (development)
DBT_DIR = Path(os.environ.get("ONEGRID_TEST_DBT_DIR", ROOT / "dbt_project"))
CJK = re.compile(r"[\u4e00-\u9fff]")


def run_dbt(data_dir: Path, args: list[str], vars_: dict | None = None) -> None:
    """dbt as a separate process (as Dagster runs it) against ``data_dir``, with its own target
    and log paths so tests can run in parallel. Raises with the failing nodes' names only."""
    env = {**os.environ, "ONEGRID_DATA_DIR": str(data_dir),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "ONEGRID_DBT_PROJECT_DIR": str(DBT_DIR)}
    cli = [str(Path(sys.executable).parent / "dbt"), *args, "--project-dir", str(DBT_DIR),
           "--profiles-dir", str(DBT_DIR), "--target-path", str(data_dir / "dbt_target"),
           "--log-path", str(data_dir / "dbt_logs")]
    if vars_:
        cli += ["--vars", json.dumps(vars_)]
    proc = subprocess.run(cli, cwd=DBT_DIR, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = proc.stdout.splitlines()
        bad = [ln for ln in lines if "ERROR" in ln or "FAIL" in ln][:20] or lines[-12:]
        raise AssertionError(f"dbt {args[0]} failed:\n" + "\n".join(bad))


def connect(data_dir: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(data_dir / "warehouse" / "onegrid.duckdb"), read_only=True,
                         config={"extension_directory": str(data_dir / "duckdb_extensions"),
                                 "autoinstall_known_extensions": False})
    con.execute("LOAD spatial")
    return con


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The whole warehouse built through Dagster (the dagster-dbt asset runs `dbt build`)."""
    import dagster as dg

    from pipelines.defs.warehouse import defs, warehouse_dbt_assets

    data_dir = tmp_path_factory.mktemp("dbt_fixture")
    make_bronze(data_dir)
    old = os.environ.get("ONEGRID_DATA_DIR")
    os.environ["ONEGRID_DATA_DIR"] = str(data_dir)
    try:
        res = dg.materialize([warehouse_dbt_assets], resources=defs.resources,
                             raise_on_error=False)
    finally:
        if old is None:
            os.environ.pop("ONEGRID_DATA_DIR", None)
        else:
            os.environ["ONEGRID_DATA_DIR"] = old
    failed = [e.event_specific_data.asset_check_name if hasattr(e.event_specific_data, "asset_check_name") else ""
              for e in res.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
              and not e.event_specific_data.passed]
    assert res.success and not failed, f"dbt build via Dagster failed: {failed}"
    mats = {e.asset_key.to_user_string() for e in res.get_asset_materialization_events()}
    assert {"marts/dim_grid", "marts/fct_incident", "marts/quality_issues"} <= mats
    # the manifest of that run, for the contract checks below
    manifests = sorted((DBT_DIR / "target").glob("*/manifest.json"), key=lambda p: p.stat().st_mtime)
    shutil.copy(manifests[-1] if manifests else DBT_DIR / "target" / "manifest.json",
                data_dir / "manifest.json")
    return data_dir


@pytest.fixture(scope="module")
def con(built):
    c = connect(built)
    yield c
    c.close()


def rows(con, sql: str) -> dict:
    return {r[0]: r[1:] for r in con.execute(sql).fetchall()}


# --- staging ------------------------------------------------------------------------------
def test_staging_timestamps_are_the_bronze_instants_in_utc(built, con):
    """Bronze keeps _extracted_at with its zone (UTC) and event times without one; staging
    gives both as plain timestamps of the same instant (macros/bronze.sql, bronze_cast)."""
    import polars as pl

    def bronze(source, table, col):
        df = pl.read_parquet(built / "bronze" / source / table / "*" / "*.parquet")
        s = df[col]
        if s.dtype.time_zone is not None:
            s = s.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return sorted(v for v in s.to_list() if v is not None)

    def staging(model, col):
        return sorted(r[0] for r in con.execute(
            f"select {col} from staging.{model} where {col} is not null").fetchall())

    extracted = bronze("household", "persons", "_extracted_at")
    assert extracted and staging("stg_household__persons", "_extracted_at") == extracted
    assert staging("stg_incident__events", "reported_at") == bronze("incident", "events",
                                                                      "reported_at")
    assert staging("stg_incident__events", "_extracted_at") == bronze("incident", "events",
                                                                        "_extracted_at")


# --- current state ------------------------------------------------------------------------
def test_current_state_persons(con):
    got = rows(con, "select record_id, birth_date, current_address, change_type "
                    "from intermediate.int_person_records_latest")
    assert set(got) == {"P001", "P003", "P004", "P006"}      # P002 死亡, P005 迁出 ended
    # P003's delta flagged birth_date invalid: the previous delivery's value stays
    assert got["P003"][0] == dt.date(1980, 5, 1)
    # ... while its valid changed field (现住址) takes the delta's value
    assert got["P003"][1].endswith("乙社区2栋201")
    assert got["P006"][2] == "新增"


def test_current_state_houses_invalid_field_keeps_previous(con):
    got = rows(con, "select record_id, floor_area_m2 from intermediate.int_house_records_latest")
    assert set(got) == {"F001", "F002", "F003", "F004", "F005"}
    assert got["F004"][0] == 120.0


# --- incidents: deadlines, overdue, placement ----------------------------------------------
def test_incident_deadlines_and_overdue(con):
    got = rows(con, "select incident_id, deadline_at, is_overdue, returned_count, clock_stopped_at "
                    "from marts.fct_incident")
    T = dt.datetime
    # Friday dispatch, 24 working hours -> Monday same time; feedback before -> on time
    assert got["E1"][:2] == (T(2026, 2, 2, 10), False)
    # Saturday (rest day) dispatch: clock starts Monday 00:00; 48 h -> Wednesday 00:00;
    # no feedback, closed Thursday -> overdue; one 退回
    assert got["E2"][:3] == (T(2026, 2, 4, 0), True, 1)
    assert got["E2"][3] == T(2026, 2, 5, 9)
    # 突发事件 in the Spring Festival holiday: continuous clock, 2 h; still open -> overdue
    assert got["E3"][:2] == (T(2026, 2, 15, 12), True)
    # dispatch on the 调休 working Saturday counts; feedback exactly at the deadline is on time
    assert got["E4"][:2] == (T(2026, 2, 14, 17), False)
    # not dispatched: no deadline, not overdue
    assert got["E5"][:2] == (None, False)
    # 24 working hours from the 调休 Saturday 09:00 skip the 9-day holiday -> 02-24 09:00
    assert got["E6"][:2] == (T(2026, 2, 24, 9), True)


def test_incident_placement_rules(con):
    got = rows(con, "select incident_id, grid_code, grid_match_rule from marts.fct_incident")
    assert got["E1"] == (G1, "point_in_grid")
    assert got["E2"] == (G2, "legacy_grid")        # 城管 A1
    assert got["E3"] == (G3, "legacy_grid")        # 综治 A1: codes are unique per 体系 only
    assert got["E4"] == (G2, "address")            # compound 幸福小区, building 3 (F004, in G2)
    assert got["E5"] == (None, "unresolved")       # point outside every grid


def test_calendar_seed_covers_2026_and_marks_adjusted_days(con):
    got = rows(con, "select cast(calendar_date as varchar), is_workday, is_from_seed "
                    "from intermediate.int_workday_calendar where calendar_date in "
                    "('2026-02-14', '2026-02-16', '2027-03-06', '2027-03-08')")
    assert got["2026-02-14"] == (True, True)     # 调休 Saturday
    assert got["2026-02-16"] == (False, True)    # Spring Festival
    assert got["2027-03-06"] == (False, False)   # beyond the seed: weekends rest
    assert got["2027-03-08"] == (True, False)


# --- grids and party ----------------------------------------------------------------------
def test_grids_validated(con):
    got = rows(con, "select grid_code, d.area_km2, d.is_valid_polygon, v.is_in_community "
                    "from marts.dim_grid d join intermediate.int_grids_validated v using (grid_code)")
    assert set(got) == {G1, G2, G3}
    for area, valid, in_comm in got.values():
        assert 1.10 < area < 1.12 and valid and in_comm   # 0.01° squares at 26°N
    assert con.execute("select count(*) from intermediate.int_grid_findings").fetchone()[0] == 0


def test_party_tree(con):
    got = rows(con, "select org_code, org_level, covered_grids, grid_code "
                    "from intermediate.int_party_orgs_tree")
    assert got["O1"][0] == "street" and got["O2"][0] == "community"
    assert got["O5"][0] == "community"
    assert got["O3"][:2] == ("grid_branch", 2) and got["O3"][2] is None
    assert got["O6"] == ("group", 1, G2)          # legacy 党建 code resolved


def test_quality_issues_include_ingestion_findings(con):
    n = con.execute("select count(*) from marts.quality_issues "
                    "where rule = 'impossible_birth_date' and found_by = 'ingestion'").fetchone()[0]
    assert n == 1


# --- contracts and docs -------------------------------------------------------------------
def test_marts_contracts_enforced_and_documented(built):
    manifest = json.loads((built / "manifest.json").read_text())
    marts = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"
             and n["config"].get("enabled", True) and n["schema"] in ("marts", "marts_restricted")
             and "_er_stubs" not in n["original_file_path"]]
    assert {"dim_grid", "fct_incident", "quality_issues", "mart_incident_stats"} <= \
        {n["name"] for n in marts}
    for n in marts:
        assert n["config"]["contract"]["enforced"], n["name"]
        # tables, rebuilt whole or incrementally (macros/mart_marks.sql); never views
        assert n["config"]["materialized"] in ("table", "incremental"), n["name"]
        assert CJK.search(n["description"]), n["name"]
        assert n["columns"], n["name"]
        for col in n["columns"].values():
            assert col.get("data_type"), (n["name"], col["name"])
            assert CJK.search(col.get("description") or ""), (n["name"], col["name"])


def test_docs_generate_reads_the_warehouse_beside_other_readers(built, con):
    """`dbt docs generate` opens the warehouse read-only (plugins/onegrid_duckdb.py), so it runs
    while another process reads it: the main job generates the docs beside the quality checks.
    (`con` holds a read-only connection in this process; a read-write open would be refused.)"""
    assert con.execute("select count(*) from marts.dim_grid").fetchone()[0] > 0
    run_dbt(built, ["docs", "generate", "--select", "path:models/marts"])
    catalog = json.loads((built / "dbt_target" / "catalog.json").read_text())
    assert "model.onegrid.dim_grid" in catalog["nodes"]


def test_schemas_are_exact(con):
    schemas = {r[0] for r in con.execute(
        "select distinct table_schema from information_schema.tables").fetchall()}
    assert {"staging", "intermediate", "marts"} <= schemas
    assert not any(s.startswith("main_") for s in schemas)


def test_build_with_sources_never_delivered(tmp_path):
    """Only the grid source delivered, no issues: everything still builds (empty relations)."""
    make_bronze(tmp_path)
    for src in ("household", "housing", "party", "incident"):
        shutil.rmtree(tmp_path / "bronze" / src)
    shutil.rmtree(tmp_path / "issues")
    run_dbt(tmp_path, ["build", "-s", "+dim_grid", "+quality_issues", "+int_incident_steps_summary",
                       "+int_person_records_latest", "+int_house_records_latest"])
    c = connect(tmp_path)
    try:
        assert c.execute("select count(*) from intermediate.int_member_records_latest").fetchone()[0] == 0
        assert c.execute("select count(*) from intermediate.int_person_records_latest").fetchone()[0] == 0
        assert c.execute("select count(*) from marts.dim_grid").fetchone()[0] == 3
        assert c.execute("select count(*) from intermediate.int_event_records_latest").fetchone()[0] == 0
        assert c.execute("select count(*) from marts.quality_issues").fetchone()[0] == 0
    finally:
        c.close()
