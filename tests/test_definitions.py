"""The code location loads, and it holds every asset, check, job, schedule and sensor the
project promises (Dagster Labs' convention: one test that loads every definition)."""

from __future__ import annotations

import subprocess
import sys
import time

import dagster as dg

from pipelines.config import SOURCES

PUBLISHED = [
    "dim_grid", "xref_source_record", "dim_household", "dim_house", "fct_incident",
    "mart_grid_profile", "mart_city_summary", "quality_issues",
]


def _defs():
    from pipelines.definitions import defs

    return defs


def test_every_definition_loads_and_resolves():
    defs = _defs()
    dg.Definitions.validate_loadable(defs)
    repo = defs.get_repository_def()
    keys = {k.to_user_string() for k in defs.resolve_all_asset_keys()}
    checks = list(repo.asset_graph.asset_check_keys)
    jobs = [j.name for j in repo.get_all_jobs()]
    schedules = [s.name for s in repo.schedule_defs]
    sensors = [s.name for s in repo.sensor_defs]
    print(f"{len(keys)} assets, {len(checks)} checks, jobs={sorted(jobs)}, "
          f"schedules={schedules}, sensors={sensors}")

    for source in SOURCES:
        assert f"bronze/{source}" in keys, f"no ingestion asset for {source}"
        assert f"ingest_{source}" in jobs
    for table in PUBLISHED:
        assert f"marts/{table}" in keys, f"no mart asset {table}"
    assert "marts_restricted/dim_person" in keys
    assert any(k.startswith("publish/") for k in keys), "no publish asset"
    assert "build_and_publish" in jobs
    assert schedules, "no schedule"
    assert sensors, "no sensor"
    # dbt tests and quality suites surface as asset checks on the marts.
    mart_checks = [c for c in checks if c.asset_key.path[0] in ("marts", "marts_restricted")]
    assert len(mart_checks) >= len(PUBLISHED)


def test_definitions_load_fast_in_a_fresh_process():
    """Loading the code location is what the UI, sensors and every run pay: keep it cheap."""
    code = "import time; t=time.perf_counter(); import pipelines.definitions; print(time.perf_counter()-t)"
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    print(f"definition import {float(out.stdout.strip()):.2f} s, process {wall:.2f} s")
    assert isinstance(dg.Definitions, type)
