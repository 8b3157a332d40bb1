"""Dagster definitions for the dbt warehouse (see docs/ARCHITECTURE.md).

- ``DBT_PROJECT``: the dbt project in ``dbt_project/``. Its manifest is prepared at build time
  (``dagster-dbt project prepare-and-package --file pipelines/defs/warehouse/__init__.py``, or
  ``dbt parse``); ``prepare_if_dev`` re-parses only under ``dagster dev``. Loading these
  definitions reads ``target/manifest.json`` and never runs dbt, except once on a checkout where
  no manifest exists yet.
- ``OnegridDbtTranslator`` only shapes asset specs: marts → ``["marts", name]``, restricted marts
  → ``["marts_restricted", name]``, everything else → ``["warehouse", name]``; sources keep the
  keys in their ``meta.dagster.asset_key`` (``["bronze", <source>]``, the ingestion assets);
  group names follow the layer. dbt tests become asset checks.
- ``warehouse_dbt_assets`` runs ``dbt build``. It is the only writer of the DuckDB warehouse, so
  it runs in the concurrency pool ``duckdb_warehouse`` (configure that pool with limit 1).
"""


import json
import os
import shutil
import sys
import threading
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg


def _import_dagster_dbt_cli_only():
    """Import dagster-dbt in its CLI-only mode (the one it uses with dbt Fusion), unless dbt-core
    is already imported in this process.

    With dbt-core importable, dagster-dbt imports dbt-core's adapter, graph and node modules at
    import time and selects the manifest's nodes with dbt's selector: about 2 s of the 4.3 s that
    loading these definitions took (bench/results/pipeline.md). onegrid needs none of it: dbt
    always runs as the dbt executable (``OnegridDbtCliResource``), and the asset specs select the
    whole manifest, which dagster-dbt then reads straight from ``manifest.json``. The asset graph
    is the same either way (tests/test_definitions.py compares them)."""
    if "dbt.version" in sys.modules or "dagster_dbt" in sys.modules:
        import dagster_dbt

        return dagster_dbt
    sys.modules["dbt.version"] = None  # type: ignore[assignment]  # import → ImportError
    try:
        import dagster_dbt
    finally:
        del sys.modules["dbt.version"]
    return dagster_dbt


_dagster_dbt = _import_dagster_dbt_cli_only()
DagsterDbtTranslator = _dagster_dbt.DagsterDbtTranslator
DagsterDbtTranslatorSettings = _dagster_dbt.DagsterDbtTranslatorSettings
DbtCliResource = _dagster_dbt.DbtCliResource
DbtProject = _dagster_dbt.DbtProject
dbt_assets = _dagster_dbt.dbt_assets

from pipelines import config
from pipelines.lib import ahead, incremental

WAREHOUSE_POOL = "duckdb_warehouse"
OPEN_SCHEMA, RESTRICTED_SCHEMA = "marts", "marts_restricted"


def _dbt_env() -> None:
    """Environment every dbt invocation needs (callers normally set ONEGRID_DATA_DIR)."""
    os.environ.setdefault("ONEGRID_DATA_DIR", str(config.data_dir()))
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("ONEGRID_DBT_PROJECT_DIR", str(config.DBT_PROJECT_DIR))


DBT_PROJECT = DbtProject(
    project_dir=config.DBT_PROJECT_DIR,
    profiles_dir=config.DBT_PROJECT_DIR,
    target="dev",
)
if os.environ.get("DAGSTER_IS_DEV_CLI"):
    _dbt_env()
    DBT_PROJECT.prepare_if_dev()
elif not DBT_PROJECT.manifest_path.exists():
    # A fresh checkout without a packaged manifest: parse once (a few seconds); later loads
    # read the file. Deployments run `dagster-dbt project prepare-and-package` instead.
    _dbt_env()
    DBT_PROJECT.preparer.prepare(DBT_PROJECT)


class OnegridDbtTranslator(DagsterDbtTranslator):
    """Shapes asset specs only: keys and groups per layer."""

    @staticmethod
    def _schema(props: Mapping[str, Any]) -> str | None:
        return (props.get("config") or {}).get("schema") or props.get("schema")

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props.get("resource_type") == "source":
            return super().get_asset_key(dbt_resource_props)
        name = dbt_resource_props["name"]
        schema = self._schema(dbt_resource_props)
        if schema in (OPEN_SCHEMA, RESTRICTED_SCHEMA):
            return dg.AssetKey([schema, name])
        return dg.AssetKey(["warehouse", name])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props.get("resource_type") == "seed":
            return "warehouse_seeds"
        schema = self._schema(dbt_resource_props)
        return {
            "staging": "warehouse_staging",
            "intermediate": "warehouse_intermediate",
            OPEN_SCHEMA: "marts",
            RESTRICTED_SCHEMA: "marts_restricted",
        }.get(schema or "", "warehouse")


TRANSLATOR = OnegridDbtTranslator(
    settings=DagsterDbtTranslatorSettings(
        enable_asset_checks=True,
        # several bronze tables of one source (party members + orgs) share the ingestion asset
        enable_duplicate_source_asset_keys=True,
    )
)


@dbt_assets(
    manifest=DBT_PROJECT.manifest_path,
    project=DBT_PROJECT,
    dagster_dbt_translator=TRANSLATOR,
    name="warehouse_dbt",
    pool=WAREHOUSE_POOL,
    op_tags={"onegrid/duckdb_writer": "warehouse"},
)
def warehouse_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """``dbt build`` of the selected models, seeds and tests (tests reported as asset checks)."""
    _dbt_env()
    manifest = _manifest()
    args = ["build"]
    stale = incremental.changed(manifest, config.warehouse_path())
    if stale:
        # stored rows of these incremental models were made by other code
        context.log.info("incremental models changed since the warehouse was built, building "
                         f"with --full-refresh: {', '.join(u.split('.')[-1] for u in stale)}")
        args.append("--full-refresh")
    args += _dbt_thread_args(full_refresh=bool(stale))
    invocation = dbt.cli(args, context=context, target_path=config.dbt_target_dir())
    # The quality checks that follow import GX (seconds): do it now, while dbt works in its
    # own process and this one mostly waits for its events.
    from pipelines.quality.engine import prewarm

    threading.Thread(target=prewarm, name="gx-prewarm", daemon=True).start()
    yield from invocation.stream()
    results = invocation.get_artifact("run_results.json")
    built = {r["unique_id"] for r in results.get("results", []) if r.get("status") == "success"}
    incremental.save(manifest, config.warehouse_path(), only=built)
    _start_docs_ahead(context, dbt)


# dbt runs independent models side by side (profile `threads`, default 2) in one DuckDB
# process with one memory budget. For a big city two entity-resolution models side by side
# spill and each runs several times slower: at 10M residents (10.9M bronze person rows) the
# whole `dbt build` took 344.0 s with 2 threads and 323.3 s with 1 (int_house_records_resolved
# 83.3 s beside int_person_records_prepared, 19.3 s alone). At qianxinan (1.3M rows) 2 threads
# are faster (36.7 and 37.9 s against 41.1 s). Between the two, one thread from this many rows
# to build: an incremental build of a big city (a delta) reads few rows and takes two threads.
SERIAL_BUILD_PERSON_ROWS = 5_000_000


def _dbt_thread_args(full_refresh: bool = False) -> list[str]:
    """``--threads 1`` when the build reads the person records of a big city (the first build,
    a full refresh, a new full delivery), unless ONEGRID_DBT_THREADS says otherwise (the
    profile reads that variable)."""
    if os.environ.get("ONEGRID_DBT_THREADS"):
        return []
    return ["--threads", "1"] if _person_rows_to_build(full_refresh) >= SERIAL_BUILD_PERSON_ROWS else []


def _person_rows_to_build(full_refresh: bool) -> int:
    """Bronze household person rows the build reads: those of the deliveries newer than the
    newest one in the warehouse (all of them on a full refresh or without a warehouse). A newer
    full delivery resets the person versions, and its rows count in full."""
    import pyarrow.parquet as pq

    built = None if full_refresh else _newest_built_person_delivery()
    rows = 0
    for folder in (config.bronze_dir() / "household" / "persons").glob("delivery_id=*"):
        if built is None or folder.name.split("=", 1)[1] > built:
            rows += sum(pq.ParquetFile(f).metadata.num_rows for f in folder.glob("*.parquet"))
    return rows


def _newest_built_person_delivery() -> str | None:
    """The newest household delivery in the warehouse's person versions, or None (no warehouse
    yet, or it cannot be read now: then the build counts every row)."""
    import duckdb

    path = config.warehouse_path()
    if not path.exists():
        return None
    try:
        con = duckdb.connect(str(path), read_only=True)
        try:
            return con.execute("select max(_delivery_id) from "
                               "intermediate.int_person_record_versions").fetchone()[0]
        finally:
            con.close()
    except duckdb.Error:
        return None


def _manifest() -> Mapping[str, Any]:
    """The parsed dbt manifest these definitions were built from (read once, at load)."""
    from dagster_dbt.asset_utils import get_manifest_and_translator_from_dbt_assets

    return get_manifest_and_translator_from_dbt_assets([warehouse_dbt_assets])[0]


MART_KEYS = [k for k in warehouse_dbt_assets.keys if k.path[0] in (OPEN_SCHEMA, RESTRICTED_SCHEMA)]


@dg.asset(
    key=["docs", "dbt"],
    deps=MART_KEYS,
    group_name="publish",
    kinds={"dbt", "html"},
    pool=WAREHOUSE_POOL,
    description="Static dbt documentation of the published marts (one self-contained HTML "
    "page: every table and column described, English with the Chinese term), written to "
    "$ONEGRID_DATA_DIR/docs/index.html.",
)
def dbt_docs(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> dg.MaterializeResult:
    _dbt_env()
    started = ahead.take(context.run.run_id, DOCS_AHEAD)
    # started by the build step of this run (see _start_docs_ahead), else generated here
    out, regenerated = started.result() if started is not None else _write_docs(dbt)
    if regenerated:
        context.log.info(f"dbt docs written to {out}"
                         + (" (generated beside the quality checks)" if started is not None else ""))
    else:
        # the page depends only on the project's documentation and the marts' columns
        context.log.info(f"dbt docs unchanged (same project and mart columns): {out}")
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(out)),
                                          "bytes": out.stat().st_size, "regenerated": regenerated})


def _write_docs(dbt: DbtCliResource, background: bool = False) -> tuple[Path, bool]:
    """``dbt docs generate`` into ``docs/index.html`` unless the page's fingerprint still holds;
    returns the page and whether it was generated. In the ``background`` the dbt process runs
    at a lower CPU priority (nice 10), so that it takes the cores the quality checks leave idle
    rather than the checks' own."""
    out = config.data_dir() / "docs" / "index.html"
    stamp = out.with_name("index.fingerprint")
    fingerprint = _docs_fingerprint()
    if out.exists() and stamp.exists() and stamp.read_text(encoding="utf-8") == fingerprint:
        return out, False
    target = config.dbt_target_dir()
    invocation = dbt.cli(["docs", "generate", "--static", "--select", "path:models/marts"],
                         target_path=target, raise_on_error=True)
    if background and hasattr(os, "setpriority"):
        # right after the start, before DuckDB makes its threads (which inherit the value)
        try:
            os.setpriority(os.PRIO_PROCESS, invocation.process.pid, 10)
        except OSError:
            pass
    invocation.wait()
    page = target / "static_index.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".html.tmp")
    shutil.copyfile(page, tmp)
    os.replace(tmp, out)
    stamp.write_text(fingerprint, encoding="utf-8")
    return out, True


# The docs page of a run is started by the run's build step right after `dbt build` and awaited
# by its docs step (pipelines.lib.ahead). `dbt docs generate` opens the warehouse read-only
# (plugins/onegrid_duckdb.py), so it runs in its own process beside the quality checks, which
# come first in the in-process executor's order and read the warehouse read-only too; until
# then it ran after them (qianxinan: 4.0 s on the job's critical path).
DOCS_AHEAD = "dbt-docs"


def _start_docs_ahead(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> None:
    """Start this run's docs when this process also runs its docs step: the in-process executor
    (``onegrid run``, the tests). Under the multiprocess executor every step has a process of
    its own, and the docs step generates the page itself."""
    if ahead.planned(context, dbt_docs.op.name):
        ahead.start(context.run.run_id, DOCS_AHEAD, lambda: _write_docs(dbt, background=True),
                    thread_name="dbt-docs")


def _docs_fingerprint() -> str:
    """What the static docs page shows: the parsed project (without parse-time stamps), the
    dbt version, and the names and types of the marts' columns in the warehouse."""
    import hashlib
    from importlib.metadata import version as package_version

    import duckdb

    manifest = {k: v for k, v in _manifest().items() if k != "metadata"}

    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k != "created_at"}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj

    h = hashlib.sha256()
    h.update(json.dumps(strip(manifest), sort_keys=True, default=str).encode())
    h.update(package_version("dbt-core").encode())
    h.update(package_version("dbt-duckdb").encode())
    con = duckdb.connect(str(config.warehouse_path()), read_only=True)
    try:
        cols = con.execute(
            "select schema_name, table_name, column_name, data_type from duckdb_columns() "
            f"where schema_name in ('{OPEN_SCHEMA}', '{RESTRICTED_SCHEMA}') "
            "order by 1, 2, column_index").fetchall()
    finally:
        con.close()
    h.update(json.dumps(cols).encode())
    return h.hexdigest()


class OnegridDbtCliResource(DbtCliResource):
    """``DbtCliResource`` without two start-up costs this project does not need (about 5 s
    before every run's first dbt command on this machine):

    - the dbt version is read from the installed dbt-core package, not by running
      ``dbt --version`` (the executable is this environment's dbt, see ``config.dbt_executable``);
    - no in-process dbt adapter is created: it serves only ``fetch_row_counts`` and
      ``fetch_column_metadata``, which onegrid does not use.

    Both override private members of dagster-dbt, pinned in uv.lock; tests/test_definitions.py
    and the warehouse tests run dbt through this resource."""

    @cached_property
    def _cli_version(self):
        from importlib.metadata import version as package_version

        from packaging import version

        return version.parse(package_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):
        return None


defs = dg.Definitions(
    assets=[warehouse_dbt_assets, dbt_docs],
    resources={"dbt": OnegridDbtCliResource(project_dir=DBT_PROJECT, profiles_dir=config.DBT_PROJECT_DIR,
                                     dbt_executable=config.dbt_executable())},
)
