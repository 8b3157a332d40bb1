"""An incremental model whose code, or the code of anything upstream of it, changed is rebuilt in
full (pipelines/lib/incremental.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from pipelines.lib import incremental

ROOT = Path(__file__).resolve().parent.parent


def _manifest() -> dict:
    def macro(name, sql, deps=()):
        return {f"macro.p.{name}": {"macro_sql": sql, "depends_on": {"macros": list(deps)}}}

    macros = {}
    macros |= macro("parts", "{% macro parts(x) %}{{ adapter.dispatch('parts')(x) }}{% endmacro %}")
    macros |= macro("duckdb__parts", "{% macro duckdb__parts(x) %}{{ p.helper(x) }}{% endmacro %}",
                    ["macro.p.helper"])
    macros |= macro("default__parts", "{% macro default__parts(x) %}x{% endmacro %}")
    macros |= macro("helper", "{% macro helper(x) %}upper(x){% endmacro %}")
    macros |= macro("unrelated", "{% macro unrelated() %}1{% endmacro %}")
    node = {"resource_type": "model", "raw_code": "select {{ p.parts('a') }}",
            "config": {"materialized": "incremental", "pre-hook": [], "post-hook": []},
            "depends_on": {"macros": ["macro.p.parts"], "nodes": ["model.p.up"]}}
    table = {"resource_type": "model", "raw_code": "select 1",
             "config": {"materialized": "table"}, "depends_on": {"macros": []}}
    # upstream of inc: a view reading a seed
    up = {"resource_type": "model", "raw_code": "select * from {{ ref('s') }}",
          "config": {"materialized": "view"},
          "depends_on": {"macros": [], "nodes": ["seed.p.s"]}}
    seed = {"resource_type": "seed", "raw_code": "", "checksum": {"checksum": "c1"},
            "config": {}, "depends_on": {"macros": [], "nodes": []}}
    return {"metadata": {"adapter_type": "duckdb"}, "macros": macros,
            "nodes": {"model.p.inc": node, "model.p.tab": table, "model.p.up": up,
                      "seed.p.s": seed}}


def test_fingerprint_follows_the_model_and_every_macro_it_reaches():
    base = _manifest()
    fp = incremental.code_fingerprints(base)
    assert list(fp) == ["model.p.inc"]  # only incremental models

    def changed(edit) -> bool:
        m = copy.deepcopy(base)
        edit(m)
        return incremental.code_fingerprints(m)["model.p.inc"] != fp["model.p.inc"]

    assert changed(lambda m: m["nodes"]["model.p.inc"].update(raw_code="select 2"))
    # a macro reached only through adapter.dispatch, and one that macro calls
    assert changed(lambda m: m["macros"]["macro.p.duckdb__parts"].update(macro_sql="y"))
    assert changed(lambda m: m["macros"]["macro.p.helper"].update(macro_sql="lower(x)"))
    assert changed(lambda m: m["nodes"]["model.p.inc"]["config"].update(
        {"post-hook": ["delete from t"]}))
    assert not changed(lambda m: m["macros"]["macro.p.unrelated"].update(macro_sql="2"))
    assert not changed(lambda m: m["nodes"]["model.p.tab"].update(raw_code="select 3"))
    # the code of what it reads, however far upstream
    assert changed(lambda m: m["nodes"]["model.p.up"].update(raw_code="select 4"))
    assert changed(lambda m: m["nodes"]["seed.p.s"]["checksum"].update(checksum="c2"))


def test_changed_and_save(tmp_path):
    m = _manifest()
    wh_dir, wh = tmp_path / "warehouse", tmp_path / "warehouse" / "onegrid.duckdb"
    assert incremental.changed(m, wh) == []  # no warehouse: a full build anyway
    wh_dir.mkdir()
    wh.write_bytes(b"")
    # a warehouse whose code is unknown: rebuild its incremental models
    assert incremental.changed(m, wh) == ["model.p.inc"]
    incremental.save(m, wh, only=set())  # nothing built: nothing recorded
    assert incremental.changed(m, wh) == ["model.p.inc"]
    incremental.save(m, wh, only={"model.p.inc"})
    assert incremental.changed(m, wh) == []
    m["macros"]["macro.p.helper"]["macro_sql"] = "lower(x)"
    assert incremental.changed(m, wh) == ["model.p.inc"]


def test_project_incremental_models_reach_their_dispatched_macros(monkeypatch, tmp_path):
    from pipelines.orchestrate import ensure_dbt_manifest

    monkeypatch.setenv("ONEGRID_DATA_DIR", str(tmp_path))
    ensure_dbt_manifest()
    manifest = json.loads((ROOT / "dbt_project" / "target" / "manifest.json").read_text())
    fps = incremental.code_fingerprints(manifest)
    assert "model.onegrid.int_addresses_standardised" in fps
    assert "model.onegrid.int_person_record_versions" in fps
    node = manifest["nodes"]["model.onegrid.int_addresses_standardised"]
    reached = incremental._macro_closure(manifest, node["depends_on"]["macros"], "duckdb")
    assert "macro.onegrid.duckdb__address_parts" in reached
