"""The generic test onegrid.unique_in_build (dbt_project/tests/generic/onegrid_tests.sql).

A scratch dbt project (named onegrid, with the project's macros and generic tests) holds one
append-only model whose rows carry their build's stamp. The test checks every value when the
build wrote the whole table or when it runs in a `dbt test` of its own, and only the values the
build wrote (each against the whole table) when the build wrote part of it; a written value that
repeats a value written before fails it either way.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from test_dbt_build import DBT_DIR

MODEL = """
{{ config(materialized='incremental', incremental_strategy='append') }}
select k, {{ onegrid.build_stamp() }} as _built_at
from (values {{ var('rows') }}) v(k)
"""
SCHEMA = """
version: 2
models:
  - name: m
    columns:
      - name: k
        data_tests: [onegrid.unique_in_build]
"""


def _project(root: Path) -> Path:
    proj = root / "proj"
    (proj / "models").mkdir(parents=True)
    shutil.copytree(DBT_DIR / "macros", proj / "macros")
    shutil.copytree(DBT_DIR / "tests" / "generic", proj / "tests" / "generic")
    (proj / "dbt_project.yml").write_text(
        "name: onegrid\nversion: '0.1.0'\nconfig-version: 2\nprofile: scratch\n"
        "macro-paths: [macros]\ntest-paths: [tests]\nmodel-paths: [models]\n", encoding="utf-8")
    (proj / "profiles.yml").write_text(
        "scratch:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: '{(root / 'scratch.duckdb').as_posix()}'\n      threads: 1\n",
        encoding="utf-8")
    (proj / "models" / "m.sql").write_text(MODEL, encoding="utf-8")
    (proj / "models" / "m.yml").write_text(SCHEMA, encoding="utf-8")
    return proj


def _dbt(proj: Path, args: list[str], rows: str | None = None) -> tuple[bool, str]:
    """(passed, the compiled SQL of the unique_in_build test)."""
    cli = [str(Path(sys.executable).parent / "dbt"), *args, "--project-dir", str(proj),
           "--profiles-dir", str(proj)]
    if rows is not None:
        cli += ["--vars", json.dumps({"rows": rows})]
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    proc = subprocess.run(cli, cwd=proj, env=env, capture_output=True, text=True, check=False)
    compiled = list((proj / "target" / "compiled").rglob("onegrid_unique_in_build_m_k.sql"))
    assert compiled, proc.stdout[-2000:]
    failed = proc.returncode != 0
    if failed:
        assert "FAIL 1" in proc.stdout, proc.stdout[-2000:]  # the test failed, not dbt
    return not failed, compiled[0].read_text(encoding="utf-8")


def test_unique_in_build_checks_what_the_build_wrote(tmp_path):
    proj = _project(tmp_path)
    scoped = " in (\n"

    # the first build writes the whole table: every value is checked
    ok, sql = _dbt(proj, ["build"], "('a'), ('b')")
    assert ok and scoped not in sql
    # an incremental build writes one new value: only it is checked, against the whole table
    ok, sql = _dbt(proj, ["build"], "('c')")
    assert ok and scoped in sql
    # a written value repeating one written before fails
    ok, sql = _dbt(proj, ["build"], "('a')")
    assert not ok and scoped in sql
    # a dbt test of its own checks every value
    ok, sql = _dbt(proj, ["test"])
    assert not ok and scoped not in sql
    # two values written in one build that repeat each other fail
    shutil.rmtree(proj / "target")
    (tmp_path / "scratch.duckdb").unlink()
    ok, sql = _dbt(proj, ["build"], "('a'), ('b')")
    assert ok
    ok, sql = _dbt(proj, ["build"], "('d'), ('d')")
    assert not ok and scoped in sql
