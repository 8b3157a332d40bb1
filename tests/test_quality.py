"""Quality layer: GX suites in expectations/, counts-only results, blocking vs warning, row
accounting, change against the previous snapshot, and the Dagster wiring (a failed blocking
check keeps the publish asset from running)."""

from __future__ import annotations

import json

from pipelines import config
from pipelines.publish import current_snapshot_id, publish_snapshot
from pipelines.quality.engine import get_suite, load_suites, run_checks, run_suite
from pipelines.quality.testing import (
    build_sample_bronze,
    build_sample_warehouse,
    synthetic_id,
)

SAMPLE_IDS = [synthetic_id(i) for i in range(120)]


def _leaks(text: str) -> int:
    """How many sample identity numbers / names occur (never the values themselves)."""
    return sum(text.count(i) for i in SAMPLE_IDS) + text.count("张1")


def test_suites_are_gx_suites_with_severity():
    import great_expectations as gx

    suites = load_suites()
    names = {s.name for s in suites}
    for required in ("mart_dim_grid", "mart_xref_source_record", "mart_dim_person",
                     "mart_dim_household", "mart_dim_house", "mart_fct_incident",
                     "mart_grid_profile", "mart_city_summary", "mart_quality_issues",
                     "bronze_household_persons", "bronze_housing_houses",
                     "bronze_party_members", "bronze_party_orgs", "bronze_incident_events",
                     "bronze_grid_grids", "bronze_grid_legacy_grid_map", "row_accounting",
                     "freshness", "change_grid_residents", "change_table_rows",
                     "change_delivery_rows", "open_tier_identifiers"):
        assert required in names
    for s in suites:
        gsuite = gx.ExpectationSuite(**{k: v for k, v in s.doc.items() if k != "notes"})
        assert gsuite.name == s.name
        for e in s.doc["expectations"]:
            assert e["severity"] in ("critical", "warning")
            assert e["meta"]["rule"] and e["meta"]["description"]


def test_clean_sample_passes_and_results_hold_counts_only(onegrid_env):
    build_sample_warehouse(config.warehouse_path())
    build_sample_bronze()
    quality = run_checks(run_id="t1")
    by = {c["check"]: c for c in quality["checks"]}
    for name, c in by.items():
        assert c["error"] is None, name
        if name != "freshness":  # only household delivered in the sample
            assert c["severity"] == "ok", (name, [e["rule"] for e in c["expectations"]
                                                  if not e["success"]])
    assert by["mart_dim_person"]["rows"] == 60
    assert by["row_accounting"]["rows"] == 1
    text = (config.reports_dir() / "quality_results.json").read_text()
    leaks = _leaks(text)
    assert leaks == 0
    values_listed = text.count("partial_unexpected") + text.count("unexpected_list")
    assert values_listed == 0


def test_duplicate_identity_number_is_blocking(onegrid_env):
    build_sample_warehouse(config.warehouse_path(), broken=True)
    out = run_suite(get_suite("mart_dim_person"))
    assert out["blocking"] and not out["passed"] and out["severity"] == "error"
    failed = {e["rule"]: e for e in out["expectations"] if not e["success"]}
    assert set(failed) == {"mart_dim_person.id_number_unique"}
    assert failed["mart_dim_person.id_number_unique"]["unexpected_count"] == 2
    leaks = _leaks(json.dumps(out, ensure_ascii=False))
    assert leaks == 0


def test_row_accounting_detects_lost_rows(onegrid_env):
    build_sample_bronze(persons=40, quarantined=2, lost=1)
    out = run_suite(get_suite("row_accounting"))
    assert out["severity"] == "error"
    failed = [e for e in out["expectations"] if not e["success"]]
    assert failed[0]["rule"] == "row_accounting.rows_accounted"
    assert failed[0]["unexpected_count"] == 1


def test_change_against_previous_snapshot_warns(onegrid_env, monkeypatch):
    import duckdb

    build_sample_warehouse(config.warehouse_path())
    assert run_suite(get_suite("change_grid_residents"))["note"]  # nothing to compare yet
    publish_snapshot()
    assert run_suite(get_suite("change_grid_residents"))["passed"]
    con = duckdb.connect(str(config.warehouse_path()))
    con.execute("UPDATE marts.mart_grid_profile SET residents = residents * 3 "
                "WHERE grid_code = (SELECT min(grid_code) FROM marts.mart_grid_profile)")
    con.close()
    monkeypatch.setenv("ONEGRID_CHANGE_MIN_BASE", "1")
    out = run_suite(get_suite("change_grid_residents"))
    assert not out["passed"] and out["severity"] == "warning" and not out["blocking"]
    assert out["expectations"][0]["unexpected_count"] == 1


def test_missing_column_is_reported_not_crashing(onegrid_env):
    import duckdb

    build_sample_warehouse(config.warehouse_path())
    con = duckdb.connect(str(config.warehouse_path()))
    con.execute("ALTER TABLE marts.dim_house DROP COLUMN residents")
    con.close()
    out = run_suite(get_suite("mart_dim_house"))
    assert out["error"] and "residents" in out["error"] and out["severity"] == "error"


# --- Dagster ----------------------------------------------------------------------------
def _dagster_defs():
    from pipelines.quality.testing import sample_dagster_defs

    return sample_dagster_defs()


def test_dagster_blocking_check_stops_publish(onegrid_env, monkeypatch):
    import dagster as dg

    defs = _dagster_defs()
    job = defs.resolve_job_def("build_and_publish_test")
    instance = dg.DagsterInstance.ephemeral()
    ok = job.execute_in_process(instance=instance, raise_on_error=False)
    assert ok.success
    first = current_snapshot_id()
    assert first
    evals = [e.event_specific_data for e in ok.all_events
             if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert len(evals) == len(load_suites())
    # write-audit-publish: the tables were staged while the checks ran, then published
    published = next(e.event_specific_data.materialization for e in ok.all_events
                     if e.event_type_value == "ASSET_MATERIALIZATION"
                     and e.asset_key.to_user_string() == "publish/snapshot")
    assert published.metadata["tables_written"].value == "beside the quality checks"
    assert not list(config.marts_dir().glob(".staging-*"))

    monkeypatch.setenv("STUB_BROKEN", "1")
    bad = job.execute_in_process(instance=instance, raise_on_error=False)
    assert not bad.success
    assert current_snapshot_id() == first  # the previous snapshot stays current
    mats = [e.asset_key.to_user_string() for e in bad.all_events
            if e.event_type_value == "ASSET_MATERIALIZATION"]
    assert "publish/snapshot" not in mats
    # the tables staged beside the failed checks are removed, not left for a later publish
    assert not list(config.marts_dir().glob(".staging-*"))
    failed = [e.event_specific_data for e in bad.all_events
              if e.event_type_value == "ASSET_CHECK_EVALUATION"
              and not e.event_specific_data.passed]
    assert [f.check_name for f in failed if f.severity == dg.AssetCheckSeverity.ERROR] == [
        "mart_dim_person"]
    results = json.loads((config.reports_dir() / "quality_results.json").read_text())
    assert results["run_id"] == bad.run_id
    assert any(c["check"] == "mart_dim_person" and c["severity"] == "error"
               for c in results["checks"])
    assert "issues/mart_dim_person.id_number_unique.html" in (
        config.reports_dir() / "suite-mart_dim_person.html").read_text()


def test_one_check_runs_alone(onegrid_env):
    """The suites are the specs of one multi-asset check step that subsets: selecting one check
    runs that suite only."""
    import dagster as dg

    from pipelines.defs import quality as quality_defs

    defs = _dagster_defs()
    spec = next(s for s in quality_defs.SPECS if s.name == "row_accounting")
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_check_selection={spec.key}, asset_selection=set())
    out = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert out.success
    assert [e.event_specific_data.check_name for e in out.all_events
            if e.event_type_value == "ASSET_CHECK_EVALUATION"] == ["row_accounting"]


def test_change_against_previous_delivery_warns(onegrid_env):
    from pipelines.quality.testing import write_ledger

    write_ledger("household", "20261101", rows=100)
    write_ledger("household", "20261108", rows=104)
    assert run_suite(get_suite("change_delivery_rows"))["passed"]
    write_ledger("household", "20261115", rows=50)
    out = run_suite(get_suite("change_delivery_rows"))
    assert out["severity"] == "warning" and not out["blocking"]
    assert out["expectations"][0]["unexpected_count"] == 1


def test_open_tier_identifiers_blocks_a_leak(onegrid_env):
    import duckdb

    from pipelines.quality.testing import synthetic_id

    build_sample_warehouse(config.warehouse_path())
    assert run_suite(get_suite("open_tier_identifiers"))["passed"]
    con = duckdb.connect(str(config.warehouse_path()))
    con.execute("UPDATE marts.dim_house SET address_std = address_std || ' 证' || ? "
                "WHERE house_key = (SELECT min(house_key) FROM marts.dim_house)",
                [synthetic_id(3)])
    con.execute("UPDATE marts.dim_grid SET grid_name = grid_name || ' 电话13912345678' "
                "WHERE grid_code = (SELECT min(grid_code) FROM marts.dim_grid)")
    con.close()
    out = run_suite(get_suite("open_tier_identifiers"))
    assert out["blocking"] and out["severity"] == "error"
    failed = {e["rule"]: e["unexpected_count"] for e in out["expectations"] if not e["success"]}
    assert failed == {"open_tier_identifiers.no_identity_numbers": 1,
                      "open_tier_identifiers.no_mobile_numbers": 1}
    leaks = _leaks(json.dumps(out, ensure_ascii=False)) + json.dumps(out).count("13912345678")
    assert leaks == 0


def test_open_tier_identifiers_counts_rows_whichever_way_a_column_is_scanned(onegrid_env,
                                                                           monkeypatch):
    """Columns whose values repeat are tested once per distinct value and weighted by their
    rows; the counts are the same as testing every row."""
    import duckdb

    from pipelines.quality import engine

    build_sample_warehouse(config.warehouse_path())
    con = duckdb.connect(str(config.warehouse_path()))
    houses = con.execute("SELECT count(*) FROM marts.dim_house").fetchone()[0]
    # one leaking value in every row of a low-cardinality column, one in a single row
    con.execute("UPDATE marts.dim_house SET use = '住宅 联系13912345678'")
    con.execute("UPDATE marts.dim_grid SET grid_type = grid_type || ' ' || ? "
                "WHERE grid_code = (SELECT min(grid_code) FROM marts.dim_grid)",
                [synthetic_id(5)])
    con.close()
    frames = []
    for ratio in (-1.0, 1.0, engine.OPEN_TIER_DISTINCT_RATIO):  # every row, distinct, mixed
        monkeypatch.setattr(engine, "OPEN_TIER_DISTINCT_RATIO", ratio)
        con = engine.connect_warehouse()
        df, _ = engine.frame_open_tier_identifiers(con)
        con.close()
        frames.append(df.set_index(["table_name", "column_name"]))
    assert houses > 1
    for df in frames:
        assert df.loc[("dim_house", "use"), "mobile_values"] == houses
        assert df.loc[("dim_grid", "grid_type"), "id_number_values"] == 1
        assert int(df["id_number_values"].sum()) == 1
        assert int(df["mobile_values"].sum()) == houses
        assert df.equals(frames[0])


def test_prefetched_batches_give_the_same_outcomes(onegrid_env, monkeypatch):
    """Warehouse batches computed ahead in the background thread are the batches the checks
    would compute themselves: each is computed once, and the outcomes are the same."""
    import threading

    from pipelines.quality import engine

    build_sample_warehouse(config.warehouse_path())
    suites = [s for s in load_suites() if engine._prefetchable(s)]
    assert len(suites) >= 8

    def strip(outcome):
        return {k: v for k, v in outcome.items() if k != "seconds"}

    inline = [strip(run_suite(s)) for s in suites]

    computed: list[tuple[str, str]] = []
    real = engine._warehouse_frame

    def counted(suite, params, con):
        computed.append((suite.name, threading.current_thread().name))
        return real(suite, params, con)

    monkeypatch.setattr(engine, "_warehouse_frame", counted)
    out = run_checks("prefetch-test", suites=suites, write_reports=False)
    names = [name for name, _ in computed]
    assert sorted(names) == sorted(s.name for s in suites)  # each batch once
    assert any(thread == "gx-batches" for _, thread in computed)
    assert {o["check"]: strip(o) for o in out["checks"]} == {o["check"]: o for o in inline}
