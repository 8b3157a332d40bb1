"""The code location loads, and it holds every asset, check, job, schedule and sensor the
project promises (Dagster Labs' convention: one test that loads every definition)."""

from __future__ import annotations

import json
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


_GRAPH = """
import json, sys
if sys.argv[1] == "with-dbt-core":
    import dbt.version  # dbt-core already loaded: dagster-dbt takes its dbt-core path
import pipelines.definitions as d
g = d.defs.resolve_asset_graph()
out = {"dbt_core_loaded": "dbt.adapters.base" in sys.modules, "assets": {}}
for k in g.get_all_asset_keys():
    n = g.get(k)
    out["assets"][k.to_user_string()] = [
        n.group_name, sorted(p.to_user_string() for p in n.parent_keys),
        sorted(str(c) for c in n.check_keys), sorted(n.kinds), n.description,
        sorted(n.metadata), sorted(n.tags.items())]
print(json.dumps(out))
"""


def _graph(mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _GRAPH, mode], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_definitions_load_without_dbt_core_and_give_the_same_graph():
    """Loading the code location is what the UI, sensors and every run pay. dagster-dbt is
    imported in its CLI-only mode, so loading never imports dbt-core (about 2 s); the asset
    graph (keys, deps, checks, groups, kinds, descriptions, metadata) equals the one dagster-dbt
    builds with dbt-core."""
    started = time.perf_counter()
    lean = _graph("plain")
    print(f"definitions + asset graph in a fresh process: {time.perf_counter() - started:.2f} s")
    full = _graph("with-dbt-core")
    assert lean["dbt_core_loaded"] is False
    assert full["dbt_core_loaded"] is True
    assert len(lean["assets"]) > 50
    assert lean["assets"] == full["assets"]


def test_dbt_is_found_without_the_environment_on_path(monkeypatch):
    """`.venv/bin/python -m pipelines.cli run` without an activated environment: the dbt
    commands (the manifest re-parse in `onegrid run`, the warehouse and docs assets) use this
    environment's dbt instead of failing with FileNotFoundError."""
    from pipelines import config

    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    exe = config.dbt_executable()
    assert exe != "dbt"
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "Core" in out.stdout, out.stdout + out.stderr
